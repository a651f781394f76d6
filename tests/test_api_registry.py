"""Which providers are usable and why not, where keys come from, and where prices come from."""

import sys
import types

import pytest

from core.providers.base import Price
from core.providers.keys import find_key, redact
from core.providers.openai_api import OpenAICompatibleProvider, OpenAIProvider
from core.providers.prices import lookup_price, parse_price
from core.providers.registry import REGISTRY, make_provider, provider_class, provider_options

KEY_VARS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "DELIBERATE_COMPAT_API_KEY")


@pytest.fixture
def no_keys(monkeypatch):
    for name in KEY_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delitem(sys.modules, "streamlit", raising=False)


def by_kind(options):
    return {option.kind: option for option in options}


def test_without_keys_the_api_providers_say_what_is_missing(no_keys):
    options = by_kind(provider_options())
    assert list(options) == list(REGISTRY)
    assert list(options)[:4] == ["local", "openai", "anthropic", "openai_compatible"]
    assert not options["openai"].usable
    assert "OPENAI_API_KEY" in options["openai"].missing
    assert "ANTHROPIC_API_KEY" in options["anthropic"].missing
    assert not options["openai_compatible"].usable
    assert "base URL" in options["openai_compatible"].missing


def test_keys_from_the_field_the_environment_and_secrets(no_keys, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-1234567890")
    secrets = types.SimpleNamespace(
        load_if_toml_exists=lambda: True, get={"ANTHROPIC_API_KEY": "sk-ant-secret-123456"}.get
    )
    monkeypatch.setitem(sys.modules, "streamlit", types.SimpleNamespace(secrets=secrets))
    options = by_kind(
        provider_options({"anthropic": ""}, {"openai_compatible": "http://localhost:8000/v1"})
    )
    assert options["openai"].usable and options["openai"].key_source.endswith("OPENAI_API_KEY")
    assert options["anthropic"].usable and "Streamlit secrets" in options["anthropic"].key_source
    assert options["openai_compatible"].usable and options["openai_compatible"].key_source == ""
    typed = find_key("OPENAI_API_KEY", "  sk-typed-1234567  ")
    assert typed.value == "sk-typed-1234567" and typed.source == "the key field"
    assert "sk-typed" not in repr(typed)


def test_every_api_kind_names_itself_and_its_key():
    for kind in list(REGISTRY)[1:]:
        made = provider_class(kind)
        assert made.name == kind, f"{made.__name__}.name must be {kind!r}: runs record it"
        assert made.key_variable and made.service


def test_make_provider_builds_each_kind(no_keys):
    openai = make_provider("openai", model="gpt-4o-mini", api_key="sk-test-123456789")
    assert isinstance(openai, OpenAIProvider) and openai.price is not None
    compatible = make_provider(
        "openai_compatible", model="qwen", base_url="http://127.0.0.1:9/v1", price=Price(1, 2)
    )
    assert isinstance(compatible, OpenAICompatibleProvider)
    assert compatible.price == Price(1, 2) and compatible.price_source == "your price"
    assert not compatible.native_thinking
    with pytest.raises(ValueError, match="unknown provider"):
        make_provider("bedrock")


def test_prices_come_from_the_database_or_the_user():
    assert lookup_price("gpt-4o-mini", provider_id="openai").price == Price(0.15, 0.6, 0.075)
    for model, provider in [
        ("o3", "openai"),
        ("o4-mini", "openai"),
        ("claude-sonnet-4-6", "anthropic"),
    ]:
        assert lookup_price(model, provider_id=provider).price is not None
    unknown = lookup_price("my-finetune", provider_id="openai")
    assert unknown.price is None and unknown.source.startswith("unknown")
    # A self-hosted model is not priced as if a hosted provider served it.
    assert lookup_price("Llama-3.1-8B-Instruct", api_url="http://localhost:8000/v1").price is None
    assert lookup_price("deepseek-chat", api_url="https://api.deepseek.com/v1").price is not None
    assert parse_price("$0.15, 0.60") == Price(0.15, 0.6)
    assert parse_price("1,2,0.5") == Price(1.0, 2.0, 0.5)
    with pytest.raises(ValueError, match="dollars per million"):
        parse_price("cheap")


def test_redact_hides_keys_and_key_shaped_echoes():
    text = "bad key sk-live-abcdef123456 (you sent sk-li****3456); also hunter2-secret"
    cleaned = redact(text, "hunter2-secret")
    assert "abcdef" not in cleaned and "sk-li" not in cleaned and "hunter2" not in cleaned
