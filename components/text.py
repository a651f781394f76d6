"""Untrusted text inside elements that render Markdown (st.error, st.info, labels), and
panels described as lines of text, each drawn as one element."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal

import streamlit as st

# How a line is drawn: "text" (verbatim, for model text), "caption" / "markdown" / an alert
# (Markdown: anything untrusted in them goes through plain_markdown).
Kind = Literal["text", "caption", "markdown", "info", "success", "warning", "error"]
Line = tuple[Kind, str]

# Every ASCII punctuation mark may be backslash-escaped in CommonMark; escaping them all keeps
# links, images, emphasis, HTML, LaTeX ($) and Streamlit's :icon: shortcodes inert.
_MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


def plain_markdown(text: str) -> str:
    """`text` escaped so that Markdown renders it literally."""
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", text)


def draw_line(where: Any, line: Line) -> None:
    """Draw `line` as one element into `where` (streamlit, a container or a placeholder)."""
    kind, text = line
    getattr(where, kind)(text)


def render_lines(lines: Sequence[Line]) -> None:
    for line in lines:
        draw_line(st, line)
