"""Widget values kept while the widget is not drawn (another provider chosen, another page open).

Streamlit drops a widget's state when a run does not draw it, so a server URL or a custom problem
typed by the user would be lost on switching provider or page. Every run that draws a widget
records its value outside the widget's own key; the next run that draws it again puts it back
first. (Streamlit's own `persist_state` kept nothing in a real browser here, 1.67.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

KEPT = "_kept_widget_values"
T = TypeVar("T")


def kept(widget: Callable[..., T], *args: Any, key: str, **kwargs: Any) -> T:
    """`widget(*args, key=key, **kwargs)`, with its value put back if a run dropped it."""
    values = st.session_state.setdefault(KEPT, {})
    if key not in st.session_state and key in values:
        st.session_state[key] = values[key]
    result = widget(*args, key=key, **kwargs)
    values[key] = st.session_state[key]
    return result
