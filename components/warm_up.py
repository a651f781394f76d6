"""No cold start inside a run: the embedded model loads when it is chosen, in the background.

The first run on a fresh server used to spend its first seconds loading the model file and
prefilling the system prompt. Choosing a local model now starts both at once in a daemon thread
(once per model per process): the model is loaded, and one token is generated after the solve
prompt, so the batched engine keeps that shared prefix in its KV cache and a run's first token
needs only the problem's own tokens. A run started meanwhile waits for the same load.

The pages read the chosen problem ahead too (`read_ahead`): once the model is loaded, the
problem's solve prompt is prefilled in the background while the user settles the strategy and
the budget, so Run's first token needs next to no prefill (on one thread the 0.5B reads about 60
prompt tokens a second). The run's usage counts those tokens as cached, as it does the system
prompt's.
"""

from __future__ import annotations

import logging
import threading

import streamlit as st

from core.problems.base import Problem
from core.providers.base import GenerationRequest, Message, Provider
from core.providers.choice import ProviderChoice
from strategies.steps import SOLVE_PROMPT, solve_messages

log = logging.getLogger(__name__)
# A longer problem is read when its run starts: a stale read-ahead of a long text typed and then
# changed would only hold up the next run.
READ_AHEAD_CHARS = 2_000


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
    if choice.kind != "local":
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


def read_problem(provider: Provider, problem: Problem) -> None:
    """Prefill `problem`'s solve prompt (one token generated), so that a run on it finds the
    whole prompt in the KV cache; errors are the run's to report."""
    provider.generate(GenerationRequest(solve_messages(problem), 1, 1))


@st.cache_resource(show_spinner=False, max_entries=8)
def _read_ahead(
    key: str, question: str, answer_format: str, _choice: ProviderChoice, _problem: Problem
) -> threading.Thread:
    """The read-ahead thread of one problem; `key`, `question` and `answer_format` key the cache."""
    loading = _warm_up(key, _choice)

    def read() -> None:
        loading.join()
        try:
            read_problem(_choice.make(), _problem)
        except Exception:  # a head start only: the run reads it again and says what failed
            log.exception("reading ahead %r on %s failed", question[:60], key)

    thread = threading.Thread(target=read, name=f"read-ahead-{key}", daemon=True)
    thread.start()
    return thread


def read_ahead(choice: ProviderChoice | None, problem: Problem | None) -> None:
    """On a local model, start prefilling `problem`'s solve prompt (once per problem)."""
    if choice is None or problem is None or choice.kind != "local":
        return
    if 0 < len(problem.question) <= READ_AHEAD_CHARS:
        _read_ahead(choice.key, problem.question, problem.answer_format, choice, problem)
