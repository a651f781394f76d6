import os

import pytest

from core.problems.base import Problem
from core.providers.fake import FakeProvider

# The tests run on the 0.5B, the small built-in model: the strategies and the engine do not depend
# on the model, and it is twice as fast as the default 1.5B. Pages and the browser test inherit it.
os.environ.setdefault("DELIBERATE_MODEL", "qwen2.5-coder-0.5b")


@pytest.fixture(autouse=True)
def data_dir(monkeypatch, tmp_path):
    """Every test's run store (the CLI's batches are stored too) lives in its own directory."""
    monkeypatch.setenv("DELIBERATE_DATA_DIR", str(tmp_path / "data"))
    # The app imports no shipped batch unless a test names one (tests/test_shipped.py checks them).
    monkeypatch.setenv("DELIBERATE_SHIPPED_BATCHES", "")
    return tmp_path / "data"


@pytest.fixture(scope="session")
def local():
    """The real embedded 0.5B model, loaded once for the whole test session."""
    from core.providers.local import local_provider

    return local_provider()


@pytest.fixture
def fake_env(monkeypatch, tmp_path):
    """The app on the scripted fake provider, with its run store in a fresh directory."""
    monkeypatch.setenv("DELIBERATE_PROVIDER", "fake")
    monkeypatch.setenv("DELIBERATE_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.fixture
def fake() -> FakeProvider:
    return FakeProvider()


@pytest.fixture
def arithmetic():
    from core.verifiers.arithmetic import ArithmeticChecker

    return ArithmeticChecker()


@pytest.fixture
def pens() -> Problem:
    return Problem(
        id="t-pens",
        question="A shop sells pens at $3 each. Tom buys 7 pens and pays with a $50 bill. "
        "How much change does he get?",
        answer="29",
        difficulty="easy",
        source="test",
    )
