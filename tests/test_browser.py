"""One real browser against `streamlit run`: the live page with the embedded model.

Debian's chromium is driven by Playwright (never a downloaded browser). It saves the README's
screenshot, docs/screenshot-live.png, and the click-to-first-node time in test-artifacts/.
"""

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SCREENSHOT = ROOT / "docs" / "screenshot-live.png"
# Nodes drawn in the first plotly figure on the page (the reasoning tree).
TREE_NODES_JS = """() => {
    const plot = document.querySelector('.js-plotly-plot');
    if (!plot || !plot.data) return 0;
    return plot.data.reduce((n, t) => n + (t.customdata ? t.customdata.length : 0), 0);
}"""

# Where a step node of the tree is on the screen: (node id, x, y) in CSS pixels, or null.
STEP_NODE_JS = """() => {
    const plot = document.querySelector('.js-plotly-plot');
    if (!plot || !plot.calcdata) return null;
    const xa = plot._fullLayout.xaxis, ya = plot._fullLayout.yaxis;
    const box = plot.getBoundingClientRect();
    for (const trace of plot.calcdata) {
        const data = trace[0].trace;
        if (!data.customdata || data.mode !== 'markers') continue;
        for (const point of trace) {
            const node = data.customdata[point.i];
            if (node === 'root' || !Number.isFinite(point.x)) continue;
            return [node, box.left + xa._offset + xa.l2p(point.x),
                    box.top + ya._offset + ya.l2p(point.y)];
        }
    }
    return null;
}"""

# The text of the branches being written, as shown in the live panel (st.text elements after
# the "Being written now" heading, up to the next heading).
LIVE_TEXT_JS = """() => {
    const headings = [...document.querySelectorAll('p, strong')];
    const heading = headings.find(e => e.innerText.startsWith('Being written now'));
    if (!heading) return '';
    const after = (a, b) => a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING;
    const next = headings.find(
        e => after(heading, e) && /^(Last finished steps|Why the search)/.test(e.innerText));
    const texts = [...document.querySelectorAll('[data-testid="stText"]')];
    return texts.filter(t => after(heading, t) && (!next || after(t, next)))
        .map(t => t.innerText.trim()).join('\\n');
}"""

pytestmark = [pytest.mark.browser, pytest.mark.model]


@contextlib.contextmanager
def browser_page(width: int, height: int) -> Iterator:
    """A page of Debian's headless chromium at this viewport; the browser closes after."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser.new_page(viewport={"width": width, "height": height})
        finally:
            browser.close()


def text_growth(page, seconds: float) -> float | None:
    """The longest time the model's text on the page went without growing while a node was
    being written, sampled every 0.1 s for `seconds` (None: no two changes seen)."""
    last_text, last_change, longest = page.evaluate(f"({LIVE_TEXT_JS})()"), time.monotonic(), None
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        page.wait_for_timeout(100)
        text = page.evaluate(f"({LIVE_TEXT_JS})()")
        now = time.monotonic()
        if not text:  # between levels nothing is being written: that is not a stall
            last_text, last_change = "", None
        elif text != last_text:
            if last_change is not None and last_text:
                longest = max(longest or 0.0, now - last_change)
            last_text, last_change = text, now
    return None if longest is None else round(longest, 2)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_health(url: str, server: subprocess.Popen, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, "streamlit exited before it served the app"
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"streamlit did not answer at {url} within {seconds:.0f} s")


def need_chromium() -> None:
    """Skip without Debian's chromium; on CI it must be there (./dev.sh test installs it)."""
    if CHROMIUM.exists():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{CHROMIUM} is missing on CI: install Debian's chromium (./dev.sh test does)")
    pytest.skip(f"{CHROMIUM} is not installed: apt-get install chromium (./dev.sh test does it)")


@contextlib.contextmanager
def served_app(tmp_path: Path, **settings: str | None) -> Iterator[str]:
    """`streamlit run app.py` on a free 127.0.0.1 port with its own data directory; yields its
    URL. `settings` set (or, with None, remove) environment variables such as
    DELIBERATE_PROVIDER."""
    port = free_port()
    env = {**os.environ, "DELIBERATE_DATA_DIR": str(tmp_path / "data")}
    for name, value in settings.items():
        env.pop(name, None) if value is None else env.__setitem__(name, value)
    log = (tmp_path / "streamlit.log").open("w")
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true"),
            *("--server.port", str(port), "--server.address", "127.0.0.1"),
            *("--browser.gatherUsageStats", "false"),
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(url, server)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture
def app_url(tmp_path):
    need_chromium()
    with served_app(tmp_path, DELIBERATE_PROVIDER=None) as url:  # the real embedded model
        yield url


def test_live_run_grows_a_tree_in_a_real_browser(app_url):

    with browser_page(1500, 2000) as page:
        page.goto(app_url)
        page.get_by_text("Watch a model think").wait_for(timeout=60_000)
        sidebar = page.get_by_test_id("stSidebar")
        # The model line, not the speed note that names the model too.
        sidebar.get_by_text("Model: Qwen2.5-Coder-0.5B", exact=False).wait_for()
        # A small budget with the keyboard, under Advanced: N 4 -> 2 and depth 6 -> 2
        # (slider 0 is the plain thinking control, 1 N, 2 the beam width, 3 the depth).
        sidebar.get_by_text("Advanced: N, beam width, depth", exact=False).click()
        sliders = sidebar.get_by_role("slider")
        for index, presses in ((1, 1), (3, 4)):
            sliders.nth(index).focus()
            for _ in range(presses):
                sliders.nth(index).press("ArrowLeft")
            page.wait_for_timeout(300)
        page.get_by_text("2 beams of width 2", exact=False).wait_for()
        page.wait_for_timeout(500)

        # Warm timings: the model loads in the background when the app starts.
        page.get_by_text("Loading the model", exact=False).wait_for(
            state="detached", timeout=180_000
        )
        page.get_by_role("button", name=re.compile(r"^Run\b")).click()
        clicked = time.monotonic()
        # The model's words are on the page while its first node is still being written.
        page.wait_for_function(f"/[A-Za-z0-9]/.test(({LIVE_TEXT_JS})())", timeout=180_000)
        first_text = time.monotonic() - clicked
        page.wait_for_function(f"({TREE_NODES_JS})() > 1", timeout=60_000)
        assert page.get_by_text("Being written now").count() == 1
        # The README's screenshot: a few words in, if the step is long enough.
        with contextlib.suppress(Exception):
            page.wait_for_function(f"({LIVE_TEXT_JS})().length > 60", timeout=8_000)
        SCREENSHOT.parent.mkdir(exist_ok=True)
        # Streamlit scrolls inside its main container, so the viewport is the screenshot.
        page.screenshot(path=str(SCREENSHOT))  # the README's: mid-run, text being written
        growth = text_growth(page, seconds=6.0)
        page.wait_for_function(f"({TREE_NODES_JS})() > 1", timeout=180_000)
        first_node = time.monotonic() - clicked

        # A click on a node while the run goes on shows that node's text and numbers (the click
        # waits for the live fragment's streaming rerun to end, about 1.2 s).
        node, x, y = page.evaluate(f"({STEP_NODE_JS})()")
        running = page.get_by_role("button", name=re.compile(r"^Stop\b")).is_enabled()
        page.mouse.click(x, y)
        pressed = time.monotonic()
        page.get_by_role("heading", name=f"Node {node}").wait_for(timeout=30_000)
        node_shown = time.monotonic() - pressed

        finished = page.get_by_text("Finished:", exact=False)
        try:
            finished.wait_for(timeout=300_000)
        except Exception:  # too slow on this machine: Stop keeps everything, show that
            page.get_by_role("button", name=re.compile(r"^Stop\b")).click()
            page.get_by_text("The tree and costs so far are kept").wait_for(timeout=300_000)
        page.wait_for_timeout(1_500)  # let plotly finish drawing the last update
        nodes = page.evaluate(f"({TREE_NODES_JS})()")
        assert nodes > 1
        assert page.get_by_text("Traceback").count() == 0

        # The finished run is stored: the Replay page, reached through the sidebar, has it.
        sidebar.get_by_role("link", name="Replay").click()
        page.get_by_text("Scrubber: events replayed").wait_for(timeout=60_000)
        try:
            page.wait_for_function(f"({TREE_NODES_JS})() == {nodes}", timeout=60_000)
        except Exception:
            page.screenshot(path=str(ROOT / "test-artifacts" / "replay-mismatch.png"))
            shown = page.evaluate(f"({TREE_NODES_JS})()")
            raise AssertionError(f"Replay shows {shown} nodes, the live run {nodes}") from None
        assert page.get_by_text("Traceback").count() == 0
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / "browser-timings.json").write_text(
        json.dumps(
            {
                "click_to_first_text_seconds": round(first_text, 2),
                "click_to_first_node_seconds": round(first_node, 2),
                "node_click_to_its_text_seconds": round(node_shown, 2),
                "node_clicked_while_running": running,
                "longest_wait_for_new_text_seconds": growth,
                "tree_nodes": nodes,
            }
        )
    )


def test_a_fresh_servers_first_visit_to_a_page_address_runs_app_py(app_url):
    """Streamlit 1.67 runs a pages/ folder as a v1 app until some run calls st.navigation, so a
    fresh server's first visit to /compare would run that page alone (no sidebar, no session
    set-up); components/page_shell.py hands such a run to app.py."""

    with browser_page(1400, 1000) as page:
        page.goto(f"{app_url}/compare")
        page.get_by_role("heading", name="System 1 vs System 2").wait_for(timeout=60_000)
        sidebar = page.get_by_test_id("stSidebar")
        sidebar.get_by_role("link", name="Replay").wait_for(timeout=60_000)
        sidebar.get_by_text("Model: Qwen2.5-Coder-0.5B", exact=False).wait_for()
        assert page.get_by_text("Traceback").count() == 0
