"""The live page as a viewer sees it (issue 17): click to first words, text update gaps, what the
page costs in CPU, and what watching costs the model.

.venv/bin/python benchmarks/live_page.py                          # the 0.5B, 3 runs
.venv/bin/python benchmarks/live_page.py --model qwen2.5-coder-1.5b --runs 2
nice -n 19 .venv/bin/python benchmarks/live_page.py --provider fake   # no model: 20 tokens/s

Starts `streamlit run app.py` on a free port with Debian's chromium (headless, Playwright), waits
for the model's background load, then runs beam search (N=4, width 2, depth 2) on curated
problems: seconds from the Run click to the first model-written words on the page, the longest
wait for new text while a branch is being written, CPU seconds per second of run used by the
streamlit server and by chromium (all its processes), the script time of each live fragment
rerun, what the server did during each wait over 0.5 s (from its fragment log), and generated
tokens per second with the page watching. Then the server stops and the
same runs (same seeds) go without any page, for the tokens per second of nobody watching: at
the app's llama.cpp thread count (core.providers.local.page_threads), then at every core.
`--provider fake` runs the same code on the scripted fake provider writing model-length steps at
`--pace` tokens per second per sequence (DELIBERATE_FAKE_PACE). Run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from components.settings import MANUAL_KEY
from core.budget import Budget
from core.events import NodeText
from core.ledger import Ledger
from core.problems.catalog import find_problem
from core.providers.choice import FAKE_PACE_ENV, PROVIDER_ENV, fake_choice, local_choice
from core.providers.local import LocalProvider, page_threads
from core.providers.local_model import MODELS, model_path
from core.verifiers import make_verifier
from deliberate.runstore import RunStore
from strategies import STRATEGIES
from tests.test_browser import LIVE_TEXT_JS, browser_page, free_port, wait_for_health

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"  # a failure's screenshot and the server's log
PROBLEMS = ["curated:c01", "curated:c05", "curated:c09", "curated:c02", "curated:c03"]
# `streamlit run`, with the live fragments' DEBUG timings (components.run_view) in a file.
LAUNCH = """import logging, sys
handler = logging.FileHandler(sys.argv.pop(1))
handler.setFormatter(logging.Formatter("%(created).3f %(message)s"))
log = logging.getLogger("components.run_view")
log.setLevel(logging.DEBUG)
log.addHandler(handler)
sys.argv[0] = "streamlit"
from streamlit.web.cli import main
main()
"""
TICK = os.sysconf("SC_CLK_TCK")
SAME_REDRAW = 0.05  # seconds


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds used so far by `pids` (those still alive)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICK


def chromium_pids() -> list[int]:
    """Every chromium process under this one (Playwright's driver starts the browser)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):
            continue

    def ours(pid: int) -> bool:
        while pid > 1:
            pid = parents.get(pid, 0)
            if pid == os.getpid():
                return True
        return False

    return [
        pid
        for pid in parents
        if ours(pid)
        and "chromium" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    ]


def local_provider(name: str, threads: int) -> LocalProvider:
    """A fresh provider for the built-in model `name` at `threads` llama.cpp threads."""
    return LocalProvider(model_path(name), MODELS[name].label, threads)


def tokens_per_second(events) -> float:
    generation = Ledger.from_events(events).role("generate")
    return generation.output_tokens / generation.seconds if generation.seconds else 0.0


# Records, in the page, when the text being written changes: a MutationObserver costs the
# browser nothing between redraws, where polling the page from here would cost it every time.
OBSERVE_JS = f"""() => {{
    const read = {LIVE_TEXT_JS};
    window.__live = {{click: performance.now(), origin: performance.timeOrigin, changes: []}};
    let last = '';
    new MutationObserver(() => {{
        const text = read();
        if (text !== last) {{ window.__live.changes.push([performance.now(), text]); last = text; }}
    }}).observe(document.body, {{subtree: true, childList: true, characterData: true}});
}}"""


def redraws(changes: list[tuple[float, str]]) -> list[tuple[float, str]]:
    """(time, panel text) of each redraw: one redraw updates the panel's lines one element at a
    time, so the changes within SAME_REDRAW seconds of a redraw's first are that redraw (its
    time, its last text), not waits of their own."""
    grouped: list[tuple[float, str]] = []
    for at, text in changes:
        if grouped and at - grouped[-1][0] < SAME_REDRAW:
            grouped[-1] = (grouped[-1][0], text)
        else:
            grouped.append((at, text))
    return grouped


def watch(page, server: int) -> dict[str, Any]:
    """Click Run and follow the run to its end: seconds to the first words on the page, the
    longest wait for new text (and every wait once words show), and CPU seconds per second of
    run (server, chromium)."""
    browsers = chromium_pids()
    before = time.monotonic(), cpu_seconds([server]), cpu_seconds(browsers)
    page.evaluate(OBSERVE_JS)
    page.get_by_role("button", name=re.compile(r"^Run\b")).click()
    stop = page.get_by_role("button", name=re.compile(r"^Stop\b"))
    deadline = time.monotonic() + 900
    page.wait_for_timeout(1_000)
    while stop.is_enabled():  # the run is over when the page is redrawn with Stop disabled
        if time.monotonic() > deadline:
            raise TimeoutError("the run did not end within 900 s")
        page.wait_for_timeout(1_000)
    seconds = time.monotonic() - before[0]
    live = page.evaluate("() => window.__live")
    # Seconds since the epoch, the clock of the server's fragment log.
    changes = redraws([((live["origin"] + t) / 1000, text) for t, text in live["changes"]])
    click = (live["origin"] + live["click"]) / 1000
    worded = [t for t, text in changes if re.search(r"[A-Za-z0-9]", text)]
    if not worded:
        raise RuntimeError("no model text appeared on the page")
    # Between levels nothing is being written (an empty panel): not a stall.
    gaps = [(a[0], b[0], a[1]) for a, b in itertools.pairwise(changes) if a[1] and b[1]]
    # Once words are on the panel: the wait before a level's first words (its prompt being
    # read) is counted above, under "first words", and in "gap" but not in "flow".
    spans = [(a, b) for a, b, text in gaps if re.search(r"[A-Za-z0-9]", text.replace("…", ""))]
    flowing = [b - a for a, b in spans]
    return {
        "first": worded[0] - click,
        "gap": max((b - a for a, b, _ in gaps), default=None),
        "flow": max(flowing, default=None),
        "flows": flowing,
        "spans": spans,
        "seconds": seconds,
        "server": (cpu_seconds([server]) - before[1]) / seconds,
        "chromium": (cpu_seconds(browsers) - before[2]) / seconds,
    }


def with_page(env: dict[str, str], model_line: str, problems: list[str], log: Path) -> list[dict]:
    port = free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    server = subprocess.Popen(
        [
            *(sys.executable, "-c", LAUNCH, str(log), "run", "app.py", "--server.headless", "true"),
            *("--server.port", str(port), "--server.address", "127.0.0.1"),
            *("--browser.gatherUsageStats", "false"),
        ],
        cwd=ROOT,
        env=env,
        stdout=(ARTIFACTS / "live-page-server.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    out = []
    try:
        wait_for_health(url, server)
        with browser_page(1500, 1000) as page:
            page.set_default_timeout(120_000)  # a busy machine: slow, not stuck
            try:
                # Depth 2 through the address the settings are bound to (a reload keeps them).
                page.goto(f"{url}/?{MANUAL_KEY}=1&set_depth=2")
                page.get_by_text("Watch a model think").wait_for()
                sidebar = page.get_by_test_id("stSidebar")
                sidebar.get_by_text(model_line, exact=False).wait_for()
                sidebar.get_by_text("Advanced settings in use", exact=False).wait_for()
                # Warm runs only: the model loads in the background.
                page.get_by_text("Loading the model", exact=False).wait_for(
                    state="detached", timeout=600_000
                )
                for problem in problems:
                    # Each run on a freshly loaded page: a first run, with nothing on the panel
                    # from the run before (the address keeps the settings).
                    page.reload()
                    page.locator(".js-plotly-plot").first.wait_for()  # the problem's tree
                    page.get_by_label("Curated problem", exact=False).click()
                    page.get_by_role(
                        "option", name=problem.split(":")[1], exact=False
                    ).first.click()
                    page.wait_for_timeout(1_000)
                    out.append(watch(page, server.pid))
                    page.wait_for_timeout(1_000)
            except Exception:
                page.screenshot(path=str(ARTIFACTS / "live-page-failed.png"))
                raise
    finally:
        server.terminate()
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:  # a loaded machine: a slow shutdown is not a result
            server.kill()
            server.wait()
    return out


@dataclass(frozen=True)
class Rerun:
    """One live fragment rerun, from the server's log."""

    fragment: str  # "text" or "tree"
    end: float  # seconds since the epoch
    wall: float  # ms of script time
    cpu: float  # ms of the script thread's CPU
    text: int | None  # a text rerun: the CRC of the text being written that it drew

    @property
    def start(self) -> float:
        return self.end - self.wall / 1000


def reruns(log: Path) -> list[Rerun]:
    pattern = r"([\d.]+) (\w+) fragment ([\d.]+) ms, CPU ([\d.]+) ms(?:, text (\d+))?"
    found = []
    for line in log.read_text().splitlines():
        if match := re.fullmatch(pattern, line):
            end, name, wall, cpu, text = match.groups()
            drawn = None if text is None else int(text)
            found.append(Rerun(name, float(end), float(wall), float(cpu), drawn))
    return found


def split_wait(span: tuple[float, float], log: list[Rerun]) -> tuple[float, float, bool]:
    """A wait for new text, split: (seconds until a text rerun drew new text, seconds more until
    the page showed it, whether a tree redraw ran in the wait). With no rerun drawing new text
    in the wait, the first part is the whole wait and the second 0."""
    start, end = span
    # A rerun sends its text as it draws, before its log line: it is placed at its start.
    texts = [r for r in log if r.fragment == "text"]
    shown = [r.text for r in texts if r.start <= start][-1:]
    new = [r for r in texts if start < r.start <= end and [r.text] != shown]
    tree = any(r.fragment == "tree" and r.start < end and r.end > start for r in log)
    drawn = new[0].start if new else end
    return drawn - start, end - drawn, tree


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--provider", choices=("local", "fake"), default="local")
    parser.add_argument("--model", default="qwen2.5-coder-0.5b", help="the local model")
    parser.add_argument("--pace", type=float, default=20.0, help="fake: tokens/s per sequence")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    problems = PROBLEMS[: args.runs]
    env = {**os.environ}
    if args.provider == "fake":
        env.update({PROVIDER_ENV: "fake", FAKE_PACE_ENV: str(args.pace)})
        os.environ[FAKE_PACE_ENV] = str(args.pace)
        choice, name = fake_choice(), f"fake provider at {args.pace:g} tokens/s per sequence"
    else:
        env.pop(PROVIDER_ENV, None)
        env["DELIBERATE_MODEL"] = args.model
        choice, name = local_choice(args.model), args.model
    with tempfile.TemporaryDirectory() as tmp:
        data, log = Path(tmp) / "data", Path(tmp) / "fragments.log"
        env["DELIBERATE_DATA_DIR"] = str(data)
        watched = with_page(env, f"Model: {choice.model}", problems, log)
        log_reruns = reruns(log)
        store = RunStore(data)
        runs = [store.load_events(r.run_id) for r in store.list_runs(source="live")]
        seen = [tokens_per_second(events) for events in runs]
        # Run start to the first NodeText: the server's part of the click-to-words wait.
        written = [next(e.at for e in events if isinstance(e, NodeText)) for events in runs]
        # No page: at the app's thread count (the same run), then at every core (the CLI's).
        threads = [page_threads(), os.cpu_count() or 2] if args.provider == "local" else [0]
        alone: dict[int, float] = {}
        for count in dict.fromkeys(threads):
            provider = local_provider(args.model, count) if count else choice.make()
            verifier = make_verifier("arithmetic", provider)
            speeds = []
            for events in runs:
                problem = find_problem(f"curated:{events[0].problem_id.split(':')[-1]}")
                budget = Budget(**{**events[0].budget})
                strategy = STRATEGIES["beam_search"](problem, provider, verifier, budget)
                speeds.append(tokens_per_second(list(strategy)))
            alone[count] = statistics.mean(speeds)
            del provider, verifier
    print(f"{name}: beam search N=4 width 2 depth 2, {len(watched)} runs, page open")
    for problem, w in zip(problems, watched, strict=True):
        gap = "none seen" if w["gap"] is None else f"{w['gap']:.2f} s"
        print(
            f"  {problem}: first words {w['first']:.2f} s after the click, longest text wait "
            f"{gap}, run {w['seconds']:.1f} s, CPU s/s server {w['server']:.2f} "
            f"chromium {w['chromium']:.2f}"
        )
    print(f"  click to first words: median {statistics.median(w['first'] for w in watched):.2f} s")
    print(
        f"  run start to first streamed text (server side): median {statistics.median(written):.2f} s"
    )
    for label, which in (("longest text wait", "gap"), ("once words show", "flow")):
        gaps = [w[which] for w in watched if w[which] is not None]
        print(f"  {label}: {f'{max(gaps):.2f} s' if gaps else 'none seen'}")
    flows = sorted(itertools.chain.from_iterable(w["flows"] for w in watched))
    if flows:
        within = sum(gap <= 0.5 for gap in flows) / len(flows)
        print(
            f"  waits for new text once words show: {len(flows)}, median "
            f"{statistics.median(flows):.2f} s, 90th percentile "
            f"{flows[int(0.9 * (len(flows) - 1))]:.2f} s, {within:.1%} within 0.5 s"
        )
    for who in ("server", "chromium"):
        print(
            f"  CPU seconds per run second, {who}: {statistics.mean(w[who] for w in watched):.2f}"
        )
    spans = itertools.chain.from_iterable(w["spans"] for w in watched)
    long = [split_wait(s, log_reruns) for s in spans if s[1] - s[0] > 0.5]
    if long:
        server, page, trees = zip(*long, strict=True)
        print(
            f"  waits over 0.5 s: {len(long)}, {sum(trees)} with a tree redraw in them; median "
            f"{statistics.median(server):.2f} s until a rerun drew new text, then "
            f"{statistics.median(page):.2f} s until the page showed it"
        )
    for fragment in ("text", "tree"):
        times = [(r.wall, r.cpu) for r in log_reruns if r.fragment == fragment]
        if not times:
            continue
        wall, cpu = zip(*times, strict=True)
        print(
            f"  {fragment} fragment: {len(times)} reruns, script time median {statistics.median(wall):.1f}"
            f" ms (CPU {statistics.median(cpu):.1f} ms), max {max(wall):.1f} ms; "
            f"{sum(cpu) / 1000 / sum(w['seconds'] for w in watched):.3f} CPU s per run second"
        )
    watched_speed = statistics.mean(seen)
    for count, speed in alone.items():
        at = f" at {count} llama.cpp thread{'s' if count > 1 else ''}" if count else ""
        print(
            f"  tokens/s watched {watched_speed:.1f}, no page{at} {speed:.1f} "
            f"({100 * (watched_speed / speed - 1):+.0f}% while watched)"
        )


if __name__ == "__main__":
    main()
