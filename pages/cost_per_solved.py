"""Cost per problem solved: a problem set x strategies x budgets, with the test-time-compute plots."""

from dataclasses import replace
from datetime import datetime

import streamlit as st

from components.batch_charts import (
    AUDIT_TERMS,
    SUMMARY_TERMS,
    audit_frame,
    build_accuracy_figure,
    build_break_even_figure,
    build_cost_figure,
    build_difficulty_figure,
    cheapest_reaching,
    summary_frame,
)
from components.cost_meter import format_seconds
from components.figure_export import render_downloads
from components.glossary import column_help, term
from components.optimal_view import render_optimal_section
from components.page_shell import through_app
from components.problem_picker import render_problem_set_picker
from components.run_view import poll_while
from components.settings import render_estimate, render_table_note, run_budget
from components.text import plain_markdown
from core.ledger import format_dollars
from deliberate.audit import audit
from deliberate.batch import BatchRow, rows_to_csv, summarize, summary_to_csv
from deliberate.difficulty import problem_bins
from deliberate.runstore import BatchInfo
from deliberate.worker import BatchWorker
from strategies import STRATEGIES, budgets_for

through_app()

BUDGETS = [1, 2, 4, 8, 16]
REFRESH_SECONDS = 1.0  # how often the results of a running batch are read again
settings = st.session_state.settings
store = st.session_state.store

st.title("Cost per problem solved")
st.write(
    "More thinking costs more per question, but it can cost less per question answered "
    "correctly. Run a problem set through several strategies and budgets and compare."
)
problems = render_problem_set_picker("batch")
strategies = st.multiselect(
    "Strategies",
    settings.strategies() if settings is not None else list(STRATEGIES),
    default=["direct", "best_of_n", "beam_search"],
    key="batch_strategies",
    format_func=lambda name: name.replace("_", " "),
)
budgets = sorted(
    st.multiselect("Budgets N", BUDGETS, default=[1, 2, 4], key="batch_budgets", help=term("N"))
)
plan = [(s, n) for _ in problems or [] for s in strategies for n in budgets_for(s, budgets)]
if settings is not None and plan:
    render_estimate(settings, [(s, replace(settings.budget, n=n)) for s, n in plan], store)
if settings is not None and "compute_optimal" in strategies:
    render_table_note(run_budget(settings, store, strategies))

embedded = settings is not None and settings.provider.kind == "local"
at_once_column, cap_column, _ = st.columns([1, 1, 2])
concurrency = at_once_column.number_input(
    "Runs at once",
    1,
    64,
    1 if embedded else 8,
    key="batch_concurrency",
    disabled=embedded,
    help="API and OpenAI-compatible servers take many requests at once (the serving stack "
    "behind the URL spreads them); the embedded model serves one run at a time. The rows are "
    "those of one run after another.",
)
batch_cap = cap_column.number_input(
    "Cap for the whole batch ($, 0 = none)",
    0.0,
    10_000.0,
    0.0,
    step=0.05,
    format="%.2f",
    key="batch_cap",
    help="Once the batch's runs have spent this much, no new run starts and running ones stop "
    "before their next model call (calls already out finish and are paid for).",
)


def setup() -> dict[str, str]:
    """What the batch runs on, stored with it so that a resume can check it."""
    return {"provider": settings.provider.key, "model": settings.provider.model,
            "verifier": settings.verifier}  # fmt: skip


worker = st.session_state.get("batch_worker")
running = worker is not None and worker.running
run_column, stop_column, _ = st.columns([1, 1, 4])
ready = bool(plan) and settings is not None and not running
if run_column.button("Run batch", type="primary", disabled=not ready):
    try:
        st.session_state.batch_worker = BatchWorker(
            problems,
            strategies,
            budgets,
            settings.backend,
            run_budget(settings, store, strategies),
            store,
            label=f"{len(problems)} problems × {', '.join(strategies)} × N={budgets}",
            concurrency=1 if embedded else int(concurrency),
            max_batch_dollars=float(batch_cap) or None,
            setup=setup(),
        ).start()
        st.session_state.batch_shown = st.session_state.batch_worker.batch_id
        st.rerun()
    except ValueError as exc:
        st.error(plain_markdown(str(exc)))
if stop_column.button("Stop", disabled=not running):
    worker.stop()


def progress() -> None:
    worker = st.session_state.get("batch_worker")
    if worker is None:
        return
    done = len(worker.rows())
    left = worker.seconds_left()
    eta = "estimating time left…" if left is None else f"about {format_seconds(left)} left"
    if worker.running:
        st.progress(worker.fraction, text=f"{done} of {worker.total_runs} runs · {eta}")
    elif worker.status == "error":
        st.error(
            plain_markdown(
                f"The batch failed after {done} runs: {worker.message}. Finished runs are kept."
            )
        )
    elif worker.status == "stopped":
        st.warning(plain_markdown(f"The batch was {worker.message}; finished runs are kept."))


def resume_button(info: BatchInfo) -> None:
    """Resume for a batch that ended before all its cells ran (its process died, or it was
    stopped or failed): the missing cells run with its stored problems, budgets and seeds."""
    config = info.config
    per_problem = sum(len(budgets_for(s, config["budgets"])) for s in config["strategies"])
    missing = len(config.get("problems", [])) * per_problem - info.rows
    if info.status == "running" or missing <= 0 or "problem_records" not in config:
        return
    if not st.button(f"Resume: run the {missing} missing runs", disabled=running):
        return
    try:
        st.session_state.batch_worker = BatchWorker.resume(
            store,
            info.batch_id,
            settings.backend,
            concurrency=1 if embedded else int(concurrency),
            setup=setup(),
        ).start()
        st.rerun()
    except (ValueError, KeyError) as exc:
        st.error(plain_markdown(f"This batch can't resume: {exc}"))


def results() -> bool:
    """The shown batch's table and charts, read from the store: they grow as runs finish."""
    progress()
    worker = st.session_state.get("batch_worker")
    going = worker is not None and worker.running
    st.header("Results")
    batches = store.list_batches() if store is not None else []
    if not batches:
        st.info("No batch yet. Results are stored and shown here after a restart too.")
        return going
    by_id = {b.batch_id: b for b in batches}
    if st.session_state.get("batch_shown") not in by_id:
        st.session_state.batch_shown = batches[0].batch_id
    shown = st.selectbox(
        "Batch",
        list(by_id),
        key="batch_shown",
        format_func=lambda b: (
            by_id[b].label  # a recorded batch's label: "Recorded with M on D: <command>"
            if "recorded" in by_id[b].config
            else f"{datetime.fromtimestamp(by_id[b].created):%Y-%m-%d %H:%M} · {by_id[b].label}"
        ),
    )
    info = by_id[shown]
    if (recorded := info.config.get("recorded")) is not None:
        st.info(
            plain_markdown(
                f"Recorded, shipped with the app: {info.rows} runs with {recorded['model']} on "
                f"{recorded['date']} ({recorded['machine']}). The command: {recorded['command']}. "
                "Your own batches are listed beside it."
            )
        )
    st.caption(
        f"Status: {info.status} · {info.rows} runs stored"
        + (f" · {info.message}" if info.message else "")
    )
    if settings is not None:
        resume_button(info)
    rows = store.load_batch_rows(shown)
    if not rows:
        st.info("This batch has no finished run yet.")
        return going
    show_rows(shown, rows)
    return going


def show_rows(shown: str, rows: list[BatchRow]) -> None:
    summaries = summarize(rows)
    target = st.slider(
        "Target accuracy (%)", 0, 100, 60, step=5, key="batch_target", help=term("compute-optimal")
    )
    target /= 100
    best = cheapest_reaching(summaries, target)
    if best is not None:
        st.success(
            plain_markdown(
                f"Cheapest to reach {target:.0%}: {best.strategy.replace('_', ' ')} at "
                f"N={best.budget} ({best.accuracy:.0%} solved, {best.mean_output_tokens:,.0f} "
                f"tokens per problem, {format_dollars(best.cost_per_solved_usd)} per problem "
                "solved)."
            )
        )
    else:
        st.warning(f"No strategy reached {target:.0%} in this batch.")
    st.dataframe(
        summary_frame(summaries, best),
        hide_index=True,
        width="stretch",
        column_config=column_help(SUMMARY_TERMS),
    )
    csv_column, summary_column, _ = st.columns([1, 1, 3])
    csv_column.download_button(
        "Runs as CSV", rows_to_csv(rows), f"batch-{shown}-runs.csv", "text/csv", on_click="ignore"
    )
    summary_column.download_button(
        "Summary as CSV",
        summary_to_csv(summaries),
        f"batch-{shown}-summary.csv",
        "text/csv",
        on_click="ignore",
    )
    charts = [
        (
            "accuracy",
            build_accuracy_figure(summaries, target, best),
            "Accuracy vs budget N (log scale), one line per strategy; the dashed line is System 1, the star the cheapest strategy at the target.",
        ),
        (
            "cost",
            build_cost_figure(summaries),
            "Cost per problem solved vs budget: a strategy earns its extra tokens only where this stays low.",
        ),
        (
            "break-even",
            build_break_even_figure(summaries),
            "Accuracy vs spend per problem; above the dashed line a strategy solves problems more cheaply than System 1.",
        ),
        (
            "difficulty",
            build_difficulty_figure(rows),
            "Accuracy by problem difficulty, each strategy at its largest budget: hard questions are where search can pay.",
        ),
    ]
    for left, right in ((charts[0], charts[1]), (charts[2], charts[3])):
        for column, (name, figure, caption) in zip(st.columns(2), (left, right), strict=True):
            with column:
                st.plotly_chart(figure, key=f"batch_chart_{name}", width="stretch")
                st.caption(caption)
                render_downloads(figure, f"batch-{shown}-{name}", f"batch_files_{name}")


poll_while(running, results, interval=REFRESH_SECONDS)

shown = st.session_state.get("batch_shown")
if store is None or shown is None:
    st.stop()
runs = [store.load_events(run_id) for run_id in store.batch_run_ids(shown) if run_id]
rows = store.load_batch_rows(shown)
if rows:
    render_optimal_section(rows, problem_bins(runs), store.batch_backends().get(shown))

st.header("How far to trust the verifier")
st.caption(
    "On this batch's own runs: pass@N (some answer written was right, the ceiling a perfect "
    "verifier could reach), selection accuracy (it chose a right answer when one existed), AUROC "
    "(how often a right answer outscores a wrong one; 0.5 is a coin toss) and the runs where it "
    "rated a wrong answer above every right one (open them in Replay)."
)
if runs:
    audited = [audit(runs, runs[0][0].verifier)]
    st.dataframe(
        audit_frame(audited),
        hide_index=True,
        width="stretch",
        column_config=column_help(AUDIT_TERMS),
    )
