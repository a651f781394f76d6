"""Presenter view and teaching mode: two switches in the sidebar, one of them bookmarkable.

`?present=1` in the address opens the app in presenter view: large type, the tree and its text
filling the screen, the sidebar collapsed. The toggle and the address agree: switching it off
drops the parameter, switching it on adds it, so the address in the bar can be bookmarked.
Keyboard control is Streamlit's own button `shortcut=` (ignored while typing in a text field).
"""

from __future__ import annotations

import streamlit as st

from components.glossary import term

PRESENT_PARAM = "present"
PRESENT_KEY = "present"
TEACHING_KEY = "teaching"
# Presenter view: everything on the main page larger, the page as wide as the screen.
PRESENTER_CSS = """<style>
.stMainBlockContainer { max-width: 100%; padding: 1.5rem 2rem 2rem 2rem; }
.stMain p, .stMain li, .stMain label, .stMain [data-testid="stText"] { font-size: 1.35rem; }
.stMain [data-testid="stMetricValue"] { font-size: 2.6rem; }
.stMain h1 { font-size: 2.2rem; padding-top: 0; }
.stMain button p { font-size: 1.25rem; }
</style>"""


def init_view_state() -> None:
    """Once per session: presenter view from the address, teaching mode off."""
    st.session_state.setdefault(PRESENT_KEY, st.query_params.get(PRESENT_PARAM) == "1")
    st.session_state.setdefault(TEACHING_KEY, False)


def presenting() -> bool:
    return bool(st.session_state.get(PRESENT_KEY, False))


def teaching() -> bool:
    return bool(st.session_state.get(TEACHING_KEY, False))


def _sync_address() -> None:
    if presenting():
        st.query_params[PRESENT_PARAM] = "1"
    elif PRESENT_PARAM in st.query_params:
        del st.query_params[PRESENT_PARAM]


def _leave() -> None:
    st.session_state[PRESENT_KEY] = False


def render_view_toggles() -> None:
    """The two switches (in the sidebar) and, in presenter view, its style and a way out."""
    with st.sidebar:
        st.toggle("Presenter view", key=PRESENT_KEY, help=term("presenter view"))
        st.toggle("Teaching mode", key=TEACHING_KEY, help=term("teaching mode"))
    _sync_address()
    if presenting():
        st.html(PRESENTER_CSS)


def render_leave_button() -> None:
    """In presenter view, a small button that leaves it (the sidebar may be out of sight)."""
    if presenting():
        st.button("Leave presenter view", on_click=_leave, type="tertiary", key="leave_present")
