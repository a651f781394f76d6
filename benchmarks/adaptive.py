"""Spend thinking where it pays (issue 15 §5): on reasoning-gym `gsm_symbolic` (seed 0), N=16,
self-consistency at 4, 8 and 16 samples against adaptive self-consistency, early-stopping
self-consistency and compute_optimal, with problems solved, generated tokens and seconds.

.venv/bin/python benchmarks/adaptive.py --size 40          # the 1.5B: runs what the store lacks
.venv/bin/python benchmarks/adaptive.py --report-only      # the stored runs only
.venv/bin/python benchmarks/adaptive.py --replay-only      # the stopping rules on stored samples

The runs go into benchmark-data/verifiers/MODEL/ (the store `benchmarks/verifiers.py` reads): that
script's greedy rows are the single-sample strategies here, and it re-scores these samples for its
best-of-8 table. Only self-consistency at N and compute_optimal run; self-consistency at 4 and 8
is the vote of the first 4 or 8 of its samples (drawn independently, so an honest smaller run;
tokens are those samples', seconds pro-rated). Seconds are the model calls' own. The last table
sets the smaller model thinking against the bigger one answering at once, on the problems both
stores hold.

The stopping rules are replayed on the stored samples: samples are drawn independently at the
same settings, so the first k stored ones stand in honestly for the k a run stopping there would
draw (not the same texts: a run's seeds follow its calls), and the rule applied after each batch
(`strategies.adaptive.settles`) is the strategies' own. Runs of them stored by earlier batches
are reported as they ran.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.verifiers import (
    first_samples,
    generated,
    missing_problems,
    stored_runs,
    usage,
    vote,
)
from core.events import AnswerChosen, DifficultyJudged, Event, NodeAdded, RunStarted
from deliberate.audit import candidates
from deliberate.batch import BatchRow
from deliberate.difficulty import fit_table, run_bin
from strategies.adaptive import BATCH, WINDOW, beta_rule, settles, unanimous_window

Rule = Callable[[list[int], bool], bool]

ROOT = Path(__file__).resolve().parent.parent
# The stopping rules need no runs of their own: they are replayed on self-consistency's samples
# (report). Runs of them stored by earlier batches are reported as they ran.
STRATEGIES = ("self_consistency", "compute_optimal")
RULES = {
    "adaptive_consistency": ("adaptive SC", beta_rule, BATCH),
    "early_stopping_consistency": ("early-stopping SC", unanimous_window, WINDOW),
}


@dataclass(frozen=True)
class Row:
    name: str
    solved: int
    tokens: float  # generated tokens per problem
    seconds: float  # model seconds per problem
    samples: float | None = None  # samples drawn per problem


def by_problem(runs: Sequence[Sequence[Event]]) -> dict[str, dict[str, Sequence[Event]]]:
    found: dict[str, dict[str, Sequence[Event]]] = {}
    for run in runs:
        started = run[0]
        assert isinstance(started, RunStarted)
        found.setdefault(started.problem_id or started.question, {})[started.strategy] = run
    return found


def solved(run: Sequence[Event]) -> bool:
    return any(isinstance(e, AnswerChosen) and e.correct for e in run)


def sampled(run: Sequence[Event]) -> int:
    return sum(isinstance(e, NodeAdded) and e.role == "sample" for e in run)


def whole(name: str, runs: list[Sequence[Event]], one: bool = False) -> Row:
    """A strategy as it ran: its own chosen answer, every generation call's tokens and seconds;
    `one`: a single generation, not samples."""
    tokens, seconds = usage(runs, "generate")
    total = len(runs)
    mean = 1.0 if one else sum(sampled(r) for r in runs) / total
    return Row(name, sum(map(solved, runs)), tokens / total, seconds / total, mean)


def voted(k: int, runs: list[Sequence[Event]]) -> Row:
    """Self-consistency with the first `k` of each run's samples."""
    cut = [first_samples(r, k) for r in runs]
    picks = [vote(found, {c.node_id: 1.0 for c in found}) for found in map(candidates, cut)]
    tokens, seconds = generated(cut)
    total = len(runs)
    right = sum(bool(c and c.correct) for c in picks)
    return Row(f"self-consistency @{k}", right, tokens / total, seconds / total, float(k))


def replayed(name: str, settled: Rule, batch: int, runs: list[Sequence[Event]], n: int) -> Row:
    """An adaptive strategy's stopping rule replayed on stored samples, `batch` at a time as
    strategies/adaptive.py draws them: where it stops, its majority answer, the tokens of the
    samples drawn and their pro-rated seconds."""
    right = drawn = 0
    kept = []
    for run in runs:
        samples = [e for e in run if isinstance(e, NodeAdded) and e.role == "sample"][:n]
        used = new = 0
        while used < len(samples):
            answers = [e.answer for e in samples[:used]]
            if new and settles(settled, answers, batch, new):
                break
            new = min(batch, len(samples) - used)
            used += new
        drawn += used
        kept.append(first_samples(run, used))
        found = {c.node_id: c for c in candidates(kept[-1])}
        pick = vote(list(found.values()), {c.node_id: 1.0 for c in found.values()})
        right += bool(pick and pick.correct)
    tokens, seconds = generated(kept)
    total = len(runs)
    return Row(name, right, tokens / total, seconds / total, drawn / total)


def cross_fitted(
    done: Sequence[dict[str, Sequence[Event]]], n: int
) -> tuple[Row, list[str]] | None:
    """compute_optimal with a difficulty table fitted from the other half of the problems (2-fold
    cross-fitting, even and odd, so no problem is scored by a table fitted on it), as the cost
    page fits it (`deliberate.difficulty.fit_table`) from self-consistency at 2, 4, ..., N and
    the two stopping rules at N. Each problem's bin is its compute_optimal run's probe verdict (2
    samples of that run, not charged here); the fitted choice is replayed on its
    self-consistency samples (the first k, or where the rule stops), whose first 2 stand in for
    the probe, so every option's tokens include a probe's. A bin the other half lacks gets
    self-consistency at N. Returns the row and each fold's table in words; None when a half has
    no problem with a bin to fit from."""
    bins = [run_bin(r["compute_optimal"]) for r in done]
    options: list[dict[tuple[str, int], Row]] = []  # per problem: (strategy, n) -> outcome
    for r in done:
        runs = [r["self_consistency"]]
        found = {
            ("self_consistency", k): voted(k, runs) for k in sorted({2, 4, 8, 16, n}) if k <= n
        }
        for strategy, (name, rule, batch) in RULES.items():
            found[strategy, n] = replayed(name, rule, batch, runs, n)
        options.append(found)
    rows = [
        BatchRow(str(i), "", s, k, None, c.solved > 0, 0, round(c.tokens), c.seconds, None, "")
        for i, found in enumerate(options)
        for (s, k), c in found.items()
    ]
    picked: list[Row] = []
    said: list[str] = []
    halves = [range(0, len(done), 2), range(1, len(done), 2)]
    for fold, (test, train) in enumerate((halves, halves[::-1])):
        known = {str(i): bins[i] for i in train if bins[i] is not None}
        table = fit_table([r for r in rows if r.problem_id in known], known, "the other half")
        if table is None:
            return None
        chosen = {b: table.choose(b, n) for b, _ in table.bins}
        words = ", ".join(f"{b} -> {s} N={k}" for b, (s, k) in chosen.items())
        said.append(f"fold {fold + 1}: {words}")
        picked += [options[i][chosen.get(bins[i] or "", ("self_consistency", n))] for i in test]
    total = len(done)
    return Row(
        "compute_optimal (cross-fitted)",
        sum(r.solved for r in picked),
        sum(r.tokens for r in picked) / total,
        sum(r.seconds for r in picked) / total,
        sum(r.samples or 0 for r in picked) / total,
    ), said


def replay_report(folder: Path) -> str:
    """Adaptive and early-stopping SC replayed on the stored sample sets (self-consistency's or
    best-of-N's, whichever covers more problems), against the plain vote of all of them."""
    problems = by_problem(stored_runs(folder))
    found = {
        s: [r[s] for r in problems.values() if s in r] for s in ("self_consistency", "best_of_n")
    }
    strategy, runs = max(found.items(), key=lambda item: len(item[1]))
    if not runs:
        return "no stored samples to replay"
    n = max(map(sampled, runs))
    runs = [r for r in runs if sampled(r) == n]
    rows = [
        voted(n, runs),
        replayed("adaptive SC (replayed)", beta_rule, BATCH, runs, n),
        replayed("early-stopping SC (replayed)", unanimous_window, WINDOW, runs, n),
    ]
    head = f"the stopping rules on {strategy}'s stored samples, {len(runs)} problems, N={n}"
    return "\n".join([head, "", *table(rows, len(runs))])


def table(rows: Sequence[Row], total: int) -> list[str]:
    lines = [f"{'method':<36}{'solved':>8}{'samples':>9}{'tokens/problem':>16}{'seconds':>9}"]
    for r in rows:
        samples = "" if r.samples is None else f"{r.samples:.1f}"
        lines.append(
            f"{r.name:<36}{r.solved:>4}/{total:<3}{samples:>9}{r.tokens:>16.0f}{r.seconds:>9.1f}"
        )
    return lines


def report(folder: Path, n: int) -> str:
    """Every strategy against self-consistency at N, on the problems where self-consistency (with
    all N samples) and compute_optimal both ran: the stopping rules as they ran where every such problem has their
    own runs, else replayed on self-consistency's samples."""
    problems = by_problem(stored_runs(folder))
    done = [
        r
        for r in problems.values()
        if {"self_consistency", "compute_optimal"} <= set(r) and sampled(r["self_consistency"]) == n
    ]
    if not done:
        return "no problem has both self-consistency and compute_optimal finished yet"
    total = len(done)
    rows: list[Row] = []
    for strategy, label in (("direct", "System 1 (direct)"), ("chain_of_thought", "greedy CoT")):
        if all(strategy in r for r in done):
            rows.append(whole(label, [r[strategy] for r in done], one=True))
    fixed_sc = [voted(k, [r["self_consistency"] for r in done]) for k in (4, 8) if k < n]
    rows += fixed_sc
    samples = [r["self_consistency"] for r in done]
    sc = whole(f"self-consistency @{n}", samples)
    rows.append(sc)
    fixed = list(rows)
    adaptive = {
        s: whole(name, [r[s] for r in done])
        if all(s in r for r in done)
        else replayed(f"{name} (replayed)", rule, batch, samples, n)
        for s, (name, rule, batch) in RULES.items()
    }
    adaptive["compute_optimal"] = whole("compute_optimal", [r["compute_optimal"] for r in done])
    fitted = cross_fitted(done, n)
    rows += [*adaptive.values(), *([fitted[0]] if fitted else [])]
    lines = [f"{total} problems (self-consistency and compute_optimal on each), N={n}", ""]
    lines += table(rows, total)

    bins = Counter(
        (e.bin, e.strategy, e.n)
        for r in done
        for e in r["compute_optimal"]
        if isinstance(e, DifficultyJudged)
    )
    lines += [
        "",
        "compute_optimal's probe: "
        + ", ".join(
            f"{bin_} -> {strategy} N={k}: {count}"
            for (bin_, strategy, k), count in sorted(bins.items())
        ),
    ]

    lines.append("")
    for rule in RULES:
        a = adaptive[rule]
        met = abs(a.solved - sc.solved) <= 1 and a.tokens <= 0.4 * sc.tokens
        lines.append(
            f"{a.name}: {a.solved} solved against SC@{n}'s {sc.solved} (target: within one), "
            f"{a.tokens / sc.tokens:.1%} of its tokens (target: at most 40%): "
            f"{'met' if met else 'missed'}"
        )
    best = max(fixed, key=lambda r: (r.solved, -r.tokens))
    c = adaptive["compute_optimal"]
    lines.append(
        f"compute_optimal: {c.solved} solved against the best fixed strategy's {best.solved} "
        f"({best.name}), {c.tokens / best.tokens:.0%} of its tokens (target: as many solved with "
        f"at most 50%): {'met' if c.solved >= best.solved and c.tokens <= 0.5 * best.tokens else 'missed'}"
    )
    if fitted:
        row, tables = fitted
        lines.append(
            f"{row.name}: {row.solved} solved, {row.tokens / best.tokens:.0%} of "
            f"{best.name}'s tokens; {'; '.join(tables)}"
        )
    return "\n".join(lines)


def small_against_big(small: Path, big: Path) -> str:
    """The smaller model thinking against the bigger one answering, on the problems both hold."""
    mine, theirs = by_problem(stored_runs(small)), by_problem(stored_runs(big))
    shared = sorted(set(mine) & set(theirs))
    if not shared:
        return "no problem in both stores"
    lines = [f"{small.name} thinking against {big.name} answering, {len(shared)} problems"]
    rows = []
    for folder, found in ((big, theirs), (small, mine)):
        for strategy in ("direct", "chain_of_thought", "best_of_n", "self_consistency"):
            runs = [found[p][strategy] for p in shared if strategy in found[p]]
            if len(runs) == len(shared):
                one = strategy in ("direct", "chain_of_thought")
                rows.append(whole(f"{folder.name} {strategy}", runs, one))
        if all("best_of_n" in found[p] for p in shared):
            runs = [found[p]["best_of_n"] for p in shared]
            k = round(sum(map(sampled, runs)) / len(runs))
            rows.append(replace(voted(k, runs), name=f"{folder.name} majority vote @{k}"))
    return "\n".join([*lines, *table(rows, len(shared))])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--small", default="qwen2.5-coder-0.5b", help="the model that thinks")
    parser.add_argument("--size", type=int, default=20)
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("--verifier", default="confidence+arithmetic")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmark-data" / "verifiers")
    parser.add_argument("--resume", help="the batch id to complete (printed when it started)")
    parser.add_argument("--report-only", action="store_true", help="no new runs")
    parser.add_argument(
        "--replay-only",
        action="store_true",
        help="only the stopping rules replayed on the stored samples (no new runs)",
    )
    args = parser.parse_args()
    folder = args.out / args.model
    if args.replay_only:
        print(f"{args.model}, reasoning-gym gsm_symbolic seed 0")
        print(replay_report(folder))
        return
    if not args.report_only:
        command = [sys.executable, "-m", "deliberate", "batch", "--model", args.model]
        # Only the problems the store lacks: `--size 40` after `--size 20` runs the new 20.
        todo = [] if args.resume else missing_problems(folder, args.size, STRATEGIES)
        if args.resume:
            command += ["--resume", args.resume]
        else:
            problems = folder / "todo-adaptive.jsonl"
            problems.write_text("".join(json.dumps(record) + "\n" for record in todo))
            command += ["--file", str(problems), "--strategies", ",".join(STRATEGIES)]
            command += ["--budgets", str(args.n), "--verifier", args.verifier]
        command += ["--out", str(folder / "rows-adaptive.csv")]
        env = {**os.environ, "DELIBERATE_DATA_DIR": str(folder / "store")}
        if args.resume or todo:
            subprocess.run(command, cwd=ROOT, env=env, check=False)
    print(f"{args.model}, reasoning-gym gsm_symbolic seed 0")
    print(report(folder, args.n))
    print()
    print(replay_report(folder))
    print()
    print(small_against_big(args.out / args.small, folder))


if __name__ == "__main__":
    main()
