"""The model backends the app offers; DELIBERATE_PROVIDER picks the default (tests set `fake`).

Describing a backend (name, model, price) never loads a model or calls an API: `make()` does,
and the app calls it inside a background worker. API providers come from the provider registry;
a typed key stays in the session's memory and goes only into `make()`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.providers.base import Price, Provider
from core.providers.local_model import DEFAULT_MODEL, MODEL_ENV, MODELS, installed_models
from core.providers.prices import parse_price
from core.providers.registry import REGISTRY, make_provider, provider_class

PROVIDER_ENV = "DELIBERATE_PROVIDER"
# Tokens per second per sequence for the fake provider, with longer steps (benchmarks/live_page.py).
FAKE_PACE_ENV = "DELIBERATE_FAKE_PACE"


@dataclass(frozen=True)
class ProviderChoice:
    key: str
    label: str
    model: str
    price: Price | None
    make: Callable[[], Provider]
    native_thinking: bool = False  # can run the native_thinking strategy (hidden reasoning)
    price_source: str = ""  # where the price comes from, in words

    @property
    def kind(self) -> str:
        """The provider kind: "local", "fake" or a registry kind ("openai"...)."""
        return self.key.split(":", 1)[0]


def provider_kinds() -> list[str]:
    """The kinds offered, the default first: `fake` only when DELIBERATE_PROVIDER=fake."""
    wanted = os.environ.get(PROVIDER_ENV) or "local"
    if wanted not in ("fake", *REGISTRY):
        raise ValueError(
            f"{PROVIDER_ENV} must be 'fake' or one of {', '.join(REGISTRY)} (got {wanted!r})"
        )
    kinds = ["fake", *REGISTRY] if wanted == "fake" else list(REGISTRY)
    return [wanted, *(k for k in kinds if k != wanted)]


def kind_label(kind: str) -> str:
    return "Scripted fake model (tests of the plumbing)" if kind == "fake" else REGISTRY[kind].label


def local_models() -> list[str]:
    """Built-in or GGUF models for the embedded provider: DELIBERATE_MODEL (or the default) first."""
    installed = installed_models()
    # An install made before the default changed may hold only the 0.5B: offer what is there.
    fallback = DEFAULT_MODEL if DEFAULT_MODEL in installed or not installed else installed[0]
    preferred = os.environ.get(MODEL_ENV) or fallback
    return [preferred, *(m for m in installed if m != preferred)]


def model_label(name: str) -> str:
    spec = MODELS.get(name)
    return spec.label if spec else Path(name).stem


def local_choice(name: str) -> ProviderChoice:
    from core.providers.local import local_price

    model = model_label(name)
    return ProviderChoice(
        key=f"local:{name}",
        label=f"{REGISTRY['local'].label}: {model}",
        model=model,
        price=local_price(),
        make=lambda: make_provider("local", model=name),
        price_source="an equivalent hosted price (DELIBERATE_LOCAL_PRICE)",
    )


def fake_choice() -> ProviderChoice:
    """The scripted fake; with DELIBERATE_FAKE_PACE (tokens per second per sequence) it writes
    model-length steps at that pace. ValueError names a pace that is not a positive number."""
    from core.providers.fake import FakeProvider, reasoned_script

    pace = os.environ.get(FAKE_PACE_ENV, "").strip()
    if not pace:
        return ProviderChoice("fake", kind_label("fake"), "fake-model", None, FakeProvider)
    try:
        rate = float(pace)
    except ValueError:
        rate = 0.0
    if not rate > 0:
        raise ValueError(f"{FAKE_PACE_ENV} must be a positive number of tokens per second")
    return ProviderChoice(
        "fake",
        kind_label("fake"),
        "fake-model",
        None,
        lambda: FakeProvider(reasoned_script, tokens_per_second=rate),
    )


def api_choice(
    kind: str,
    model: str,
    *,
    api_key: str = "",
    base_url: str = "",
    price_text: str = "",
    reasoning: bool = False,
) -> ProviderChoice:
    """An API backend as typed in the sidebar; ValueError names what is wrong with the fields."""
    model = model.strip()
    if not model:
        raise ValueError("type the model's name")
    override = parse_price(price_text) if price_text.strip() else None
    made = provider_class(kind)
    base_url = base_url.strip() if made.asks_url else ""
    quote = made.quote(model, base_url, override)
    settings: dict[str, object] = {"model": model, "api_key": api_key.strip() or None}
    if override is not None:
        settings["price"] = override
    if made.asks_url:
        settings["base_url"] = base_url
    if made.asks_reasoning:
        settings["reasoning"] = reasoning
    return ProviderChoice(
        key=f"{kind}:{model}",
        label=f"{REGISTRY[kind].label}: {model}",
        model=model,
        price=quote.price,
        make=lambda: make_provider(kind, **settings),
        native_thinking=made.thinks(model, reasoning),
        price_source=quote.source,
    )
