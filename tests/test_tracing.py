"""A run as OpenTelemetry spans (deliberate/tracing.py), sent to a local OTLP/HTTP receiver and
written as an OTLP JSON file (deliberate/otlp.py); from the CLI and from the Replay page."""

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from openinference.semconv.trace import OpenInferenceSpanKindValues as Kind
from openinference.semconv.trace import SpanAttributes as Attr
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from components.text import plain_markdown
from core.budget import Budget
from core.events import (
    AnswerChosen,
    NodeAdded,
    NodeStarted,
    NodeText,
    RunFinished,
    RunStarted,
    StepScored,
    UsageRecorded,
)
from core.providers.fake import FakeProvider
from core.tree import ReasoningTree
from core.verifiers import make_verifier
from deliberate.cli import main
from deliberate.otlp import otlp_json, otlp_request, parse_otlp_json, send_spans, traces_url
from deliberate.recordings import write_recording
from deliberate.tracing import plan_spans, run_spans
from strategies import STRATEGIES
from tests.test_pages import start_app


class Receiver(ThreadingHTTPServer):
    """A tiny OTLP/HTTP collector: POST /v1/traces, protobuf in, each request decoded and kept;
    any other path answers with the status code it names (/404/v1/traces: 404)."""

    def __init__(self) -> None:
        self.requests: list[ExportTraceServiceRequest] = []
        self.content_types: list[str] = []
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"

    def spans(self) -> list[Span]:
        return [
            span
            for request in self.requests
            for resource in request.resource_spans
            for scope in resource.scope_spans
            for span in scope.spans
        ]


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path != "/v1/traces":
            self.send_response(int(self.path.split("/")[1]))
            self.end_headers()
            return
        self.server.requests.append(ExportTraceServiceRequest.FromString(body))
        self.server.content_types.append(self.headers["Content-Type"])
        reply = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver():
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def refused_url() -> str:
    """A local port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# A hand-made run with every number known: n1 under the root, n2 and n3 under n1.
RUN = [
    RunStarted("r1", "beam_search", "What is 6 * 7?", "42", "openai", "gpt-x", "model_judge"),
    NodeStarted("n1", "root"),
    NodeText("n1", "6 * 7", at=0.5),
    NodeAdded("n1", "root", "6 * 7 = 42", output_tokens=20),
    UsageRecorded("generate", "gpt-x", 100, 20, 1.5, "n1", 40, 7, 0.00123),
    StepScored("n1", 0.9, "model_judge"),
    UsageRecorded("verify", "judge-y", 50, 1, 0.25, None, 0, 0, 0.0001),
    NodeStarted("n2", "n1"),
    NodeStarted("n3", "n1"),
    NodeAdded("n2", "n1", "The answer is 42.", answer="42"),
    UsageRecorded("generate", "gpt-x", 120, 10, 2.0, "n2", 0, 3, 0.002),
    NodeAdded("n3", "n1", "The answer is 41.", answer="41"),
    UsageRecorded("generate", "gpt-x", 120, 12, 1.0, "n3", 0, 0, None),
    StepScored("n2", 0.95, "model_judge"),
    StepScored("n3", 0.1, "model_judge"),
    UsageRecorded("verify", "judge-y", 60, 1, 0.25, None, 0, 0, 0.0002),
    UsageRecorded("verify", "judge-y", 60, 1, 0.25, None, 0, 0, 0.0002),
    AnswerChosen("n2", "42", True, "score"),
    RunFinished("complete"),
]
ENDED_AT = 1_000.0


def attributes(span: Span) -> dict:
    values = {}
    for item in span.attributes:
        kind = item.value.WhichOneof("value")
        values[item.key] = getattr(item.value, kind)
    return values


def by_name(spans: list[Span]) -> dict[str, Span]:
    """Node spans by node id, the run span as "run", calls as "generate 1", "verify 2"..."""
    named, counts = {}, {}
    for span in spans:
        said = attributes(span)
        if span.name.endswith(" run"):
            named["run"] = span
        elif span.name.startswith("node "):
            named[said[Attr.GRAPH_NODE_ID]] = span
        else:
            counts[span.name] = counts.get(span.name, 0) + 1
            named[f"{span.name} {counts[span.name]}"] = span
    return named


def test_a_run_is_sent_as_one_span_per_call_under_its_node(receiver):
    spans = run_spans(RUN, ENDED_AT)
    assert send_spans(spans, receiver.url) == f"{receiver.url}/v1/traces"
    assert receiver.content_types == ["application/x-protobuf"]
    got = receiver.spans()
    # 1 run span + 3 node spans + 6 model calls (3 generate, 3 verify)
    assert len(got) == 1 + 3 + 6
    assert len({span.trace_id for span in got}) == 1
    named = by_name(got)
    parent = {name: span.parent_span_id for name, span in named.items()}
    assert parent["run"] == b""
    assert parent["n1"] == named["run"].span_id
    assert parent["n2"] == parent["n3"] == named["n1"].span_id
    for call, node in [("generate 1", "n1"), ("generate 2", "n2"), ("generate 3", "n3")]:
        assert parent[call] == named[node].span_id
    assert parent["verify 1"] == named["n1"].span_id  # it scored n1 alone
    # n2 and n3 were scored together; the events don't say which call scored which: under n1
    assert parent["verify 2"] == parent["verify 3"] == named["n1"].span_id
    assert json.loads(attributes(named["verify 2"])[Attr.METADATA])["scored_nodes"] == ["n2", "n3"]


def test_token_cost_and_kind_attributes_are_exact(receiver):
    send_spans(run_spans(RUN, ENDED_AT), receiver.url)
    named = by_name(receiver.spans())
    assert attributes(named["generate 1"]) == {
        Attr.OPENINFERENCE_SPAN_KIND: "LLM",
        Attr.LLM_MODEL_NAME: "gpt-x",
        Attr.LLM_TOKEN_COUNT_PROMPT: 100,
        Attr.LLM_TOKEN_COUNT_COMPLETION: 20,
        Attr.LLM_TOKEN_COUNT_TOTAL: 120,
        Attr.LLM_TOKEN_COUNT_PROMPT_DETAILS_CACHE_READ: 40,
        Attr.LLM_TOKEN_COUNT_COMPLETION_DETAILS_REASONING: 7,
        Attr.LLM_COST_TOTAL: 0.00123,
        Attr.METADATA: '{"role": "generate", "seconds": 1.5}',
    }
    assert attributes(named["generate 2"])[Attr.LLM_TOKEN_COUNT_COMPLETION_DETAILS_REASONING] == 3
    assert Attr.LLM_COST_TOTAL not in attributes(named["generate 3"])  # price unknown
    verify = attributes(named["verify 1"])
    assert (verify[Attr.LLM_MODEL_NAME], verify[Attr.LLM_COST_TOTAL]) == ("judge-y", 0.0001)
    assert json.loads(verify[Attr.METADATA]) == {
        "role": "verify",
        "seconds": 0.25,
        "scored_nodes": ["n1"],
    }
    run = attributes(named["run"])
    assert (run[Attr.OPENINFERENCE_SPAN_KIND], run[Attr.INPUT_VALUE]) == ("CHAIN", "What is 6 * 7?")
    assert (run[Attr.OUTPUT_VALUE], run[Attr.GRAPH_NODE_ID]) == ("42", "root")
    assert json.loads(run[Attr.METADATA])["run_id"] == "r1"
    node = attributes(named["n3"])
    assert (node[Attr.GRAPH_NODE_PARENT_ID], node[Attr.OUTPUT_VALUE]) == ("n1", "The answer is 41.")
    assert json.loads(node[Attr.METADATA])["score"] == 0.1


def test_span_times_follow_the_recorded_times(receiver):
    send_spans(run_spans(RUN, ENDED_AT), receiver.url)
    named = by_name(receiver.spans())
    start = 995_750_000_000  # the run lasted 4.25 s and ended at 1000 s
    seconds = {
        name: ((s.start_time_unix_nano - start) / 1e9, (s.end_time_unix_nano - start) / 1e9)
        for name, s in named.items()
    }
    assert seconds == {
        "run": (0.0, 4.25),
        "n1": (0.0, 4.25),  # n1 lasts until the last span under it ends
        "generate 1": (0.0, 1.5),
        "verify 1": (1.5, 1.75),
        "n2": (1.75, 3.75),  # n2 and n3 were written together from 1.75 s
        "generate 2": (1.75, 3.75),
        "n3": (1.75, 2.75),
        "generate 3": (1.75, 2.75),
        "verify 2": (3.75, 4.0),
        "verify 3": (4.0, 4.25),
    }


def test_a_batched_samples_span_ends_when_it_marked_its_end():
    """n2 and n3 were written together from 1.75 s; n3's sample ended at 2.25 s, n2's at 3.5 s
    (their seconds, equal shares of the call's, say 2.0 and 1.0)."""
    marked = [*RUN[:9], NodeText("n3", "", at=2.25, done=True)]
    marked += [NodeText("n2", "", at=3.5, done=True), *RUN[9:]]
    spans = plan_spans(marked)
    calls = {f"{s.metadata['role']} {s.parent}": s for s in spans.values() if s.kind == Kind.LLM}
    assert (calls["generate node:n3"].start, calls["generate node:n3"].end) == (1.75, 2.25)
    assert (calls["generate node:n2"].start, calls["generate node:n2"].end) == (1.75, 3.5)
    assert spans["run"].end == 4.0  # then the two verifier calls, one after the other


def test_a_strategys_run_has_a_span_per_node_and_per_call_following_the_tree(receiver, pens):
    provider = FakeProvider()
    verifier = make_verifier("model_judge", provider, None)
    events = list(STRATEGIES["beam_search"](pens, provider, verifier, Budget(n=4)))
    send_spans(run_spans(events), receiver.url)
    got = receiver.spans()
    tree = ReasoningTree.from_events(events)
    calls = [e for e in events if isinstance(e, UsageRecorded)]
    assert len(got) == 1 + (len(tree.graph.nodes) - 1) + len(calls)
    assert sum(span.name == "verify" for span in got) == sum(c.role == "verify" for c in calls) > 0
    ids = {span.span_id: span for span in got}
    for span in got:
        said = attributes(span)
        if span.name.startswith("node "):
            parent = ids[span.parent_span_id]
            (tree_parent,) = tree.graph.predecessors(said[Attr.GRAPH_NODE_ID])
            assert attributes(parent)[Attr.GRAPH_NODE_ID] == tree_parent
    prompt = sum(attributes(s).get(Attr.LLM_TOKEN_COUNT_PROMPT, 0) for s in got)
    assert prompt == sum(c.input_tokens for c in calls)


def test_the_json_file_parses_back_into_the_request():
    spans = run_spans(RUN, ENDED_AT)
    text = otlp_json(spans)
    assert parse_otlp_json(text) == otlp_request(spans)
    first = json.loads(text)["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert len(first["traceId"]) == 32 and len(first["spanId"]) == 16  # hex, as OTLP/JSON says
    assert first["kind"] == 1  # an integer enum
    with pytest.raises(ValueError, match=r"^not an OTLP JSON trace file"):
        parse_otlp_json('{"resourceSpans": 3}')


def test_a_run_always_gives_the_same_ids():
    again = run_spans(RUN, ENDED_AT)
    assert [s.context.span_id for s in again] == [s.context.span_id for s in run_spans(RUN)]
    assert len({s.context.span_id for s in again}) == len(again)


def test_a_failed_send_says_why(receiver, refused_url):
    spans = run_spans(RUN, ENDED_AT)
    for path, said in [("/404/v1/traces", "HTTP 404 Not Found"), ("/500/v1/traces", "HTTP 500 "
                       "Internal Server Error")]:  # fmt: skip
        with pytest.raises(ValueError) as raised:
            send_spans(spans, receiver.url + path)
        assert str(raised.value) == (
            f"the collector at {receiver.url}{path} did not take the trace: {said}"
        )
    with pytest.raises(ValueError, match=r"did not take the trace: Connection refused$"):
        send_spans(spans, refused_url, timeout=0.5)
    with pytest.raises(ValueError, match=r"^localhost:4318 is not an http\(s\) URL"):
        send_spans(spans, "localhost:4318")
    assert receiver.requests == []


def test_a_collector_url_gets_its_traces_path():
    assert traces_url(" http://localhost:6006/ ") == "http://localhost:6006/v1/traces"
    assert (
        traces_url("https://x.example/api/otel/v1/traces") == "https://x.example/api/otel/v1/traces"
    )
    with pytest.raises(ValueError, match="has a query or fragment"):
        traces_url("http://localhost:4318/?key=secret")


def test_the_cli_writes_the_file_and_sends(tmp_path, receiver, refused_url, capsys):
    path = tmp_path / "run.jsonl"
    write_recording(RUN, path)
    out = tmp_path / "run.otlp.json"
    assert main(["export-otel", str(path), "--out", str(out), "--endpoint", receiver.url]) == 0
    assert capsys.readouterr().out == (
        f"10 spans written to {out}\n10 spans sent to {receiver.url}/v1/traces\n"
    )
    request = parse_otlp_json(out.read_text(encoding="utf-8"))
    assert request == receiver.requests[0]
    assert main(["export-otel", str(path)]) == 2
    assert "--out FILE, --endpoint URL, or both" in capsys.readouterr().err
    assert main(["export-otel", str(path), "--endpoint", refused_url, "--timeout", "0.5"]) == 2
    assert capsys.readouterr().err.endswith("did not take the trace: Connection refused\n")


def test_replay_downloads_the_trace_and_sends_it(fake_env, receiver, refused_url, monkeypatch):
    monkeypatch.setattr("components.run_files.SEND_SECONDS", 0.5)
    at = start_app()
    at.switch_page("pages/replay.py").run()
    assert not at.exception
    choice = at.selectbox(key="replay_choice").value
    sent = next(b for b in at.button if b.label == "Send to the collector")
    assert sent.disabled  # no URL yet
    at.text_input(key="replay_trace_collector").input(refused_url).run()
    next(b for b in at.button if b.label == "Send to the collector").click().run()
    assert not at.exception
    assert at.error[0].value == plain_markdown(
        f"Not sent: the collector at {refused_url}/v1/traces did not take the trace: "
        "Connection refused"
    )
    at.text_input(key="replay_trace_collector").input(receiver.url).run()
    next(b for b in at.button if b.label == "Send to the collector").click().run()
    assert not at.exception
    spans = receiver.spans()
    assert at.success[0].value.startswith(f"Sent {len(spans)} spans to")
    assert at.selectbox(key="replay_choice").value == choice
    assert [b.label for b in at.get("download_button")].count("Trace as OTLP JSON") == 1
