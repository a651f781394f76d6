"""Widget values kept while the widget is not drawn (another provider chosen, another page open),
and across a reload of the page.

Streamlit drops a widget's state when a run does not draw it, so a server URL or a custom problem
typed by the user would be lost on switching provider or page. Every run that draws a widget
records its value outside the widget's own key; the next run that draws it again puts it back
first. (Streamlit's own `persist_state` kept nothing in a real browser here, 1.67.)

A reload starts a new session, with nothing of the old one. So the widgets also mirror their
values into the page's address (`URL_BINDING`: Streamlit's `bind="query-params"`, the widget's
key as the parameter's name, removed while the value is the widget's default): the address lives
in the browser tab alone, survives a reload and is shared with no other user. A password field
(an API key) is never bound; Streamlit refuses to bind one anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

KEPT = "_kept_widget_values"
URL_BINDING = "query-params"
T = TypeVar("T")


def kept(widget: Callable[..., T], *args: Any, key: str, **kwargs: Any) -> T:
    """`widget(*args, key=key, **kwargs)`, with its value put back if a run dropped it, and
    kept in the page's address unless it is a password."""
    values = st.session_state.setdefault(KEPT, {})
    if key not in st.session_state and key in values:
        st.session_state[key] = values[key]
    if kwargs.get("type") != "password":
        kwargs.setdefault("bind", URL_BINDING)
    result = widget(*args, key=key, **kwargs)
    values[key] = st.session_state[key]
    return result
