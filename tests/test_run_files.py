"""A run's events as a JSONL file: checked line by line on the way in, stored only when good."""

import pytest

from components.run_files import store_upload
from components.text import plain_markdown
from core.budget import Budget
from core.events import to_json_line, to_json_lines
from core.providers.fake import FakeProvider
from core.tree import ReasoningTree
from deliberate.recordings import parse_run
from deliberate.runstore import RunStore
from strategies import STRATEGIES
from tests.test_pages import charts, start_app, tree_nodes


@pytest.fixture
def run(pens, arithmetic) -> list:
    return list(STRATEGIES["best_of_n"](pens, FakeProvider(), arithmetic, Budget(n=2)))


def lines_with(run: list, number: int, line: str) -> bytes:
    """The run's JSONL with line `number` (1-based) replaced by `line`."""
    lines = to_json_lines(run).splitlines()
    lines[number - 1] = line
    return "\n".join(lines).encode()


def test_a_downloaded_run_parses_back_identically(run):
    assert parse_run(to_json_lines(run).encode()) == run
    assert parse_run(("\n" + to_json_lines(run) + "\n\n").encode()) == run  # blank lines skipped


@pytest.mark.parametrize(
    ("number", "line", "said"),
    [
        (3, "{not json", "line 3: not JSON (Expecting property name"),
        (7, '{"type": "Foo"}', "line 7: unknown event type 'Foo'"),
        (2, "[1, 2]", "line 2: not an event: a JSON object with a 'type' was expected"),
        (
            4,
            '{"type": "status", "text": "x", "colour": "red"}',
            "line 4: event 'status' has unexpected fields ['colour']",
        ),
        (
            5,
            '{"type": "node_pruned", "node_id": 5}',
            "line 5: node_pruned: node_id: Input should be a valid string",
        ),
        (
            6,
            '{"type": "step_scored", "node_id": "nowhere", "score": 0.5, "verifier": "v"}',
            "line 6: event refers to unknown node nowhere",
        ),
    ],
)
def test_a_bad_line_is_named(run, number, line, said):
    with pytest.raises(ValueError) as raised:
        parse_run(lines_with(run, number, line))
    assert str(raised.value).startswith(said), str(raised.value)


def test_a_file_must_be_one_whole_run(run):
    with pytest.raises(ValueError, match=r"^line 1: a run starts with run_started, not status$"):
        parse_run(lines_with(run, 1, '{"type": "status", "text": "x"}'))
    with pytest.raises(ValueError, match=r"^line 5: a second run_started \(one run per file\)$"):
        parse_run(lines_with(run, 5, to_json_line(run[0])))
    with pytest.raises(ValueError, match=r"^the file holds no events$"):
        parse_run(b"\n\n")
    with pytest.raises(ValueError, match=r"^not UTF-8 text \(byte 0 is not\)$"):
        parse_run(b"\xff" + to_json_lines(run).encode())


def test_an_upload_with_a_taken_run_id_gets_a_fresh_one(tmp_path, run):
    store = RunStore(tmp_path)
    store.save_run(run, source="live")
    assert store_upload(store, to_json_lines(run).encode()) == run[0].run_id  # the same: kept
    assert [r.source for r in store.list_runs()] == ["live"]
    edited = [run[0], *run[1:-1]]  # the same id, another event stream (its end cut off)
    stored = store_upload(store, to_json_lines(edited).encode())
    assert stored != run[0].run_id and stored.startswith(f"{run[0].run_id}-")
    assert store.load_events(run[0].run_id) == run  # the first run is untouched
    assert store.load_events(stored)[1:] == edited[1:]
    newest = store.list_runs()[0]
    assert (newest.run_id, newest.source) == (stored, "upload")


def test_replay_refuses_a_bad_upload_and_stores_nothing(fake_env, run):
    at = start_app()
    at.switch_page("pages/replay.py").run()
    at.file_uploader(key="replay_upload").upload("run.jsonl", lines_with(run, 7, '{"type": "Foo"}'))
    at.run()
    assert not at.exception
    said = "run.jsonl was not stored: line 7: unknown event type 'Foo'"
    assert [e.value for e in at.error] == [plain_markdown(said)]
    assert RunStore().list_runs() == []


def test_replay_stores_a_good_upload_and_plays_it(fake_env, run):
    at = start_app()
    at.switch_page("pages/replay.py").run()
    at.file_uploader(key="replay_upload").upload("run.jsonl", to_json_lines(run).encode()).run()
    assert not at.exception and not at.error
    (info,) = RunStore().list_runs()
    assert (info.run_id, info.source) == (run[0].run_id, "upload")
    assert at.selectbox(key="replay_choice").value == f"run:{info.run_id}"
    tree_spec = charts(at)[0]
    assert sorted(tree_nodes(tree_spec)) == sorted(ReasoningTree.from_events(run).graph.nodes)
    at.run()  # the same file still in the uploader: not stored again
    assert len(RunStore().list_runs()) == 1
    labels = [b.label for b in at.get("download_button")]
    assert "Events as JSONL" in labels and labels.count("PNG") == 2  # tree and PRM chart


def test_live_run_offers_the_events_and_figures_once_the_run_is_over(fake_env):
    at = start_app()
    assert at.get("download_button") == []
    next(b for b in at.button if b.label == "Run").click().run()
    assert at.session_state["live_worker"].join(60)
    at.run()
    labels = [b.label for b in at.get("download_button")]
    assert labels == [
        "PNG",
        "SVG",
        "HTML",
        "PNG",
        "SVG",
        "HTML",
        "Events as JSONL",
        "Trace as OTLP JSON",
    ]
