"""The sidebar's provider and model: the embedded model by default, API providers when set up."""

from __future__ import annotations

import streamlit as st

from components.remember import URL_BINDING, kept
from components.text import plain_markdown
from core.providers.base import Price
from core.providers.choice import (
    ProviderChoice,
    api_choice,
    fake_choice,
    kind_label,
    local_choice,
    local_models,
    model_label,
    provider_kinds,
)
from core.providers.registry import REGISTRY, api_option, local_option, provider_class


def price_text(price: Price | None, source: str = "") -> str:
    if price is None:
        return f"price unknown ({source or 'no price'}): costs show as unknown, never $0"
    return (
        f"${price.input_per_million:g} per million input tokens, "
        f"${price.output_per_million:g} per million output tokens"
        + (f" ({source})" if source else "")
    )


def _api_fields(kind: str, prefix: str) -> ProviderChoice | None:
    """Model, key, URL and price fields for an API provider; None with the reason when unusable."""
    made = provider_class(kind)
    model = kept(
        st.text_input, "Model", value=REGISTRY[kind].default_model, key=f"{prefix}_{kind}_model"
    )
    base_url = ""
    if made.asks_url:
        base_url = kept(
            st.text_input,
            "Server base URL",
            placeholder="http://localhost:8000/v1",
            key=f"{prefix}_{kind}_url",
        )
    api_key = kept(
        st.text_input,
        "API key (kept in this session's memory only)",
        type="password",
        key=f"{prefix}_{kind}_key",
    )
    price = kept(
        st.text_input,
        "Price override: input, output $ per million tokens (optional)",
        key=f"{prefix}_{kind}_price",
    )
    reasoning = made.asks_reasoning and kept(
        st.checkbox,
        "The model thinks natively (a reasoning model)",
        key=f"{prefix}_{kind}_reasoning",
    )
    option = api_option(kind, api_key, base_url)
    if not option.usable:
        st.warning(plain_markdown(f"{option.label} {option.missing}."))
        return None
    if option.key_source:
        st.caption(plain_markdown(f"API key from {option.key_source}"))
    try:
        return api_choice(
            kind, model, api_key=api_key, base_url=base_url, price_text=price, reasoning=reasoning
        )
    except ValueError as exc:
        st.error(plain_markdown(str(exc)))
        return None


def render_provider_picker(prefix: str = "set") -> ProviderChoice | None:
    """Provider and model, with the model's name and price shown; None when not usable yet.

    `prefix` starts the widgets' keys: "set" is the sidebar's; another one picks a second model."""
    try:
        kinds = provider_kinds()
    except ValueError as exc:
        st.error(plain_markdown(str(exc)))
        return None
    kind = st.selectbox(
        "Provider", kinds, format_func=kind_label, key=f"{prefix}_provider", bind=URL_BINDING
    )
    if kind == "fake":
        try:
            choice = fake_choice()
        except ValueError as exc:  # a malformed DELIBERATE_FAKE_PACE
            st.error(plain_markdown(str(exc)))
            return None
    elif kind == "local":
        local = local_option()
        if not local.usable:
            st.warning(plain_markdown(f"{local.label} {local.missing}."))
            return None
        name = kept(
            st.selectbox,
            "Model",
            local_models(),
            format_func=model_label,
            key=f"{prefix}_local_model",
        )
        try:
            choice = local_choice(name)
        except ValueError as exc:  # a malformed DELIBERATE_LOCAL_PRICE
            st.error(plain_markdown(str(exc)))
            return None
    else:
        choice = _api_fields(kind, prefix)
        if choice is None:
            return None
    st.caption(
        plain_markdown(f"Model: {choice.model} · {price_text(choice.price, choice.price_source)}")
    )
    return choice
