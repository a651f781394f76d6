"""Command line: run one strategy on one problem, replay an event stream, or run a batch."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from core.budget import DEEPCONF_VARIANTS, Budget
from core.events import from_json_lines, to_json_line
from core.ledger import Ledger
from core.problems.base import Problem
from core.problems.catalog import PROBLEM_SETS, custom_problem, find_problem, load_problem_set
from core.problems.jsonl import load_jsonl
from core.providers import registry
from core.providers.base import Provider
from core.providers.keys import find_key
from core.providers.prices import parse_price
from core.tree import ReasoningTree
from core.verifiers import VERIFIERS, make_verifier, verifier_parts
from core.verifiers.base import Verifier
from core.verifiers.served import KEY_VARIABLE, PrmServer
from deliberate.audit import audit, format_audit, split_runs
from deliberate.batch import rows_to_csv, summarize
from deliberate.otlp import otlp_json, send_spans
from deliberate.recordings import parse_run
from deliberate.report import format_ledger, format_summary, format_tree
from deliberate.runstore import RunStore
from deliberate.tracing import run_spans
from deliberate.worker import BatchWorker
from strategies import STRATEGIES

API_KINDS = [kind for kind in registry.REGISTRY if kind != "local"]


def verifier_name(text: str) -> str:
    """A verifier or a combination of them, checked before any run starts."""
    try:
        verifier_parts(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    return text


def _prm_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--prm-url",
        help=f"served_prm / shepherd_prm: the PRM server, e.g. http://localhost:8000 (a key, if "
        f"needed, from {KEY_VARIABLE})",
    )
    parser.add_argument("--prm-model", help="the served PRM's model name")
    parser.add_argument("--prm-price", help='the PRM\'s "input, output" dollars per million tokens')
    parser.add_argument("--prm-timeout", type=float, default=30.0, help="seconds per PRM call")


def _budget_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--verifier",
        type=verifier_name,
        default="arithmetic",
        help=f"one of {', '.join(VERIFIERS)}; or several joined by > (the first decides, the "
        f"next break ties) or + (their mean), e.g. served_prm+arithmetic",
    )
    _prm_args(parser)
    parser.add_argument(
        "--provider",
        default="local",
        choices=["local", *API_KINDS, "fake"],
        help="local (default), an API (keys from "
        + ", ".join(registry.provider_class(kind).key_variable for kind in API_KINDS)
        + ", never from arguments), or fake (tests)",
    )
    parser.add_argument(
        "--model", help="built-in model name or GGUF path (local), or the API's model name"
    )
    parser.add_argument("--base-url", help="the server's URL (openai_compatible; optional else)")
    parser.add_argument("--price", help='"input, output[, cached]" dollars per million tokens')
    parser.add_argument("--width", type=int, default=2, help="beam width M")
    parser.add_argument("--depth", type=int, default=8, help="maximum reasoning steps")
    parser.add_argument("--step-tokens", type=int, default=96)
    parser.add_argument(
        "--max-tokens", type=int, default=20_000, help="hard cap on generated tokens"
    )
    parser.add_argument(
        "--max-dollars", type=float, help="spending cap per run in dollars (default: none)"
    )
    parser.add_argument("--temperature", type=float, default=Budget.temperature)
    parser.add_argument("--top-p", type=float, default=0.95)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--aggregation", default="min", help="min | last | product | mean")
    parser.add_argument(
        "--selection", default=Budget.selection, help="score | weighted_vote | filtered_vote"
    )
    parser.add_argument(
        "--deepconf",
        choices=DEEPCONF_VARIANTS,
        default=Budget.deepconf,
        help="deepconf_online's bar: low keeps the warm-up's top 10%%, high its top 90%%",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m deliberate", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run one strategy on one problem")
    run.add_argument("--strategy", choices=sorted(STRATEGIES), default="beam_search")
    run.add_argument("--problem", default="curated:c01", help="e.g. curated:c07, gsm_symbolic:0:3")
    run.add_argument("--question", help="a custom problem text (overrides --problem)")
    run.add_argument("--answer", help="reference answer for --question (optional)")
    run.add_argument("--n", type=int, default=4, help="budget: samples / beams / expansions")
    run.add_argument("--jsonl", action="store_true", help="emit the event stream as JSON lines")
    run.add_argument("--full", action="store_true", help="print whole steps, not previews")
    _budget_args(run)

    check = commands.add_parser(
        "audit", help="how far to trust a verifier, on runs already made (batch --events)"
    )
    check.add_argument("file", type=Path)
    check.add_argument(
        "--rescore", default="", help="verifiers to re-score the stored answers with, e.g. program"
    )
    _prm_args(check)
    check.add_argument("--provider", default="local", choices=["local", *API_KINDS, "fake"])
    check.add_argument("--model", help="the model the re-scoring verifiers call, if any")
    check.add_argument("--base-url")
    check.add_argument("--price")

    replay = commands.add_parser("replay", help="rebuild and print a run from its JSONL events")
    replay.add_argument("file", type=Path)
    replay.add_argument("--full", action="store_true")

    otel = commands.add_parser(
        "export-otel",
        help="a run's JSONL events as OpenTelemetry spans (OpenInference): an OTLP JSON file "
        "and/or sent to a collector",
    )
    otel.add_argument("file", type=Path)
    otel.add_argument("--out", type=Path, help="write the OTLP JSON file here")
    otel.add_argument(
        "--endpoint",
        help="a collector's OTLP/HTTP URL, e.g. http://localhost:6006 (Phoenix); its key, if "
        "any, from OTEL_EXPORTER_OTLP_HEADERS",
    )
    otel.add_argument("--timeout", type=float, default=10.0, help="seconds to keep trying")

    batch = commands.add_parser("batch", help="problem set x strategies x budgets")
    batch.add_argument("--set", default="curated", help=f"one of {', '.join(PROBLEM_SETS)}")
    batch.add_argument("--file", type=Path, help="a JSONL problem file instead of --set")
    batch.add_argument(
        "--size", type=int, help="problems to take (default: 20 generated, all curated)"
    )
    batch.add_argument("--set-seed", type=int, default=0)
    batch.add_argument("--strategies", default="direct,chain_of_thought,best_of_n,beam_search")
    batch.add_argument("--budgets", default="1,4,16")
    batch.add_argument("--out", type=Path, default=Path("results.csv"))
    batch.add_argument("--events", type=Path, help="also write every run's events (JSONL)")
    batch.add_argument(
        "--concurrency",
        type=int,
        help="runs at once (API servers; the embedded model serves one at a time); default 1, "
        "or the stored batch's with --resume",
    )
    batch.add_argument(
        "--max-batch-dollars",
        type=float,
        help="spending cap for the whole batch: once reached, no new run starts and running "
        "ones stop before their next model call (calls already out still finish)",
    )
    batch.add_argument(
        "--resume",
        metavar="BATCH_ID",
        help="run the missing cells of a stored batch, with its stored problems, strategies, "
        "budgets, seeds, provider and verifier (the store is in DELIBERATE_DATA_DIR)",
    )
    _budget_args(batch)
    return parser


def make_provider(args: argparse.Namespace) -> Provider:
    """The backend the sidebar would build for the same choices; API keys come from the
    environment only, so that none lands in shell history."""
    if args.provider == "fake":
        from core.providers.fake import FakeProvider

        return FakeProvider()
    if args.provider == "local":
        return registry.make_provider("local", model=args.model)
    made = registry.provider_class(args.provider)
    if made.asks_url and not (args.base_url or "").strip():
        raise ValueError(
            f"--provider {args.provider} needs --base-url, the server's base URL, e.g. "
            f"http://localhost:8000/v1"
        )
    if not made.key_optional and not find_key(made.key_variable):
        raise ValueError(f"--provider {args.provider} needs an API key in {made.key_variable}")
    settings: dict[str, object] = {
        "model": args.model or registry.REGISTRY[args.provider].default_model
    }
    if args.base_url:
        settings["base_url"] = args.base_url
    if args.price:
        settings["price"] = parse_price(args.price)
    return registry.make_provider(args.provider, **settings)


def make_prm(args: argparse.Namespace) -> PrmServer | None:
    """The PRM server named by --prm-url and --prm-model, if any; its key from the environment."""
    if not (args.prm_url or args.prm_model):
        return None
    price = parse_price(args.prm_price) if args.prm_price else None
    return PrmServer.from_env(args.prm_url or "", args.prm_model or "", price, args.prm_timeout)


def make_budget(args: argparse.Namespace, n: int) -> Budget:
    return Budget(
        n=n,
        width=args.width,
        max_depth=args.depth,
        step_tokens=args.step_tokens,
        max_total_tokens=args.max_tokens,
        temperature=args.temperature,
        top_p=args.top_p,
        seed=args.seed,
        aggregation=args.aggregation,
        selection=args.selection,
        deepconf=args.deepconf,
        max_dollars=args.max_dollars,
    )


def cmd_run(args: argparse.Namespace) -> int:
    problem = (
        custom_problem(args.question, args.answer)
        if args.question is not None
        else find_problem(args.problem)
    )
    budget = make_budget(args, args.n)
    provider = make_provider(args)
    verifier = make_verifier(args.verifier, provider, make_prm(args))
    events = []
    for event in STRATEGIES[args.strategy](problem, provider, verifier, budget):
        events.append(event)
        if args.jsonl:
            print(to_json_line(event), flush=True)
    if not args.jsonl:
        print(format_tree(ReasoningTree.from_events(events), full=args.full))
        print(format_ledger(Ledger.from_events(events)))
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    with args.file.open(encoding="utf-8") as lines:
        events = from_json_lines(lines)
    print(format_tree(ReasoningTree.from_events(events), full=args.full))
    print(format_ledger(Ledger.from_events(events)))
    return 0


def cmd_export_otel(args: argparse.Namespace) -> int:
    if args.out is None and args.endpoint is None:
        raise ValueError("say where the spans go: --out FILE, --endpoint URL, or both")
    events = parse_run(args.file.read_bytes())
    spans = run_spans(events, args.file.stat().st_mtime)  # the file was last written as it ended
    if args.out is not None:
        args.out.write_text(otlp_json(spans), encoding="utf-8")
        print(f"{len(spans)} spans written to {args.out}")
    if args.endpoint is not None:
        url = send_spans(spans, args.endpoint, args.timeout)
        print(f"{len(spans)} spans sent to {url}")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    with args.file.open(encoding="utf-8") as lines:
        runs = split_runs(from_json_lines(lines))
    own = sorted({run[0].verifier for run in runs})
    audits = [audit([r for r in runs if r[0].verifier == name], name) for name in own]
    names = [n for n in args.rescore.split(",") if n]
    if names:
        provider = make_provider(args)
        prm = make_prm(args)
        audits += [audit(runs, f"{n} (re-scored)", make_verifier(n, provider, prm)) for n in names]
    print(format_audit(audits))
    return 0


def _progress(done: int, total: int, started: float) -> None:
    elapsed = time.perf_counter() - started
    left = elapsed / done * (total - done) if done else 0.0
    bar = "#" * (30 * done // total)
    sys.stderr.write(f"\r[{bar:<30}] {done}/{total} runs, {elapsed:.0f} s, ~{left:.0f} s left ")
    sys.stderr.flush()


def batch_setup(args: argparse.Namespace) -> dict[str, Any]:
    """The provider and verifier options a resume rebuilds the backend from (never a key)."""
    names = ("provider", "model", "base_url", "price", "verifier")
    names += ("prm_url", "prm_model", "prm_price", "prm_timeout")
    return {name: getattr(args, name) for name in names}


def _new_batch(args: argparse.Namespace, store: RunStore) -> BatchWorker:
    if args.file:
        problems: list[Problem] = load_jsonl(args.file)
    else:
        problems = load_problem_set(args.set, seed=args.set_seed, size=args.size or 20)
    problems = problems[: args.size] if args.size else problems
    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    budgets = [int(b) for b in args.budgets.split(",")]
    for n in budgets:
        make_budget(args, n)  # validate every budget before spending any compute
    setup = batch_setup(args)
    return BatchWorker(
        problems,
        strategies,
        budgets,
        lambda: _backend(setup),
        make_budget(args, 1),
        store,
        label=f"{len(problems)} problems × {', '.join(strategies)} × N={budgets} (CLI)",
        concurrency=args.concurrency or 1,
        max_batch_dollars=args.max_batch_dollars,
        setup=setup,
    )


def _backend(setup: dict[str, Any]) -> tuple[Provider, Verifier]:
    options = argparse.Namespace(**{"prm_url": None, "prm_model": None, **setup})
    provider = make_provider(options)
    return provider, make_verifier(setup["verifier"], provider, make_prm(options))


def cmd_batch(args: argparse.Namespace) -> int:
    store = RunStore()
    if args.resume:
        setup = store.batch(args.resume).config.get("setup") or {}
        if "provider" not in setup:
            raise ValueError(f"batch {args.resume} was not run from the command line: resume it "
                             "from the cost page")  # fmt: skip
        worker = BatchWorker.resume(
            store,
            args.resume,
            lambda: _backend(setup),
            concurrency=args.concurrency,
            max_batch_dollars=args.max_batch_dollars,
        )
    else:
        worker = _new_batch(args, store)
    sys.stderr.write(f"batch {worker.batch_id}: if it is cut off, --resume {worker.batch_id}\n")
    started = time.perf_counter()
    worker.start()
    try:
        while not worker.join(0.2):
            _progress(len(worker.rows()), worker.total_runs, started)
    except KeyboardInterrupt:  # Ctrl-C: the runs under way stop at their next call, rows kept
        worker.stop()
        worker.join()
    rows = worker.rows()
    _progress(len(rows), worker.total_runs, started)
    sys.stderr.write("\n")
    args.out.write_text(rows_to_csv(rows), encoding="utf-8")
    if args.events:
        runs = [store.load_events(run_id) for run_id in store.batch_run_ids(worker.batch_id or "")]
        lines = (to_json_line(e) + "\n" for events in runs for e in events)
        args.events.write_text("".join(lines), encoding="utf-8")
    if rows:
        print(format_summary(summarize(rows)))
    print(f"results: {args.out}")
    if worker.status == "complete":
        return 0
    if worker.status == "error":
        print(f"error: {worker.message}", file=sys.stderr)
    else:
        print(f"The batch was {worker.message}.")
    print(f"Rows kept; run the missing cells with --resume {worker.batch_id}")
    return 2 if worker.status == "error" else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    commands = {
        "run": cmd_run,
        "replay": cmd_replay,
        "batch": cmd_batch,
        "audit": cmd_audit,
        "export-otel": cmd_export_otel,
    }
    try:
        return commands[args.command](args)
    except (ValueError, RuntimeError, OSError, KeyError) as exc:
        print(f"error: {exc.args[0] if isinstance(exc, KeyError) else exc}", file=sys.stderr)
        return 2
