"""The model backends the app offers; DELIBERATE_PROVIDER picks the default (tests set `fake`).

Describing a backend (name, model, price) never loads a model: `make()` does, and the app calls
it inside a background worker.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from deliberate.providers.base import Price, Provider
from deliberate.providers.local_model import DEFAULT_MODEL, MODEL_ENV, MODELS, installed_models

PROVIDER_ENV = "DELIBERATE_PROVIDER"


@dataclass(frozen=True)
class ProviderChoice:
    key: str
    label: str
    model: str
    price: Price | None
    make: Callable[[], Provider]
    native_thinking: bool = False  # can run the native_thinking strategy (hidden reasoning)


def _local(name: str) -> ProviderChoice:
    from deliberate.providers.local import local_price, local_provider

    spec = MODELS.get(name)
    model = spec.label if spec else Path(name).stem
    return ProviderChoice(
        key=f"local:{name}",
        label=f"Embedded model, offline ({model})",
        model=model,
        price=local_price(),
        make=lambda: local_provider(name),
    )


def _fake() -> ProviderChoice:
    from deliberate.providers.fake import FakeProvider

    return ProviderChoice(
        key="fake",
        label="Scripted fake model (instant; for tests of the plumbing)",
        model="fake-model",
        price=None,
        make=FakeProvider,
    )


def provider_choices() -> list[ProviderChoice]:
    """The default first: the embedded model (DELIBERATE_MODEL or the 0.5B), or `fake` if asked."""
    preferred = os.environ.get(MODEL_ENV) or DEFAULT_MODEL
    names = [preferred, *(m for m in installed_models() if m != preferred)]
    choices = [_local(name) for name in names]
    wanted = os.environ.get(PROVIDER_ENV) or "local"
    if wanted not in ("local", "fake"):
        raise ValueError(f"{PROVIDER_ENV} must be 'local' or 'fake' (got {wanted!r})")
    if wanted == "fake":
        choices.insert(0, _fake())
    return choices
