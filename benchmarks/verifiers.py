"""Which verifier makes System 2 pay (issue 13 §6): on reasoning-gym `gsm_symbolic` (seed 0),
System 1, greedy chain of thought, majority vote, pass@N, and best-of-N selection with every
offline verifier and combination, with tokens and seconds.

.venv/bin/python benchmarks/verifiers.py --model qwen2.5-coder-0.5b            # 40 problems, N=8
.venv/bin/python benchmarks/verifiers.py --model qwen2.5-coder-1.5b --size 20 --greedy-only
.venv/bin/python benchmarks/verifiers.py --model qwen2.5-coder-1.5b --size 20 --samples-only

The samples are written once, by the CLI's `batch` (direct, chain_of_thought and best_of_n at
the default sampling settings, confidence recorded), into OUT/MODEL/ (a run store), for the
problems the store lacks; every batch in that store is read, so a later batch adds strategies
or problems. Where a store has self-consistency runs
and no best-of-N ones (`benchmarks/adaptive.py` writes them, N=16), their first N samples are
the candidates. Ctrl-C keeps the runs finished so far; `--resume BATCH_ID` (printed at the
start) adds the rest. Every verifier then re-scores the same stored samples (`deliberate.audit`),
so they are compared on identical candidates; only the program checker calls the model again (one
program per problem), and its tokens and seconds are added to its rows. Best-of-N picks either
the highest path score (ties: the earlier sample) or the score-weighted vote of the answers
(search-and-learn's weighted best-of-N).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.events import AnswerChosen, Event, NodeAdded, RunStarted, UsageRecorded
from core.problems.generated import generated_problems
from core.providers import registry
from core.providers.base import Completion, Provider
from core.verifiers.arithmetic import ArithmeticChecker
from core.verifiers.base import Verifier
from core.verifiers.combined import Combination
from core.verifiers.confidence import ConfidenceVerifier
from core.verifiers.grading import answers_match
from core.verifiers.model_judge import ModelJudge
from core.verifiers.program import ProgramChecker
from deliberate.audit import Candidate, candidates
from deliberate.runstore import RunStore

ROOT = Path(__file__).resolve().parent.parent
STRATEGIES = ("direct", "chain_of_thought", "best_of_n")


def generate(args: argparse.Namespace, folder: Path) -> None:
    """Write (or resume) the batch into the folder's run store: every sample, its confidence."""
    command = [sys.executable, "-m", "deliberate", "batch", "--model", args.model]
    if args.resume:
        command += ["--resume", args.resume]
    else:
        strategies = STRATEGIES[:2] if args.greedy_only else STRATEGIES
        strategies = STRATEGIES[2:] if args.samples_only else strategies
        todo = missing_problems(folder, args.size, strategies)
        if not todo:
            return
        problems = folder / "todo.jsonl"
        problems.write_text("".join(json.dumps(record) + "\n" for record in todo))
        command += ["--file", str(problems)]
        command += ["--strategies", ",".join(strategies), "--budgets", str(args.n)]
        command += ["--verifier", "confidence"]  # records every sample's token confidence
    command += ["--out", str(folder / "rows.csv")]
    env = {**os.environ, "DELIBERATE_DATA_DIR": str(folder / "store")}
    try:
        subprocess.run(command, cwd=ROOT, env=env, check=False)
    except KeyboardInterrupt:  # the CLI has kept the finished runs; report on them
        time.sleep(3)


def missing_problems(folder: Path, size: int, strategies: Sequence[str]) -> list[dict]:
    """The first `size` problems, as JSONL records, that some strategy has not finished on in the
    store yet, so that `--size 40` after `--size 20` generates only the 20 new ones."""
    finished = defaultdict(set)
    for run in stored_runs(folder):
        started = run[0]
        assert isinstance(started, RunStarted)
        finished[started.problem_id].add(started.strategy)
    return [
        {"id": p.id, "question": p.question, "answer": p.answer, "difficulty": p.difficulty}
        for p in generated_problems("gsm_symbolic", 0, size)
        if not set(strategies) <= finished[p.id]
    ]


def verifiers(provider: Provider | None) -> dict[str, Verifier]:
    """The offline verifiers and combinations compared; one program checker shared by all, so
    each problem's program is written once."""
    arithmetic, confidence = ArithmeticChecker(), ConfidenceVerifier()
    found: dict[str, Verifier] = {"arithmetic": arithmetic, "confidence": confidence}
    found["confidence+arithmetic"] = Combination([confidence, arithmetic], "mean")
    if provider is not None:
        program = ProgramChecker(provider)
        found["program"] = program
        found["program>arithmetic"] = Combination([program, arithmetic], "tiebreak")
        found["program>confidence"] = Combination([program, confidence], "tiebreak")
        found["program+confidence"] = Combination([program, confidence], "mean")
    return found


def vote(found: Sequence[Candidate], weight: dict[str, float]) -> Candidate | None:
    """The heaviest group of equal answers (its first member); None when no sample answered."""
    groups: list[list[Candidate]] = []
    for c in found:
        group = next((g for g in groups if answers_match(c.answer, g[0].answer)), None)
        if group:
            group.append(c)
        else:
            groups.append([c])
    if not groups:
        return None
    return max(groups, key=lambda g: sum(weight[c.node_id] for c in g))[0]


def usage(runs: Sequence[Sequence[Event]], role: str) -> tuple[int, float]:
    """Generated tokens and model seconds of one role (generate | verify) over the runs."""
    records = [e for run in runs for e in run if isinstance(e, UsageRecorded) and e.role == role]
    return sum(e.output_tokens for e in records), sum(e.seconds for e in records)


def stored_runs(folder: Path) -> list[list[Event]]:
    """The runs finished so far in every batch of the folder's store; where two batches ran the
    same strategy on a problem, the newer one's run."""
    store = RunStore(folder / "store")
    newest: dict[tuple[str, str], list[Event]] = {}
    for batch in sorted(store.list_batches(), key=lambda b: b.created):
        for run_id in store.batch_run_ids(batch.batch_id):
            if run_id:
                run = store.load_events(run_id)
                started = run[0]
                assert isinstance(started, RunStarted)
                newest[started.problem_id or started.question, started.strategy] = run
    return list(newest.values())


def first_samples(run: Sequence[Event], n: int) -> list[Event]:
    """The run as if it had stopped after its first `n` samples (samples are drawn independently,
    so the first n of self-consistency's 16 are an honest N=n sample set)."""
    samples = [e.node_id for e in run if isinstance(e, NodeAdded) and e.role == "sample"]
    dropped = set(samples[n:])
    return [e for e in run if getattr(e, "node_id", None) not in dropped]


def generated(runs: Sequence[Sequence[Event]]) -> tuple[int, float]:
    """Generated tokens of the samples each run kept, and the seconds of its generation calls
    pro-rated to those tokens."""
    tokens = seconds = 0.0
    for run in runs:
        kept = sum(e.output_tokens for e in run if isinstance(e, NodeAdded))
        written, spent = usage([run], "generate")
        tokens += kept
        seconds += spent * min(1.0, kept / written) if written else 0.0
    return round(tokens), seconds


def report(runs: Sequence[Sequence[Event]], n: int, provider: Provider | None, judge: bool) -> str:
    by_problem: dict[str, dict[str, Sequence[Event]]] = defaultdict(dict)
    for run in runs:
        started = run[0]
        assert isinstance(started, RunStarted)
        by_problem[started.problem_id or started.question][started.strategy] = run
    found = {strategy for runs in by_problem.values() for strategy in runs}
    # Samples: best-of-N's, else self-consistency's first n (benchmarks/adaptive.py's runs)
    sampled = next((s for s in ("best_of_n", "self_consistency") if s in found), None)
    wanted = {"direct", "chain_of_thought"} | ({sampled} if sampled else set())
    done = [runs for runs in by_problem.values() if wanted <= set(runs)]
    if not done:
        return "no problem has every strategy finished yet"
    total = len(done)
    lines = [f"{total} problems (every strategy finished on each)", ""]
    lines.append(f"{'method':<50}{'solved':>8}{'tokens/problem':>16}{'seconds/problem':>17}")

    def row(name: str, solved: int, tokens: float, seconds: float) -> None:
        lines.append(
            f"{name:<50}{solved:>4}/{total:<3}{tokens / total:>16.0f}{seconds / total:>17.1f}"
        )

    def chosen_right(run: Sequence[Event]) -> bool:
        return any(isinstance(e, AnswerChosen) and e.correct for e in run)

    for strategy, label in (("direct", "System 1 (direct)"), ("chain_of_thought", "greedy CoT")):
        runs = [r[strategy] for r in done]
        row(label, sum(chosen_right(r) for r in runs), *usage(runs, "generate"))
    if sampled is None:
        return "\n".join(lines)
    samples = [first_samples(r[sampled], n) for r in done]
    tokens, seconds = generated(samples)
    plain = [candidates(run, None) for run in samples]
    majority = [vote(found, {c.node_id: 1.0 for c in found}) for found in plain]
    row(f"majority vote @{n}", sum(bool(c and c.correct) for c in majority), tokens, seconds)
    row(
        f"pass@{n} (some sample right)",
        sum(any(c.correct for c in f) for f in plain),
        tokens,
        seconds,
    )
    judged = verifiers(provider)
    if judge and provider is not None:
        judged["model_judge"] = ModelJudge(provider)
    programs: list[Completion] = []  # written once, charged to every verifier that reads them
    for name, verifier in judged.items():
        spent: list[Completion] = []
        started = time.perf_counter()
        scored = [candidates(run, verifier, spent) for run in samples]
        if "program" in name:
            programs = programs or spent
            spent = spent or programs
        extra_tokens = sum(c.usage.output_tokens for c in spent)
        # a verifier that calls the model costs its calls' seconds; rules, their run time
        extra_seconds = sum(c.seconds for c in spent) if spent else time.perf_counter() - started
        best = [max(found, key=lambda c: c.score) if found else None for found in scored]
        weighted = [vote(found, {c.node_id: c.score for c in found}) for found in scored]
        for how, picks in (("highest score", best), ("weighted vote", weighted)):
            solved = sum(bool(c and c.correct) for c in picks)
            row(
                f"best-of-{n}, {name}, {how}",
                solved,
                tokens + extra_tokens,
                seconds + extra_seconds,
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="qwen2.5-coder-0.5b")
    parser.add_argument("--size", type=int, default=40)
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmark-data" / "verifiers")
    parser.add_argument("--resume", help="the batch id to complete (printed when it started)")
    parser.add_argument(
        "--greedy-only", action="store_true", help="System 1 and greedy CoT, no samples"
    )
    parser.add_argument(
        "--samples-only", action="store_true", help="best-of-N samples only (greedy rows stored)"
    )
    parser.add_argument("--report-only", action="store_true", help="no new samples")
    parser.add_argument(
        "--no-program", action="store_true", help="skip verifiers that call the model"
    )
    parser.add_argument("--judge", action="store_true", help="also the model judge (slow)")
    args = parser.parse_args()
    folder = args.out / args.model
    folder.mkdir(parents=True, exist_ok=True)
    if not args.report_only:
        generate(args, folder)
    provider = None if args.no_program else registry.make_provider("local", model=args.model)
    print(f"{args.model}, reasoning-gym gsm_symbolic seed 0, N={args.n}")
    print(report(stored_runs(folder), args.n, provider, args.judge))


if __name__ == "__main__":
    main()
