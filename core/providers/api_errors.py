"""What a server's error reply says, read in any of the usual shapes: its message, its code, the
request field it refuses, and whether it is about the context window or a prefill."""

from __future__ import annotations

import json
import re

SHOWN_CHARS = 300  # of a server's error message
CONTEXT_FULL = re.compile(
    r"context (length|window)|maximum context|prompt is too long|too many tokens|"
    r"exceeds? (the )?(model'?s? )?(context|maximum)",
    re.IGNORECASE,
)
REFUSED_FIELD = re.compile(
    r"unsupported|not supported|does not support|unrecognized|unknown (field|parameter)|"
    r"extra inputs are not permitted|not allowed|only the default",
    re.IGNORECASE,
)
NO_PREFILL = re.compile(r"prefill|final assistant", re.IGNORECASE)


def error_body(exc: Exception) -> str:
    """An error reply's body; a streamed reply that was never read has none to give."""
    try:
        return exc.response.text
    except Exception:
        return getattr(exc, "message", "") or ""


def error_details(body: str) -> tuple[str, str, str]:
    """(message, code, param) from an error body in any of the usual shapes, or its raw text."""
    try:
        data = json.loads(body)
    except ValueError:
        return " ".join(body.split())[:SHOWN_CHARS], "", ""
    error = data.get("error", data) if isinstance(data, dict) else data
    if not isinstance(error, dict):
        return str(error)[:SHOWN_CHARS], "", ""
    message = error.get("message") or error.get("detail") or ""
    return str(message)[:SHOWN_CHARS], str(error.get("code") or ""), str(error.get("param") or "")
