"""The live page as a viewer sees it (issue 17): click to first words, text update gaps, and what
watching costs the model.

.venv/bin/python benchmarks/live_page.py                          # the 0.5B, 3 runs
.venv/bin/python benchmarks/live_page.py --model qwen2.5-coder-1.5b --runs 2

Starts `streamlit run app.py` on a free port with Debian's chromium (headless, Playwright), waits
for the model's background load, then runs beam search (N=4, width 2, depth 2) on curated
problems: seconds from the Run click to the first model-written words on the page, the longest
wait for new text while a branch is being written, and generated tokens per second with the page
watching. Then the server stops and the same runs (same seeds) go without any page, for the
tokens per second of nobody watching. Run it on a quiet machine (check `uptime`).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.budget import Budget
from core.ledger import Ledger
from core.problems.catalog import find_problem
from core.providers import registry
from core.verifiers import make_verifier
from deliberate.runstore import RunStore
from strategies import STRATEGIES
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, LIVE_TEXT_JS, free_port, wait_for_health

ROOT = Path(__file__).resolve().parent.parent
PROBLEMS = ["curated:c01", "curated:c05", "curated:c09", "curated:c02", "curated:c03"]


def tokens_per_second(events) -> float:
    generation = Ledger.from_events(events).role("generation")
    return generation.output_tokens / generation.seconds if generation.seconds else 0.0


def watch(page, run_seconds: float) -> tuple[float, float | None]:
    """Click Run; (seconds to the first words on the page, longest wait for new text)."""
    page.get_by_role("button", name=re.compile(r"^Run\b")).click()
    clicked = time.monotonic()
    page.wait_for_function(f"/[A-Za-z0-9]/.test(({LIVE_TEXT_JS})())", timeout=120_000)
    first = time.monotonic() - clicked
    last_text, last_change, longest = "", None, None
    deadline = time.monotonic() + run_seconds
    while time.monotonic() < deadline:
        if page.get_by_text("Finished:", exact=False).count():
            break
        text = page.evaluate(f"({LIVE_TEXT_JS})()")
        now = time.monotonic()
        if not text:  # between levels nothing is being written: not a stall
            last_text, last_change = "", None
        elif text != last_text:
            if last_change is not None and last_text:
                longest = max(longest or 0.0, now - last_change)
            last_text, last_change = text, now
        page.wait_for_timeout(50)
    page.get_by_text("Finished:", exact=False).wait_for(timeout=300_000)
    return first, longest


def with_page(model: str, problems: list[str], data: Path) -> list[tuple[float, float | None]]:
    from playwright.sync_api import sync_playwright

    port = free_port()
    env = {**os.environ, "DELIBERATE_DATA_DIR": str(data), "DELIBERATE_MODEL": model}
    env.pop("DELIBERATE_PROVIDER", None)
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true"),
            *("--server.port", str(port), "--server.address", "127.0.0.1"),
            *("--browser.gatherUsageStats", "false"),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    out = []
    try:
        wait_for_health(url, server)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            page.goto(url)
            page.get_by_text("Watch a model think").wait_for(timeout=60_000)
            sidebar = page.get_by_test_id("stSidebar")
            sidebar.get_by_text("Model: Qwen2.5-Coder", exact=False).wait_for(timeout=60_000)
            # Under Advanced (slider 0 is the plain thinking control, 3 the depth): 6 -> 2.
            sidebar.get_by_text("Advanced: N, beam width, depth", exact=False).click()
            depth = sidebar.get_by_role("slider").nth(3)
            depth.wait_for(timeout=60_000)
            depth.focus()
            for _ in range(4):
                depth.press("ArrowLeft")
                page.wait_for_timeout(300)
            page.wait_for_timeout(1_000)
            while page.get_by_text("Loading the model", exact=False).count():
                page.wait_for_timeout(500)  # the model loads in the background: warm runs only
            for problem in problems:
                page.get_by_label("Curated problem", exact=False).click()
                page.get_by_role("option", name=problem.split(":")[1], exact=False).first.click()
                page.wait_for_timeout(800)
                out.append(watch(page, run_seconds=600))
                page.wait_for_timeout(1_000)
            browser.close()
    finally:
        server.terminate()
        server.wait(30)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-coder-0.5b")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    problems = PROBLEMS[: args.runs]
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        watched = with_page(args.model, problems, data)
        runs = RunStore(data).list_runs()
        seen = [tokens_per_second(RunStore(data).load_events(r.run_id)) for r in runs]
        provider = registry.make_provider("local", model=args.model)
        verifier = make_verifier("arithmetic", provider)
        alone = []
        for run in runs:
            events = RunStore(data).load_events(run.run_id)
            problem = find_problem(f"curated:{events[0].problem_id.split(':')[-1]}")
            budget = Budget(**{**events[0].budget})
            alone.append(
                tokens_per_second(
                    list(STRATEGIES["beam_search"](problem, provider, verifier, budget))
                )
            )
    print(f"{args.model}: beam search N=4 width 2 depth 2, {len(watched)} runs, page open")
    for problem, (first, gap) in zip(problems, watched, strict=True):
        print(f"  {problem}: first words {first:.2f} s after the click, longest text wait {gap} s")
    print(f"  click to first words: median {statistics.median(w[0] for w in watched):.2f} s")
    gaps = [g for _, g in watched if g is not None]
    print(f"  longest text wait: {max(gaps) if gaps else None} s")
    print(
        f"  tokens/s watched {statistics.mean(seen):.1f}, alone {statistics.mean(alone):.1f} "
        f"({100 * (1 - statistics.mean(seen) / statistics.mean(alone)):+.0f}% while watched)"
    )


if __name__ == "__main__":
    main()
