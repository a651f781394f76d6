"""A newcomer's API provider is one class plus one registry line: the sidebar asks for its key,
prices it, runs it and counts its cost, with no other code touched."""

import sys
import types

import pytest

from core.ledger import Ledger
from core.providers.openai_api import OpenAIProvider
from core.providers.registry import REGISTRY, ProviderKind, provider_options
from tests.fake_api_server import FakeApiServer, Reply, chat_reply, script
from tests.test_pages import finish, shown_costs, start_app

REPLY = chat_reply("So the answer is \\boxed{12}.", 30, 8, "ex-1")


@pytest.fixture
def example_kind(monkeypatch):
    """`example_provider.py` as a newcomer would write it, registered by one line."""
    with FakeApiServer(script(Reply(200, REPLY))) as server:
        yield from _registered(monkeypatch, f"{server.url}/v1")


def _registered(monkeypatch, url: str):

    class ExampleProvider(OpenAIProvider):
        name = "example"
        service = "Example AI"
        key_variable = "EXAMPLE_API_KEY"
        price_id = None  # not in genai-prices: the user types a price

        def __init__(self, model: str, **settings) -> None:
            super().__init__(model, base_url=url, **settings)

    module = types.ModuleType("example_provider")
    module.ExampleProvider = ExampleProvider
    monkeypatch.setitem(sys.modules, "example_provider", module)
    monkeypatch.delenv("EXAMPLE_API_KEY", raising=False)
    line = ProviderKind("Example AI", "example_provider:ExampleProvider", "ex-1")
    monkeypatch.setitem(REGISTRY, "example", line)
    yield


def test_the_new_kind_says_which_key_it_needs(example_kind, monkeypatch):
    option = next(o for o in provider_options() if o.kind == "example")
    assert not option.usable and "EXAMPLE_API_KEY" in option.missing
    monkeypatch.setenv("EXAMPLE_API_KEY", "sk-example-123456")
    option = next(o for o in provider_options() if o.kind == "example")
    assert option.usable and option.key_source == "the environment variable EXAMPLE_API_KEY"


def test_the_new_kind_runs_from_the_sidebar(example_kind, fake_env):
    at = start_app()
    at.selectbox(key="set_provider").set_value("example").run()
    assert r"set EXAMPLE\_API\_KEY" in at.sidebar.warning[0].value
    assert at.text_input(key="set_example_model").value == "ex-1"
    at.text_input(key="set_example_key").set_value("sk-example-123456")
    at.text_input(key="set_example_price").set_value("1, 2").run()
    at.selectbox(key="live_strategy").set_value("direct").run()
    next(b for b in at.button if b.label == "Run").click().run()
    events = finish(at, "live_worker").events()
    assert events[0].provider == "example" and events[-1].reason == "complete"
    assert any(t.value.startswith("Answer: 12") for t in at.text)
    (costs,) = shown_costs(at)
    assert costs["Dollars"] == "$0.000046"  # 30 x $1/M + 8 x $2/M
    assert Ledger.from_events(events).total.input_tokens == 30
