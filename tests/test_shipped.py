"""The batch shipped with the app: scripts/ship_batch.py writes its folder, the app imports it
into the run store once, and the cost page shows it, marked as recorded, with every section.
Made here from a fake-provider batch (`batch --provider fake`), the same files the real one is."""

import importlib.util
import json
from pathlib import Path

import pytest

from components.text import plain_markdown
from core.events import RunStarted, from_json_lines
from core.problems.base import Problem
from core.problems.catalog import find_problem
from deliberate.audit import split_runs
from deliberate.batch import rows_to_csv
from deliberate.cli import main as cli
from deliberate.runstore import RunStore
from deliberate.shipped import (
    ShippedBatch,
    import_all,
    rebuild_problem,
    rows_from_runs,
    shipped_batches,
)
from tests.test_pages import charts, start_app

ROOT = Path(__file__).resolve().parent.parent
COMMAND = "python -m deliberate batch --set curated --size 8 --budgets 4 (fake)"
STRATEGIES = "direct,chain_of_thought,best_of_n,beam_search"


def load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_batch(folder: Path, monkeypatch) -> tuple[Path, Path]:
    """A curated batch of 8 problems on the fake provider (stored apart from the app's store):
    its events file and its CSV."""
    events, rows = folder / "events.jsonl", folder / "rows.csv"
    args = ["batch", "--provider", "fake", "--set", "curated", "--size", "8"]
    args += ["--strategies", STRATEGIES, "--budgets", "4", "--events", str(events)]
    with monkeypatch.context() as patch:
        patch.setenv("DELIBERATE_DATA_DIR", str(folder / "batch-store"))
        assert cli([*args, "--out", str(rows)]) == 0
    return events, rows


def ship(monkeypatch, events: Path, out: Path, *extra: str) -> int:
    script = load_script("ship_batch")
    argv = ["ship_batch.py", str(events), "--name", "fake-8", "--model", "Fake-Model"]
    argv += ["--command", COMMAND, "--date", "2026-11-30", "--machine", "2 cores", "--out"]
    monkeypatch.setattr("sys.argv", [*argv, str(out), *extra])
    return script.main(), script


@pytest.fixture
def shipped(tmp_path, monkeypatch) -> tuple[Path, Path, Path]:
    """(folder of shipped batches, events file, CSV) of a fake batch shipped by the script."""
    events, rows = fake_batch(tmp_path, monkeypatch)
    code, _ = ship(monkeypatch, events, tmp_path / "batches", "--check", str(rows))
    assert code == 0
    return tmp_path / "batches", events, rows


def test_ship_batch_writes_events_and_about(shipped):
    batches, events, _ = shipped
    folder = batches / "fake-8"
    assert sorted(p.name for p in folder.iterdir()) == ["about.json", "events.jsonl"]
    assert (folder / "events.jsonl").read_bytes() == events.read_bytes()
    assert json.loads((folder / "about.json").read_text()) == {
        "batch_id": "recorded-fake-8",
        "date": "2026-11-30",
        "model": "Fake-Model",
        "command": COMMAND,
        "machine": "2 cores",
        "runs": 32,
    }
    (batch,) = shipped_batches(batches)
    assert batch.label == f"Recorded with Fake-Model on 2026-11-30: {COMMAND}"


def test_large_events_are_shipped_gzip_compressed_and_read_back(tmp_path, monkeypatch):
    events, _ = fake_batch(tmp_path, monkeypatch)
    script = load_script("ship_batch")
    monkeypatch.setattr(script, "GZIP_ABOVE", 1000)
    argv = ["ship_batch.py", str(events), "--name", "big", "--model", "M", "--command", "c"]
    monkeypatch.setattr("sys.argv", [*argv, "--out", str(tmp_path / "out")])
    assert script.main() == 0
    folder = tmp_path / "out" / "big"
    assert sorted(p.name for p in folder.iterdir()) == ["about.json", "events.jsonl.gz"]
    assert (folder / "events.jsonl.gz").stat().st_size < events.stat().st_size / 4
    (batch,) = shipped_batches(tmp_path / "out")
    assert len(split_runs(batch.events())) == 32


def test_a_csv_that_disagrees_with_the_events_is_named_and_nothing_is_written(
    tmp_path, monkeypatch, capsys
):
    events, rows = fake_batch(tmp_path, monkeypatch)
    lines = rows.read_text().splitlines()
    lines[1] = lines[1].replace(",direct,1,", ",direct,2,")  # c01's System 1 row, budget altered
    rows.write_text("\n".join(lines) + "\n")
    code, _ = ship(monkeypatch, events, tmp_path / "out", "--check", str(rows))
    assert code == 1
    assert f"{rows} line 2:" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_rows_rebuilt_from_the_events_are_the_batchs_own(shipped):
    _, events, rows = shipped
    runs = split_runs(from_json_lines(events.read_text().splitlines()))
    assert rows_to_csv(rows_from_runs(runs)) == rows.read_bytes().decode()


def test_a_problem_is_rebuilt_from_its_run_started():
    c07 = find_problem("curated:c07")
    same = RunStarted("r", "direct", c07.question, c07.answer, "fake", "m", "arithmetic", {}, "c07")
    rebuilt = rebuild_problem(same)
    assert (rebuilt, rebuilt.difficulty, rebuilt.source) == (c07, c07.difficulty, "curated")
    # Another question under the same id (a typed problem): the run's own question and answer.
    typed = RunStarted("r", "direct", "What is 2 + 2?", "4", "fake", "m", "arithmetic", {}, "c07")
    assert rebuild_problem(typed) == Problem(id="c07", question="What is 2 + 2?", answer="4")
    unknown = RunStarted("r", "direct", "What is 3 + 3?", None, "fake", "m", "arithmetic", {}, "")
    assert rebuild_problem(unknown) == Problem(id="custom", question="What is 3 + 3?")


def test_the_import_is_idempotent_and_keeps_every_run(shipped, tmp_path):
    batches, _, rows = shipped
    store = RunStore(tmp_path / "store")
    assert import_all(store, batches) == ["recorded-fake-8"]
    assert import_all(store, batches) == []
    assert import_all(RunStore(tmp_path / "store"), batches) == []  # a restart
    (batch,) = store.list_batches()
    assert (batch.batch_id, batch.status, batch.rows) == ("recorded-fake-8", "complete", 32)
    assert batch.config["strategies"] == STRATEGIES.split(",")
    assert batch.config["recorded"]["command"] == COMMAND
    assert rows_to_csv(store.load_batch_rows(batch.batch_id)) == rows.read_bytes().decode()
    recorded = store.list_runs(source="recorded")
    assert len(recorded) == 32 and len(store.list_runs()) == 32
    assert store.batch_backends() == {"recorded-fake-8": ("fake-model", "arithmetic")}
    first = ShippedBatch(batches / "fake-8", batch.config["recorded"]).events()
    run_id = store.batch_run_ids(batch.batch_id)[0]
    assert store.load_events(run_id) == split_runs(first)[0]


def test_the_cost_page_shows_the_recorded_batch_with_every_section(shipped, fake_env, monkeypatch):
    batches, _, _ = shipped
    monkeypatch.setenv("DELIBERATE_SHIPPED_BATCHES", str(batches))
    at = start_app()
    at.switch_page("pages/cost_per_solved.py").run()
    assert not at.exception, at.exception
    label = f"Recorded with Fake-Model on 2026-11-30: {COMMAND}"
    picker = at.selectbox(key="batch_shown")
    assert picker.value == "recorded-fake-8"
    assert picker.format_func("recorded-fake-8") == label
    assert at.info[0].value == plain_markdown(
        "Recorded, shipped with the app: 32 runs with Fake-Model on 2026-11-30 (2 cores). "
        f"The command: {COMMAND}. Your own batches are listed beside it."
    )
    summary, *rest = at.dataframe
    assert summary.value["strategy"].tolist() == sorted(STRATEGIES.split(","))
    assert summary.value["problems"].tolist() == [8, 8, 8, 8]
    figures = charts(at)
    assert len(figures) == 5  # accuracy, cost, break-even, difficulty; the compute-optimal overlay
    assert any(h.value == "Spend thinking where it pays" for h in at.header)
    assert any(h.value == "How far to trust the verifier" for h in at.header)
    audit = rest[-1].value
    assert audit["verifier"].tolist() == ["arithmetic"]

    # A batch of your own sits beside it, newest first.
    at.slider(key="batch_size").set_value(1)
    at.multiselect(key="batch_strategies").set_value(["direct"])
    at.multiselect(key="batch_budgets").set_value([1]).run()
    next(b for b in at.button if b.label == "Run batch").click().run()
    assert at.session_state["batch_worker"].join(60)
    at.run()
    options = at.selectbox(key="batch_shown").options
    assert len(options) == 2 and options[1] == label
