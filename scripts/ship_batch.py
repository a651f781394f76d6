"""Ship a measured batch with the app: recordings/batches/<name>/ with its events and about.json.

    .venv/bin/python scripts/ship_batch.py EVENTS.jsonl --name curated-1.5b \
        --model Qwen2.5-Coder-1.5B --command "python -m deliberate batch ..." --check ROWS.csv

EVENTS.jsonl is what `python -m deliberate batch --events` wrote. The events are stored
gzip-compressed when larger than GZIP_ABOVE. Every run's row is rebuilt from its events (as the
app will on import) and its grade checked against a fresh grading of its answer, and, with
--check, against the batch's CSV; any difference is printed and nothing is written.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import platform
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.events import from_json_lines
from deliberate.audit import split_runs
from deliberate.batch import BatchRow, summarize
from deliberate.recordings import RECORDINGS_DIR
from deliberate.report import format_summary
from deliberate.shipped import ABOUT, rebuild_problem, rows_from_runs, shipped_dir

GZIP_ABOVE = 1_000_000  # bytes of JSONL


def differences(rows: list[BatchRow], runs: list, csv_path: Path | None) -> list[str]:
    """Rows whose stored grade is not a fresh grading of their answer, or not the CSV's."""
    found = []
    for row, run in zip(rows, runs, strict=True):
        graded = rebuild_problem(run[0]).grade(row.answer)
        if row.answer is not None and graded != row.correct:
            found.append(f"{row.problem_id} {row.strategy}: {row.answer!r} stored {row.correct}, "
                         f"graded now {graded}")  # fmt: skip
    if csv_path is None:
        return found
    with csv_path.open(encoding="utf-8") as file:
        written = list(csv.DictReader(file))
    if len(written) != len(rows):
        return [*found, f"{csv_path} has {len(written)} rows, the events {len(rows)} runs"]
    for number, (line, row) in enumerate(zip(written, rows, strict=True), start=2):
        mine = {name: str(getattr(row, name) if getattr(row, name) is not None else "")
                for name in ("problem_id", "strategy", "budget", "answer", "correct",
                             "any_correct", "output_tokens")}  # fmt: skip
        theirs = {name: line[name] for name in mine}
        if mine != theirs:
            found.append(f"{csv_path} line {number}: {theirs} but the events give {mine}")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("events", type=Path, help="the batch's events (batch --events)")
    parser.add_argument("--name", required=True, help="the folder's name, e.g. curated-1.5b")
    parser.add_argument("--model", required=True, help="the model, as people know it")
    parser.add_argument("--command", required=True, help="the exact batch command")
    parser.add_argument("--date", default=date.today().isoformat(), help="YYYY-MM-DD")
    parser.add_argument(
        "--machine",
        default=f"{os.cpu_count()} cores, {platform.system()} {platform.machine()}",
        help="a note on the machine (default: its cores and platform)",
    )
    parser.add_argument("--check", type=Path, help="the batch's CSV (batch --out) to agree with")
    parser.add_argument("--out", type=Path, default=shipped_dir() or RECORDINGS_DIR / "batches")
    args = parser.parse_args()
    data = args.events.read_bytes()
    runs = split_runs(from_json_lines(data.decode("utf-8").splitlines()))
    if not runs:
        parser.error(f"{args.events} holds no run")
    rows = rows_from_runs(runs)
    found = differences(rows, runs, args.check)
    if found:
        sys.stderr.write("Grades differ; nothing written:\n" + "\n".join(found) + "\n")
        return 1
    folder = args.out / args.name
    folder.mkdir(parents=True, exist_ok=True)
    for old in ("events.jsonl", "events.jsonl.gz"):
        (folder / old).unlink(missing_ok=True)
    if len(data) > GZIP_ABOVE:
        target = folder / "events.jsonl.gz"
        target.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
    else:
        target = folder / "events.jsonl"
        target.write_bytes(data)
    about = {
        "batch_id": f"recorded-{args.name}",
        "date": args.date,
        "model": args.model,
        "command": args.command,
        "machine": args.machine,
        "runs": len(runs),
    }
    (folder / ABOUT).write_text(json.dumps(about, indent=1) + "\n", encoding="utf-8")
    print(format_summary(summarize(rows)))
    print(
        f"{target}: {target.stat().st_size:,} bytes ({len(data):,} bytes of JSONL), {len(runs)} runs"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
