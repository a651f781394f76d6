"""API keys: found in the key field, the environment or Streamlit secrets; kept in memory only.

A key is never written anywhere by Deliberate: it goes from here into the SDK client and nowhere
else. Every message that could carry text from a server passes through `redact` first.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field

from core.providers.base import ProviderError

# Shapes of provider keys (sk-..., sk-ant-..., sk-proj-..., gsk_...), including the partly masked
# echoes some servers put in their error messages ("Incorrect API key provided: sk-ab***yz").
KEY_SHAPE = re.compile(r"\b(?:sk|gsk|xai)[-_][A-Za-z0-9_\-*.]{6,}")
REDACTED = "[redacted]"


@dataclass(frozen=True)
class ApiKey:
    """A key and where it came from; its repr never shows the key itself."""

    value: str | None = field(repr=False)
    source: str  # a plain phrase for the page: "the key field", "OPENAI_API_KEY" ...

    def __bool__(self) -> bool:
        return bool(self.value)


def find_key(variable: str, typed: str | None = None) -> ApiKey:
    """The key named `variable` (OPENAI_API_KEY...): the key field first, then the environment,
    then Streamlit secrets."""
    if typed and typed.strip():
        return ApiKey(typed.strip(), "the key field")
    if value := os.environ.get(variable, "").strip():
        return ApiKey(value, f"the environment variable {variable}")
    if value := _streamlit_secret(variable):
        return ApiKey(value, f"Streamlit secrets ({variable})")
    return ApiKey(None, "")


def require_key(variable: str, typed: str | None, service: str) -> ApiKey:
    """`find_key`, or a ProviderError saying where a key can come from."""
    key = find_key(variable, typed)
    if not key:
        raise ProviderError(
            f"no {service} API key: set {variable}, add it to Streamlit secrets, "
            f"or type one in the key field"
        )
    return key


def _streamlit_secret(name: str) -> str | None:
    # Only inside the app: importing Streamlit elsewhere (tests, the CLI) costs a second for nothing.
    streamlit = sys.modules.get("streamlit")
    if streamlit is None or not streamlit.secrets.load_if_toml_exists():
        return None
    value = streamlit.secrets.get(name)
    return value.strip() if isinstance(value, str) and value.strip() else None


def redact(text: str, *secrets: str | None) -> str:
    """`text` with every given secret, and anything shaped like an API key, replaced."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return KEY_SHAPE.sub(REDACTED, text)
