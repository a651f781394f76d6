"""Untrusted text inside elements that render Markdown (st.error, st.info, labels)."""

from __future__ import annotations

import re

# Every ASCII punctuation mark may be backslash-escaped in CommonMark; escaping them all keeps
# links, images, emphasis, HTML, LaTeX ($) and Streamlit's :icon: shortcodes inert.
_MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


def plain_markdown(text: str) -> str:
    """`text` escaped so that Markdown renders it literally."""
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", text)
