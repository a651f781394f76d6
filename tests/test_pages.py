"""Every page through Streamlit's AppTest. DELIBERATE_PROVIDER=fake selects the scripted provider
(read in one place: core/providers/choice.py); one test drives the real embedded model."""

import json
import threading
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from components.cost_meter import cost_headline
from components.replay_pace import advance_replay
from components.text import plain_markdown
from core.events import NodeAdded, RunFinished
from core.ledger import Ledger
from core.providers.base import ProviderError
from core.providers.fake import FakeProvider
from core.tree import ReasoningTree
from tests.fake_api_server import FakeApiServer, Reply, chat_reply, script

APP = Path(__file__).resolve().parent.parent / "app.py"


def start_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, at.exception
    return at


def finish(at: AppTest, key: str) -> list:
    """Wait for the session's background worker(s) under `key`, then rerun the page."""
    workers = at.session_state[key]
    for worker in workers if isinstance(workers, tuple) else (workers,):
        assert worker.join(60), "the run did not finish"
    at.run()
    assert not at.exception, at.exception
    return workers


def charts(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def tree_nodes(spec: dict) -> list[str]:
    """Node ids drawn in a tree figure (every node trace carries them as customdata)."""
    return [n for trace in spec["data"] for n in trace.get("customdata") or []]


def shown_costs(at: AppTest) -> list[dict[str, str]]:
    metrics = [(m.label, m.value) for m in at.metric]
    return [dict(metrics[i : i + 4]) for i in range(0, len(metrics), 4)]


def check_run_panel(spec_tree: dict, spec_prm: dict, costs: dict, events: list) -> None:
    tree = ReasoningTree.from_events(events)
    assert sorted(tree_nodes(spec_tree)) == sorted(tree.graph.nodes)
    assert len(tree) > 1
    assert "PRM score" in json.dumps(spec_tree)  # the colorbar legend
    assert spec_prm["data"][0]["type"] == "bar"
    assert costs == cost_headline(Ledger.from_events(events))


def test_the_pages_folder_runs_through_app_py():
    """Pages live in pages/ (the design card's layout). app.py declares them with st.navigation,
    so Streamlit runs app.py (session set-up, sidebar) on every page, never a page alone; the
    browser test opens /compare directly to check the same in a real server."""
    assert sorted(p.name for p in (APP.parent / "pages").glob("*.py")) == [
        "compare.py",
        "cost_per_solved.py",
        "live_run.py",
        "replay.py",
    ]


def test_live_run_shows_tree_prm_chart_and_the_ledgers_costs(fake_env):
    at = start_app()
    (waiting,) = charts(at)  # before Run: the problem alone, where the tree will grow
    assert tree_nodes(waiting) == ["root"] and "24 muffins" in json.dumps(waiting)
    estimate = at.sidebar.info[0].value
    assert (
        estimate.startswith("4 beams of width 2, about ") and "seconds on this machine" in estimate
    )
    run = next(b for b in at.button if b.label == "Run")
    run.click().run()
    worker = finish(at, "live_worker")
    events = worker.events()
    assert isinstance(events[-1], RunFinished) and events[-1].reason == "complete"
    tree_spec, prm_spec = charts(at)
    (costs,) = shown_costs(at)
    check_run_panel(tree_spec, prm_spec, costs, events)
    assert any(t.value.startswith("Answer: ") for t in at.text)
    assert not at.error


def test_a_run_survives_widgets_and_page_switches(fake_env, monkeypatch):
    release = threading.Event()
    generate = FakeProvider.generate

    def gated_generate(self, request):
        assert release.wait(30), "the test never let the model call finish"
        return generate(self, request)

    monkeypatch.setattr(FakeProvider, "generate", gated_generate)
    at = start_app()
    at.select_slider(key="set_n").set_value(8)
    at.run()
    next(b for b in at.button if b.label == "Run").click().run()
    worker = at.session_state["live_worker"]
    assert worker.running
    at.selectbox(key="live_strategy").set_value("mcts").run()  # any widget: a full rerun
    at.switch_page("pages/replay.py").run()
    at.switch_page("pages/live_run.py").run()
    assert at.session_state["live_worker"] is worker
    assert worker.running, "the run should still be going after the reruns"
    next(b for b in at.button if b.label == "Stop").click().run()
    release.set()
    assert worker.join(30)
    at.run()
    events = worker.events()
    assert events[-1].reason == "stopped"
    assert any(isinstance(e, NodeAdded) for e in events)
    assert at.warning and "kept" in at.warning[0].value
    (costs,) = shown_costs(at)
    assert costs == cost_headline(Ledger.from_events(events))  # partial costs are kept and shown


def test_clicked_node_and_model_html_show_literally(fake_env):
    at = start_app()
    at.radio(key="live_source").set_value("Custom").run()
    question = "<script>alert('x')</script> **What** is 6 * 7?"
    at.text_area(key="live_question").set_value(question)
    at.text_input(key="live_answer").set_value("42").run()
    next(b for b in at.button if b.label == "Run").click().run()
    events = finish(at, "live_worker").events()
    at.session_state["live_node"] = "root"  # what a click on the root node stores
    at.run()
    assert question in [c.value for c in at.code]
    assert question in [t.value for t in at.text]
    markdown = " ".join(m.value for m in at.markdown)
    assert "<script>" not in markdown
    first = next(e for e in events if isinstance(e, NodeAdded))
    at.session_state["live_node"] = first.node_id
    at.run()
    assert any(s.value == f"Node {first.node_id}" for s in at.subheader)
    assert first.text in [c.value for c in at.code]
    assert len(charts(at)) == 2


def test_provider_errors_show_a_message_not_a_traceback(fake_env, monkeypatch):
    def fail(self, request):
        raise ProviderError("the model server refused the request")

    monkeypatch.setattr(FakeProvider, "generate", fail)
    at = start_app()
    next(b for b in at.button if b.label == "Run").click().run()
    finish(at, "live_worker")
    assert not at.exception
    (error,) = at.error
    assert "The run failed" in error.value and "refused the request" in error.value
    assert "Traceback" not in error.value


def test_a_bad_provider_setting_is_explained(monkeypatch, tmp_path):
    monkeypatch.setenv("DELIBERATE_PROVIDER", "nonsense")
    monkeypatch.setenv("DELIBERATE_DATA_DIR", str(tmp_path))
    at = start_app()
    assert "DELIBERATE\\_PROVIDER" in at.sidebar.error[0].value
    assert next(b for b in at.button if b.label == "Run").disabled


def test_compare_page_runs_both_and_explains_the_difference(fake_env):
    at = start_app()
    at.switch_page("pages/compare.py").run()
    next(b for b in at.button if b.label == "Run both").click().run()
    system_1, system_2 = finish(at, "compare_workers")
    assert system_1.events()[0].strategy == "direct"
    assert system_2.events()[0].strategy == "beam_search"
    tree_1, prm_1, tree_2, prm_2 = charts(at)
    costs_1, costs_2 = shown_costs(at)
    check_run_panel(tree_1, prm_1, costs_1, system_1.events())
    check_run_panel(tree_2, prm_2, costs_2, system_2.events())
    summary = at.main.info[-1].value
    assert "What System 2 searched" in summary and "the tokens" in summary
    assert len(at.caption) >= 6  # every chart carries its one-line caption


def test_the_embedded_model_runs_a_batch_one_run_at_a_time(monkeypatch, tmp_path):
    monkeypatch.delenv("DELIBERATE_PROVIDER", raising=False)
    monkeypatch.setenv("DELIBERATE_DATA_DIR", str(tmp_path))
    monkeypatch.setattr("components.settings.render_warm_up", lambda choice: None)  # no load
    at = start_app()
    at.switch_page("pages/cost_per_solved.py").run()
    at_once = at.number_input(key="batch_concurrency")
    assert at_once.value == 1 and at_once.disabled


def test_cost_per_solved_runs_a_batch_and_keeps_it_after_a_restart(fake_env):
    at = start_app()
    at.switch_page("pages/cost_per_solved.py").run()
    at.slider(key="batch_size").set_value(3)
    at.multiselect(key="batch_strategies").set_value(["direct", "best_of_n"])
    at.multiselect(key="batch_budgets").set_value([1, 4]).run()
    assert "runs, about" in at.sidebar.info[0].value
    next(b for b in at.button if b.label == "Run batch").click().run()
    worker = finish(at, "batch_worker")
    assert worker.status == "complete" and len(worker.rows()) == 9
    table, difficulty, audit = at.dataframe
    assert set(table.value["strategy"]) == {"direct", "best_of_n"}
    assert difficulty.value["difficulty"].tolist() == ["easy", "medium", "hard"]
    assert audit.value["verifier"].tolist() == ["arithmetic"]
    assert audit.value["runs"].tolist() == [9]
    assert len(charts(at)) == 5  # the four batch charts and accuracy vs budget per difficulty
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Runs as CSV", "Summary as CSV", *["PNG", "SVG", "HTML"] * 4]

    restarted = AppTest.from_file(APP, default_timeout=60).run()  # a new session, same data
    restarted.switch_page("pages/cost_per_solved.py").run()
    assert not restarted.exception
    table, *_ = restarted.dataframe
    assert table.value["problems"].tolist() == [3, 3, 3]


def test_replay_rebuilds_the_identical_tree_and_scrubs(fake_env):
    at = start_app()
    next(b for b in at.button if b.label == "Run").click().run()
    events = finish(at, "live_worker").events()
    original = ReasoningTree.from_events(events)
    at.switch_page("pages/replay.py").run()
    choice = f"run:{events[0].run_id}"
    at.selectbox(key="replay_choice").set_value(choice).run()
    assert not at.exception
    fold = at.session_state["replay_fold"][1]
    assert fold.tree.signature() == original.signature()
    assert sorted(tree_nodes(charts(at)[0])) == sorted(original.graph.nodes)
    at.slider(key="replay_index").set_value(5).run()
    fold = at.session_state["replay_fold"][1]
    assert fold.applied == 5
    assert fold.tree.signature() == ReasoningTree.from_events(events[:5]).signature()
    next(b for b in at.button if b.label == "Play").click().run()
    # 10 events per second for half a second; streamed text counts an eighth of an event.
    assert at.session_state["replay_index"] == advance_replay(events, 5, 5.0) > 5
    # Play and Pause each ask for their own state (a press delivered twice must not undo itself).
    assert at.button(key="replay_pause").label == "Pause"
    at.button(key="replay_pause").click().run()
    assert at.session_state["replay_playing"] is False
    assert at.button(key="replay_play").label == "Play"


@pytest.mark.model
def test_live_run_with_the_real_model_and_a_tiny_budget(monkeypatch, tmp_path):
    monkeypatch.delenv("DELIBERATE_PROVIDER", raising=False)
    monkeypatch.setenv("DELIBERATE_DATA_DIR", str(tmp_path))
    at = start_app()
    assert plain_markdown("Qwen2.5-Coder-0.5B") in " ".join(c.value for c in at.sidebar.caption)
    at.select_slider(key="set_n").set_value(2)
    at.slider(key="set_depth").set_value(2)
    at.slider(key="set_step_tokens").set_value(32)
    at.number_input(key="set_token_cap").set_value(300).run()
    next(b for b in at.button if b.label == "Run").click().run()
    worker = at.session_state["live_worker"]
    assert worker.join(300)
    at.run()
    events = worker.events()
    assert events[0].provider == "local" and events[-1].reason in ("complete", "token_cap")
    tree_spec, prm_spec = charts(at)
    (costs,) = shown_costs(at)
    check_run_panel(tree_spec, prm_spec, costs, events)
    assert costs["Dollars"].startswith("$")  # the local model carries a price


def test_an_api_provider_without_a_key_says_what_it_needs(fake_env, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    at = start_app()
    at.selectbox(key="set_provider").set_value("openai").run()
    assert "needs an API key" in at.sidebar.warning[0].value
    assert next(b for b in at.button if b.label == "Run").disabled


def test_an_openai_compatible_server_runs_from_the_sidebar(fake_env):
    reply = chat_reply("The answer is \\boxed{7}.", 40, 9, "tiny")
    with FakeApiServer(script(Reply(200, reply))) as server:
        at = start_app()
        at.selectbox(key="set_provider").set_value("openai_compatible").run()
        at.text_input(key="set_openai_compatible_model").set_value("tiny")
        at.text_input(key="set_openai_compatible_url").set_value(f"{server.url}/v1")
        at.text_input(key="set_openai_compatible_price").set_value("1, 2").run()
        at.selectbox(key="live_strategy").set_value("direct").run()
        assert "your price" in " ".join(c.value for c in at.sidebar.caption)
        next(b for b in at.button if b.label == "Run").click().run()
        events = finish(at, "live_worker").events()
    assert events[0].provider == "openai_compatible" and events[-1].reason == "complete"
    assert any(t.value.startswith("Answer: 7") for t in at.text)
    (costs,) = shown_costs(at)
    assert costs == cost_headline(Ledger.from_events(events))
    assert costs["Dollars"] == "$0.000058"  # 40 x $1/M + 9 x $2/M


class Gate:
    """Lets the fake model answer one call at a time, when the test says so."""

    def __init__(self, monkeypatch) -> None:
        self.allowed = self.served = self.waiting = 0
        self.changed = threading.Condition()
        generate = FakeProvider.generate

        def gated(provider, request):
            with self.changed:
                self.waiting += 1
                self.changed.notify_all()
                assert self.changed.wait_for(lambda: self.served < self.allowed, 30)
                self.served += 1
                self.waiting -= 1
            return generate(provider, request)

        monkeypatch.setattr(FakeProvider, "generate", gated)

    def until_rows(self, worker, rows: int) -> None:
        """Answer calls one by one until the batch has `rows` rows and waits at its next call."""
        while len(worker.rows()) < rows:
            with self.changed:
                assert self.changed.wait_for(lambda: self.waiting == 1, 30)
                self.allowed += 1
                self.changed.notify_all()
                assert self.changed.wait_for(lambda: self.served == self.allowed, 30)
            with self.changed:  # the run goes on to its next call, or ends and stores its row
                self.changed.wait_for(lambda: self.waiting == 1 or not worker.running, 30)

    def open(self) -> None:
        with self.changed:
            self.allowed = 10**6
            self.changed.notify_all()


def test_the_cost_page_grows_while_a_batch_runs_and_resumes_a_stopped_one(fake_env, monkeypatch):
    gate = Gate(monkeypatch)
    at = start_app()
    at.switch_page("pages/cost_per_solved.py").run()
    at.slider(key="batch_size").set_value(3)
    at.multiselect(key="batch_strategies").set_value(["direct", "beam_search"])
    at.multiselect(key="batch_budgets").set_value([2])
    at.number_input(key="batch_concurrency").set_value(1).run()
    next(b for b in at.button if b.label == "Run batch").click().run()
    worker = at.session_state["batch_worker"]
    assert worker.running and worker.total_runs == 6
    assert any("no finished run yet" in i.value for i in at.info)
    shown = []
    for rows in (1, 3):
        gate.until_rows(worker, rows)
        at.run()  # what the page's timer does every second while the batch runs
        table = at.dataframe[0]
        shown.append(int(table.value["problems"].sum()))
        assert len(charts(at)) == 5 and worker.running  # 4 results + the compute-optimal overlay
    assert shown == [1, 3]
    next(b for b in at.button if b.label == "Stop").click().run()
    gate.open()
    assert worker.join(30) and worker.status == "stopped"
    at.run()
    said = "stopped by you after 3 of 6 runs; 1 run cut short is kept in Replay"
    assert at.warning[0].value == plain_markdown(f"The batch was {said}; finished runs are kept.")
    resume = next(b for b in at.button if b.label.startswith("Resume"))
    assert resume.label == "Resume: run the 3 missing runs"
    resume.click().run()
    resumed = at.session_state["batch_worker"]
    assert resumed is not worker and resumed.batch_id == worker.batch_id
    assert resumed.join(30) and resumed.status == "complete"
    at.run()
    table = at.dataframe[0]
    assert table.value["problems"].tolist() == [3, 3]
    assert not any(b.label.startswith("Resume") for b in at.button)
