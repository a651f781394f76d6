"""The difficulty table fitted from a user's own batches (Snell et al. 2024, arXiv:2408.03314):
per bin, the strategy and budget that reached the best accuracy for the fewest generated tokens.

A problem's bin is read from its runs in the batch, judged the way compute_optimal judges it at
run time: the verdict of a compute_optimal run, else the first PROBE_SAMPLES scored samples of a
best-of-N run (same prompt, same sampling settings).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from core.difficulty import BINS, CONTINUABLE, PROBE_SAMPLES, DifficultyTable, Option, judge_probe
from core.events import DifficultyJudged, Event, RunStarted
from core.tree import ReasoningTree
from deliberate.batch import BatchRow
from deliberate.runstore import RunStore


def run_bin(events: Sequence[Event]) -> str | None:
    """The bin one run puts its problem in; None when the run holds no probe."""
    judged = next((e for e in events if isinstance(e, DifficultyJudged)), None)
    if judged is not None:
        return judged.bin
    g = ReasoningTree.from_events(events).graph
    samples = [n for n in g if g.nodes[n]["role"] == "sample" and g.nodes[n]["score"] is not None][
        :PROBE_SAMPLES
    ]
    if len(samples) < PROBE_SAMPLES:
        return None
    answers = [g.nodes[n]["answer"] for n in samples]
    return judge_probe(answers, [g.nodes[n]["score"] for n in samples]).bin


def problem_bins(runs: Iterable[Sequence[Event]]) -> dict[str, str]:
    """Problem id -> bin, from runs' events; a compute_optimal verdict wins over a best-of-N probe."""
    bins: dict[str, str] = {}
    judged: set[str] = set()
    for events in runs:
        started = next((e for e in events if isinstance(e, RunStarted)), None)
        found = run_bin(events)
        if started is None or found is None or started.problem_id in judged:
            continue
        if started.strategy == "compute_optimal":
            judged.add(started.problem_id)
            bins[started.problem_id] = found
        else:
            bins.setdefault(started.problem_id, found)
    return bins


def fit_table(
    rows: Sequence[BatchRow], bins: dict[str, str], source: str
) -> DifficultyTable | None:
    """Per bin, every (strategy, budget) compute_optimal can continue into, ranked by accuracy
    (highest first), then mean output tokens per problem (fewest first), then budget.

    Rows without a reference answer or whose problem has no bin are left out; None when no row
    is left (compute_optimal then uses core.difficulty.DEFAULT_TABLE)."""
    cells: dict[tuple[str, str, int], list[BatchRow]] = defaultdict(list)
    for row in rows:
        bin_ = bins.get(row.problem_id)
        if row.strategy in CONTINUABLE and row.correct is not None and bin_ is not None:
            cells[(bin_, row.strategy, row.budget)].append(row)
    if not cells:
        return None
    ranked: dict[str, list[Option]] = defaultdict(list)
    for (bin_, strategy, n), group in cells.items():
        accuracy = sum(bool(r.correct) for r in group) / len(group)
        tokens = sum(r.output_tokens for r in group) / len(group)
        ranked[bin_].append(Option(strategy, n, accuracy, tokens))
    order = lambda o: (-(o.accuracy or 0.0), o.mean_tokens or 0.0, o.n or 0)  # noqa: E731
    return DifficultyTable(
        tuple((b, tuple(sorted(ranked[b], key=order))) for b in BINS if b in ranked), source
    )


def fitted_table(store: RunStore, model: str, verifier: str) -> DifficultyTable | None:
    """The table fitted from the newest stored batch run on `model` with `verifier` that yields
    one; None when there is none."""
    backends = store.batch_backends()
    for info in store.list_batches():
        if backends.get(info.batch_id) != (model, verifier):
            continue
        runs = [
            store.load_events(run_id) for run_id in store.batch_run_ids(info.batch_id) if run_id
        ]
        rows = store.load_batch_rows(info.batch_id)
        bins = problem_bins(runs)
        source = (
            f"fitted from your batch “{info.label}” ({model}, {verifier} verifier): "
            f"{len(bins)} problems with a difficulty bin"
        )
        if (table := fit_table(rows, bins, source)) is not None:
            return table
    return None
