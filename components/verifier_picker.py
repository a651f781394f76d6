"""The sidebar's verifier: one verifier, a combination of them, and a served PRM's server."""

from __future__ import annotations

import streamlit as st

from components.glossary import term
from components.remember import URL_BINDING, kept
from components.text import plain_markdown
from core.providers.prices import parse_price
from core.verifiers import SERVED, VERIFIERS, verifier_parts
from core.verifiers.combined import HOWS
from core.verifiers.served import KEY_VARIABLE, PrmServer

COMBINE = "combine"
SINGLE = [name for name in VERIFIERS if not set(name) & set(HOWS.values())]
HOW_LABELS = {
    "tiebreak": "the first decides, the next only break its ties",
    "mean": "the mean of their scores",
}
PRM_MODELS = {
    "served_prm": "Qwen/Qwen2.5-Math-PRM-7B",
    "shepherd_prm": "peiyi9979/math-shepherd-mistral-7b-prm",
}


def _label(name: str) -> str:
    return "Combine verifiers..." if name == COMBINE else VERIFIERS[name].split(":")[0]


def render_verifier_picker() -> tuple[str, PrmServer | None] | None:
    """The verifier's name ("program>arithmetic" for a combination) and the PRM server it
    needs; None, with the reason shown, when it can't score yet."""
    picked = st.selectbox(
        "Verifier (the PRM)",
        [*VERIFIERS, COMBINE],
        format_func=_label,
        key="set_verifier",
        bind=URL_BINDING,
        help=term("PRM"),
    )
    name = picked
    if picked == COMBINE:
        parts = kept(st.multiselect, "Verifiers, in order", SINGLE, key="set_combine_parts")
        how = kept(
            st.radio,
            "Combined by",
            list(HOWS),
            format_func=HOW_LABELS.__getitem__,
            key="set_combine_how",
        )
        if len(parts) < 2:
            st.warning("Pick at least two verifiers to combine.")
            return None
        name = HOWS[how].join(parts)
        st.caption(plain_markdown(f"{name}: " + HOW_LABELS[how]))
    else:
        st.caption(plain_markdown(VERIFIERS[name]))
    served = [part for part in verifier_parts(name) if part in SERVED]
    if not served:
        return name, None
    url = kept(
        st.text_input,
        "PRM server URL",
        placeholder="http://localhost:8000",
        key="set_prm_url",
    )
    model = kept(st.text_input, "PRM model", placeholder=PRM_MODELS[served[0]], key="set_prm_model")
    price = kept(
        st.text_input,
        "PRM price: input, output $ per million tokens (optional)",
        key="set_prm_price",
    )
    st.caption(plain_markdown(f"A key, if the server needs one, comes from {KEY_VARIABLE}."))
    try:
        prm = PrmServer.from_env(url, model, parse_price(price) if price.strip() else None)
    except ValueError as exc:
        st.warning(plain_markdown(f"The served PRM can't score yet: {exc}"))
        return None
    return name, prm
