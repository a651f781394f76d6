"""A run's events as a JSONL file: downloaded from a page, uploaded into Replay; and the run as
OpenTelemetry spans, downloaded as an OTLP JSON file or sent to a collector.

The JSONL file is the event stream itself, one event a line (`core.events.to_json_lines`), the
same as `python -m deliberate run --jsonl` prints and `recordings/` holds.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from functools import partial

import streamlit as st

from components.remember import kept
from components.text import plain_markdown
from core.events import Event, RunStarted, to_json_lines
from deliberate.otlp import OTLP_JSON_MIME, otlp_json, send_spans
from deliberate.recordings import parse_run
from deliberate.runstore import RunStore
from deliberate.tracing import run_spans

JSONL_MIME = "application/jsonl"
SEND_SECONDS = 5.0  # how long a send keeps retrying a refused connection or a busy collector


def run_file_name(started: RunStarted | None) -> str:
    """`deliberate-<strategy>-<run id>` (no extension) for the run `started` begins."""
    return f"deliberate-{started.strategy}-{started.run_id}" if started else "deliberate-run"


def render_events_download(events: Sequence[Event], key: str) -> None:
    """A button that downloads the run's events as JSONL (written on click)."""
    started = next((e for e in events[:1] if isinstance(e, RunStarted)), None)
    st.download_button(
        "Events as JSONL",
        data=partial(to_json_lines, list(events)),
        file_name=f"{run_file_name(started)}.jsonl",
        mime=JSONL_MIME,
        key=key,
        on_click="ignore",
        help="The run's event stream, one event a line: upload it into Replay here or "
        "elsewhere, or read it with other tools (`python -m deliberate replay` folds it back).",
    )


def _trace_json(events: Sequence[Event], ended_at: float | None) -> str:
    return otlp_json(run_spans(events, ended_at))


def render_trace_export(events: Sequence[Event], key: str, ended_at: float | None = None) -> None:
    """The run as OpenTelemetry spans with OpenInference attributes (deliberate/tracing.py): an
    OTLP JSON download, and a collector URL with a Send button. `ended_at`: the run's end in
    Unix seconds (None: now). A failed send is said in a message; the page goes on."""
    started = next((e for e in events[:1] if isinstance(e, RunStarted)), None)
    if started is None:
        return
    with st.expander("OpenTelemetry trace (Phoenix, Langfuse, any collector)"):
        st.download_button(
            "Trace as OTLP JSON",
            data=partial(_trace_json, list(events), ended_at),
            file_name=f"{run_file_name(started)}.otlp.json",
            mime=OTLP_JSON_MIME,
            key=f"{key}_otlp_json",
            on_click="ignore",
            help="One span per model call (model, tokens, cost, generate or verify) under its "
            "node's span, nodes under their parents, all under the run's span; OpenInference "
            "attribute names, the OTLP JSON encoding.",
        )
        url = kept(
            st.text_input,
            "Collector URL (OTLP/HTTP)",
            placeholder="http://localhost:6006",
            key=f"{key}_collector",
            help="Phoenix: http://localhost:6006; any OpenTelemetry collector: its OTLP/HTTP "
            "port, e.g. http://localhost:4318 (/v1/traces is added). A key the collector needs "
            "goes in OTEL_EXPORTER_OTLP_HEADERS where the app runs, never here.",
        )
        if st.button("Send to the collector", key=f"{key}_send", disabled=not url.strip()):
            try:
                spans = run_spans(events, ended_at)
                sent_to = send_spans(spans, url, SEND_SECONDS)
            except ValueError as exc:
                st.error(plain_markdown(f"Not sent: {exc}"))
            else:
                st.success(plain_markdown(f"Sent {len(spans)} spans to {sent_to}."))


def store_upload(store: RunStore | None, data: bytes) -> str:
    """Check a JSONL file (`parse_run`) and store it as an upload; returns its run id.
    Raises ValueError (the bad line named) and stores nothing when the file or store fails."""
    events = parse_run(data)
    if store is None:
        raise ValueError("runs can't be stored here: the data directory failed")
    try:
        return store.save_upload(events)
    except sqlite3.Error as exc:
        raise ValueError(f"the run store failed ({exc})") from exc


def render_run_upload(store: RunStore | None, key: str) -> str | None:
    """A JSONL uploader; returns the run id a new, good file was stored under (once), else None.
    A bad file is refused with its bad line named, and nothing of it is stored."""
    upload = st.file_uploader(
        "A run's events as JSONL (downloaded from this app, or `--jsonl` output)",
        type=["jsonl", "json", "txt"],
        key=key,
    )
    if upload is None:
        return None
    slot = f"{key}_result"
    result = st.session_state.get(slot)
    new = result is None or result[0] != upload.file_id
    if new:  # each uploaded file is checked and stored once, not on every rerun
        try:
            run_id = store_upload(store, upload.getvalue())
            said = f"Stored {upload.name} as an uploaded run; it is selected below."
        except ValueError as exc:
            run_id, said = None, f"{upload.name} was not stored: {exc}"
        result = (upload.file_id, run_id, said)
        st.session_state[slot] = result
    _, run_id, said = result
    (st.success if run_id else st.error)(plain_markdown(said))
    return run_id if new else None
