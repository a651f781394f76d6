"""A run's spans (deliberate/tracing.py) out over OTLP: an OTLP JSON file, or OTLP/HTTP to a
collector (Phoenix, Langfuse, any OpenTelemetry collector).

The file is one `ExportTraceServiceRequest` in the OTLP/JSON encoding
(opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding): protobuf's JSON mapping, except that
trace and span ids are hex strings, not base64, and enums are integers.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import requests
from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult

TRACES_PATH = "/v1/traces"
OTLP_JSON_MIME = "application/json"
ID_FIELDS = ("traceId", "spanId", "parentSpanId")


def otlp_request(spans: Sequence[ReadableSpan]) -> ExportTraceServiceRequest:
    """The spans as the protobuf message OTLP sends (the SDK exporters' own encoder)."""
    return encode_spans(spans)


def _ids(data: Any, convert: Any) -> None:
    """Apply `convert` to every trace / span id in an OTLP JSON tree, in place."""
    if isinstance(data, dict):
        for name, value in data.items():
            if name in ID_FIELDS and isinstance(value, str):
                data[name] = convert(value)
            else:
                _ids(value, convert)
    elif isinstance(data, list):
        for item in data:
            _ids(item, convert)


def otlp_json(spans: Sequence[ReadableSpan]) -> str:
    """The spans as an OTLP JSON file (one ExportTraceServiceRequest)."""
    data = json_format.MessageToDict(otlp_request(spans), use_integers_for_enums=True)
    _ids(data, lambda value: base64.b64decode(value).hex())
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def parse_otlp_json(text: str) -> ExportTraceServiceRequest:
    """An OTLP JSON file back into its message; raises ValueError if it is not one."""
    try:
        data = json.loads(text)
        _ids(data, lambda value: base64.b64encode(bytes.fromhex(value)).decode())
        return json_format.ParseDict(data, ExportTraceServiceRequest())
    except (ValueError, json_format.ParseError) as exc:
        raise ValueError(f"not an OTLP JSON trace file ({exc})") from exc


def traces_url(endpoint: str) -> str:
    """The collector's OTLP/HTTP traces URL: `/v1/traces` added to a base URL without it
    ("http://localhost:6006" → "http://localhost:6006/v1/traces"); raises ValueError if the
    text is not an http(s) URL."""
    url = endpoint.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url or 'nothing'} is not an http(s) URL (e.g. http://localhost:6006)")
    if parts.query or parts.fragment:
        raise ValueError(f"{url} has a query or fragment; give the collector's plain URL")
    return url if parts.path.endswith(TRACES_PATH) else url.rstrip("/") + TRACES_PATH


class _WatchedSession(requests.Session):
    """The exporter's HTTP session, keeping what the collector last answered (the exporter
    itself only says success or failure)."""

    def __init__(self) -> None:
        super().__init__()
        self.said = "no request was made"

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        try:
            response = super().request(method, url, *args, **kwargs)
        except requests.ConnectionError as exc:
            errno = re.search(r"\[Errno -?\d+\] ([^'\"]+)", str(exc))
            self.said = errno[1] if errno else f"no connection ({exc})"
            raise
        except requests.RequestException as exc:
            self.said = str(exc)
            raise
        self.said = f"HTTP {response.status_code} {response.reason}"
        return response


def send_spans(spans: Sequence[ReadableSpan], endpoint: str, timeout: float = 10.0) -> str:
    """POST the spans as OTLP/HTTP protobuf through the SDK's exporter; returns the URL used.

    Headers (a collector's key) come from OTEL_EXPORTER_OTLP_TRACES_HEADERS or
    OTEL_EXPORTER_OTLP_HEADERS, never from the URL. The exporter retries a refused connection,
    429 and 502-504 for up to `timeout` seconds. Raises ValueError saying why a send failed (a
    bad URL, "Connection refused", "HTTP 404 Not Found")."""
    url = traces_url(endpoint)
    session = _WatchedSession()
    exporter = OTLPSpanExporter(endpoint=url, timeout=timeout, session=session)
    try:
        result = exporter.export(spans)
    finally:
        exporter.shutdown()
    if result is not SpanExportResult.SUCCESS:
        raise ValueError(f"the collector at {url} did not take the trace: {session.said}")
    return url
