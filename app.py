"""Deliberate: watch a language model think. Start it with `streamlit run app.py`."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import streamlit as st

from components.page_shell import run_inside_app
from components.presenter import init_view_state, presenting, render_view_toggles
from components.settings import init_settings_state, render_settings
from components.text import plain_markdown
from core.providers.local import THREADS_ENV, page_threads
from deliberate.runstore import RunStore, data_dir
from deliberate.shipped import import_all, shipped_dir

os.environ.setdefault(THREADS_ENV, str(page_threads()))  # the page needs a core of its own
init_view_state()  # before the page config: presenter view starts with the sidebar collapsed
st.set_page_config(
    page_title="Deliberate",
    page_icon="🌳",
    layout="wide",
    initial_sidebar_state="collapsed" if presenting() else "auto",
)


@st.cache_resource(show_spinner=False)
def shared_store(directory: str) -> RunStore:
    """One store per data directory for the whole process (it opens a connection per call)."""
    return RunStore(Path(directory))


@st.cache_resource(show_spinner="Importing the batch recorded for the app...")
def import_recorded(directory: str, shipped: str) -> str | None:
    """Import the batches shipped with the app (in `shipped`) into the store, once per process
    (`deliberate.shipped`: each once per store); returns what went wrong, if anything."""
    try:
        import_all(shared_store(directory), Path(shipped))
    except (OSError, ValueError, sqlite3.Error) as exc:
        return f"The batch recorded for the app could not be imported: {exc}"
    return None


if "store" not in st.session_state:  # once per browser session
    init_settings_state()
    try:
        st.session_state.store = shared_store(str(data_dir().resolve()))
    except (OSError, sqlite3.Error) as exc:
        st.session_state.store = None
        st.error(plain_markdown(f"Runs can't be saved: the data directory failed ({exc})."))
    recorded = shipped_dir()
    if st.session_state.store is not None and recorded is not None:
        problem = import_recorded(str(data_dir().resolve()), str(recorded))
        if problem is not None:
            st.warning(plain_markdown(problem))

navigation = st.navigation(
    [
        st.Page(
            "pages/live_run.py", title="Live run", icon=":material/account_tree:", default=True
        ),
        st.Page("pages/compare.py", title="System 1 vs System 2", icon=":material/compare:"),
        st.Page(
            "pages/cost_per_solved.py", title="Cost per problem solved", icon=":material/paid:"
        ),
        st.Page("pages/replay.py", title="Replay", icon=":material/replay:"),
    ]
)
render_view_toggles()
st.session_state.settings = render_settings()
run_inside_app(navigation.run)
