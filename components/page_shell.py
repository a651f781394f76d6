"""Every page runs inside app.py's set-up, even where Streamlit would run a page alone.

Streamlit 1.67 treats an app with a `pages/` folder as an old (v1) multipage app until a run
calls `st.navigation`: on a fresh server, the first visit to a page's own address (`/compare`)
runs that page's script alone, and AppTest runs the page alone on every rerun (it resets the
flag each run). A page alone has no session set-up and no sidebar, so each page starts with
`through_app()`, which hands the run to app.py; app.py then runs the page inside its set-up.
"""

from __future__ import annotations

import runpy
import threading
from collections.abc import Callable
from pathlib import Path

import streamlit as st

APP = Path(__file__).resolve().parent.parent / "app.py"
_run = threading.local()  # Streamlit runs each script run in one thread


def run_inside_app(run_page: Callable[[], None]) -> None:
    """app.py's call to the chosen page (`navigation.run`), marked as running inside app.py."""
    _run.inside_app = True
    try:
        run_page()
    finally:
        _run.inside_app = False


def through_app() -> None:
    """The first line of every page: if Streamlit started the page alone, run app.py instead."""
    if getattr(_run, "inside_app", False):
        return
    runpy.run_path(str(APP), run_name="__main__")
    st.stop()
