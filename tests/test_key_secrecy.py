"""After runs with a key (one of them failing), the key is in no file, log, export or message."""

import json
import logging
import traceback
import uuid
from dataclasses import replace

from core.budget import Budget
from core.events import to_json_line
from core.providers.base import GenerationRequest, Message
from core.providers.openai_api import OpenAICompatibleProvider
from deliberate.batch import rows_to_csv
from deliberate.sweep import run_batch
from strategies import STRATEGIES
from tests.fake_api_server import FakeApiServer, Reply
from tests.test_openai_provider import chat

try:  # the run store is someone else's work in progress
    from deliberate.runstore import RunStore
except ImportError:
    RunStore = None

ANSWER = "7 × 3 = 21 and 50 − 21 = 29. \\boxed{29}"
BUDGET = Budget(n=2, max_depth=2, step_tokens=16, max_total_tokens=400, seed=3)


def test_the_key_is_nowhere(tmp_path, monkeypatch, caplog, pens, arithmetic):
    key = f"sk-secret-{uuid.uuid4().hex}"
    data = tmp_path / "data"
    monkeypatch.setenv("DELIBERATE_DATA_DIR", str(data))
    monkeypatch.setenv("DELIBERATE_COMPAT_API_KEY", key)
    caplog.set_level(logging.DEBUG)  # everything the SDKs and HTTP clients log

    def respond(payload, number):
        if "FAIL" in json.dumps(payload):  # the error path: a server that echoes the key back
            return Reply(401, {"error": {"message": f"Incorrect API key provided: {key}"}})
        return Reply(body=chat(payload.get("n", 1), content=ANSWER))

    with FakeApiServer(respond) as server:
        provider = OpenAICompatibleProvider("m", server.url, max_retries=1)
        runs = [
            list(STRATEGIES[s](pens, provider, arithmetic, BUDGET))
            for s in ("best_of_n", "beam_search")
        ]
        failing = replace(pens, id="fail", question=f"{pens.question} FAIL")
        failed = list(STRATEGIES["best_of_n"](failing, provider, arithmetic, BUDGET))
        rows = list(run_batch([pens, failing], ["best_of_n"], [2], provider, arithmetic, BUDGET))
    assert all(key in r.headers["authorization"] for r in server.received)  # it was really used
    assert failed[-1].reason == "error" and "rejected the API key (401)" in failed[-1].message

    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "rows.csv").write_text(rows_to_csv(rows))
    (exports / "events.jsonl").write_text(
        "\n".join(to_json_line(e) for run in [*runs, failed] for e in run)
    )
    if RunStore is not None:
        store = RunStore()
        assert store.directory == data
        run_ids = [store.save_run(run, source="test") for run in [*runs, failed]]
        batch = store.create_batch("secrecy", {"provider": provider.name, "model": provider.model})
        for row, run_id in zip(rows, run_ids, strict=False):
            store.add_batch_row(batch, row, run_id)
        store.finish_batch(batch, "error", failed[-1].message)

    with FakeApiServer(respond) as server:
        try:
            provider = OpenAICompatibleProvider("m", server.url, max_retries=0)
            provider.generate(GenerationRequest(messages=(Message("user", "FAIL"),)))
        except Exception as exc:  # any failure: its whole traceback is what a log would show
            shown = "".join(traceback.format_exception(exc))
    assert "401" in shown and key not in shown

    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".csv" for p in files)
    leaks = [str(p) for p in files if key.encode() in p.read_bytes()]
    assert leaks == []
    assert key not in caplog.text
    assert key not in repr(provider.__dict__.get("key"))
    assert all(key not in str(e) for run in [*runs, failed] for e in run)


def test_a_typed_key_is_never_bound_to_the_address(fake_env):
    """A reload keeps the provider's fields through the page's address: never its key."""
    from streamlit.testing.v1 import AppTest

    from tests.test_pages import APP

    key = f"sk-secret-{uuid.uuid4().hex}"
    at = AppTest.from_file(APP, default_timeout=60).run()
    for kind in ("openai_compatible", "openai", "anthropic"):
        at.selectbox(key="set_provider").set_value(kind).run()
        at.text_input(key=f"set_{kind}_key").input(key).run()
        assert not at.exception
        fields = {w.key: w for w in at.text_input}
        assert fields[f"set_{kind}_key"].proto.query_param_key == ""
        assert fields[f"set_{kind}_model"].proto.query_param_key == f"set_{kind}_model"
        assert key not in json.dumps(at.query_params)
    bound = [w for w in at.text_input if w.proto.query_param_key]
    assert bound and all(key not in w.value for w in bound)
