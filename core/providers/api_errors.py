"""What an API server's error reply says: its message, code and param, read from any of the usual
shapes (OpenAI's and Anthropic's `{"error": {...}}`, FastAPI's `{"detail": ...}`, plain text), and
whether it refuses a request field or finds the prompt too long for the model's context.

Sources: the error object of OpenAI's API reference (`message`, `type`, `param`, `code`), which
OpenAI-compatible servers copy, and Anthropic's errors page (`{"type": "error", "error": {"type",
"message"}}`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

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


def refused_field(body: str, droppable: Sequence[str]) -> str | None:
    """The field of `droppable` that a 400 or 422 error body says the model does not take:
    named by its `param`, or quoted in its message ("prefill" when it refuses an assistant
    prefill). None when the body refuses something else."""
    message, code, param = error_details(body)
    if "prefill" in droppable and NO_PREFILL.search(message):
        return "prefill"
    if code in ("unsupported_parameter", "unsupported_value") or REFUSED_FIELD.search(message):
        quoted = (f for f in droppable if re.search(rf"['\"`]{f}(?:_options)?['\"`]", message))
        return param if param in droppable else next(quoted, None)
    return None


def context_full(message: str, code: str) -> bool:
    """Whether an error's message and code say the prompt does not fit the model's context."""
    return code == "context_length_exceeded" or CONTEXT_FULL.search(message) is not None
