"""No cold start inside a run: the embedded model loads when it is chosen, in the background.

The first run on a fresh server used to spend its first seconds loading the model file and
prefilling the system prompt. Choosing a local model now starts both at once in a daemon thread
(once per model per process): the model is loaded, and one token is generated after the solve
prompt, so the batched engine keeps that shared prefix in its KV cache and a run's first token
needs only the problem's own tokens. A run started meanwhile waits for the same load.
"""

from __future__ import annotations

import logging
import threading

import streamlit as st

from core.problems.base import Problem
from core.providers.base import GenerationRequest, Message
from core.providers.choice import ProviderChoice
from strategies.steps import SOLVE_PROMPT

log = logging.getLogger(__name__)


@st.cache_resource(show_spinner=False)
def _warm_up(key: str, _choice: ProviderChoice) -> threading.Thread:
    def load() -> None:
        try:
            provider = _choice.make()
            system = SOLVE_PROMPT.format(answer_format=Problem.answer_format)
            # Any question: what is kept is the system prompt, the prefix every run shares.
            request = GenerationRequest((Message("system", system), Message("user", "1 + 1")), 1, 1)
            provider.generate(request)
        except Exception:  # a run will report the same failure in words; this is a head start
            log.exception("warming up %s failed", key)

    thread = threading.Thread(target=load, name=f"warm-up-{key}", daemon=True)
    thread.start()
    return thread


def render_warm_up(choice: ProviderChoice) -> None:
    """Start loading a local model once; say so while it loads."""
    if not choice.key.startswith("local:"):
        return
    thread = _warm_up(choice.key, choice)

    def note() -> None:  # polled while loading, so that the note changes when the model is ready
        if thread.is_alive():
            st.caption("Loading the model in the background; a run started now waits for it.")
        else:
            st.caption("Model loaded.")

    # Drawn alike loaded or not: a note that went away would move everything below it, and
    # Streamlit would redraw the Advanced expander there closed, under the user's cursor.
    st.fragment(run_every=1.0 if thread.is_alive() else None)(note)()
