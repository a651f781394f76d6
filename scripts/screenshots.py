"""Retake the README's presenter-view and teaching-mode screenshots from shipped recordings.

    .venv/bin/python scripts/screenshots.py

Serves the app like the browser tests (tests/test_browser.py: `streamlit run` on a free port,
DELIBERATE_PROVIDER=fake so no page loads the embedded model; Replay needs no model at all) and
drives Debian's chromium with Playwright. Writes docs/screenshot-presenter.png (a deck run
replayed midway in presenter view) and docs/screenshot-teaching.png (teaching mode: the replay
held at the moment of choice, asking for a guess, beside the sentences saying why).
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import Page

from tests.test_browser import ROOT, browser_page, served_app
from tests.test_presenter_browser import SCRUBBER_JS

VIEWPORT = {"width": 1600, "height": 900}
TALL = {"width": 1600, "height": 2400}
# Presenter view: beam search (N=4) on c13 at event 480 of 540, its four depth-3 branches half
# written and the prunes of depths 1 and 2 explained beside the tree.
PRESENTER_RUN, PRESENTER_AT = "deck · c13-system2", 480
TEACHING_RUN = "deck · c22-system2"  # two answers on the tree to choose between


def pick_run(page: Page, run: str) -> None:
    """On Replay, pick the shipped recording labelled `run`."""
    page.get_by_text("Scrubber: events replayed").wait_for(timeout=60_000)
    expander = page.get_by_text("Run to replay")
    if expander.count():  # presenter view keeps the choice in an expander
        expander.click()
    page.get_by_role("combobox", name="Run").click()
    page.keyboard.type(run.split(" · ")[-1])  # the list is long: filter it
    page.get_by_role("option", name=f"Recorded demo · {run}").click()
    page.wait_for_function(f"({SCRUBBER_JS})() != -1")
    page.wait_for_timeout(2_000)


def scrub_to(page: Page, index: int) -> None:
    """Move the replay's scrubber to event `index` with the keyboard, one event per rerun (a key
    pressed while the page reruns can be lost), then scroll it to the top of the screen."""
    scrubber = page.locator('input[type="range"][aria-label^="Scrubber"]')
    while (at := page.evaluate(f"({SCRUBBER_JS})()")) != index:
        scrubber.press("ArrowLeft" if at > index else "ArrowRight")
        page.wait_for_timeout(150)
    page.wait_for_timeout(3_000)  # the figures redrawn
    label = page.get_by_text("Scrubber: events replayed")  # to the top, below the header
    label.evaluate("e => { e.style.scrollMarginTop = '4rem'; e.scrollIntoView(); }")
    page.mouse.move(0, 0)


def presenter(page: Page, url: str) -> None:
    page.goto(f"{url}/replay?present=1")
    pick_run(page, PRESENTER_RUN)
    page.get_by_text("Run to replay").click()  # fold the choice away again
    scrub_to(page, PRESENTER_AT)
    page.screenshot(path=str(ROOT / "docs" / "screenshot-presenter.png"))


def teaching(page: Page, url: str) -> None:
    page.set_viewport_size(TALL)  # the question sits below the tree, its PRM chart and costs
    page.goto(f"{url}/replay")
    page.get_by_text("Teaching mode").click()
    pick_run(page, TEACHING_RUN)
    lock = page.get_by_role("button", name="Lock in my guess")
    play = page.get_by_role("button", name=re.compile(r"^Play\b"))
    for _ in range(300):  # Play until the replay holds at the choice and asks (a stale
        if lock.count():  # scrubber value sent by the browser can stop it short)
            break
        if play.count():
            play.click()
        page.wait_for_timeout(1_000)
    page.wait_for_timeout(3_000)  # the figures redrawn
    page.mouse.move(0, 0)
    main = page.get_by_test_id("stMainBlockContainer").bounding_box()
    top = page.get_by_text("Scrubber: events replayed").bounding_box()["y"] - 16
    bottom = lock.bounding_box()
    clip = {"x": main["x"], "y": top, "width": main["width"]}
    clip["height"] = bottom["y"] + bottom["height"] + 32 - top
    page.screenshot(path=str(ROOT / "docs" / "screenshot-teaching.png"), clip=clip)


def main() -> None:
    with (
        tempfile.TemporaryDirectory() as tmp,
        served_app(Path(tmp), DELIBERATE_PROVIDER="fake") as url,
    ):
        for shot in (presenter, teaching):
            with browser_page(VIEWPORT["width"], VIEWPORT["height"]) as page:
                shot(page, url)


if __name__ == "__main__":
    main()
