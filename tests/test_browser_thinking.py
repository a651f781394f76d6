"""A node that is still thinking, in a real browser: native thinking on an OpenAI-compatible
reasoning server (a local fake that streams `reasoning_content`, then the answer, as llama.cpp's
server and vLLM do). The thinking grows on the page, marked as thinking, before any answer."""

import re
from pathlib import Path

import pytest

from tests.fake_api_server import FakeApiServer, Reply
from tests.test_browser import LIVE_TEXT_JS, browser_page, need_chromium, served_app

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
THINKING = [f"Thought {k}: in April 48 clips, in May half of 48 is 24. " for k in range(24)]
ANSWER = ["Natalia sold ", "48 + 24 = 72 ", "clips altogether. ", "The answer is \\boxed{72}."]


def chunk(choices: list[dict], usage: dict | None = None) -> dict:
    return {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "qwq",
            "choices": choices, "usage": usage}  # fmt: skip


def thinking_stream(payload: dict, number: int) -> Reply:
    """Every choice thinks for about 5 s (24 pieces, 0.2 s apart), then answers."""
    choices = range(payload.get("n", 1))
    items = [chunk([{"index": i, "delta": {"role": "assistant", "content": ""}} for i in choices])]
    for piece in THINKING:
        items += [chunk([{"index": i, "delta": {"reasoning_content": piece}}]) for i in choices]
    for piece in ANSWER:
        items += [chunk([{"index": i, "delta": {"content": piece}}]) for i in choices]
    items.append(chunk([{"index": i, "delta": {}, "finish_reason": "stop"} for i in choices]))
    written = len(choices) * (len(THINKING) * 14 + 14)
    usage = {"prompt_tokens": 120, "completion_tokens": written, "total_tokens": 120 + written}
    items.append(chunk([], usage))
    return Reply(stream=items, chunk_delay=0.2 / len(choices))


def test_a_thinking_node_shows_its_thinking_growing_before_its_answer(tmp_path):
    from playwright.sync_api import expect

    need_chromium()
    panel = f"({LIVE_TEXT_JS})()"
    with (
        FakeApiServer(thinking_stream) as api,
        served_app(tmp_path, DELIBERATE_PROVIDER="openai_compatible") as url,
        browser_page(1500, 1600) as page,
    ):
        page.goto(url)
        page.get_by_role("heading", name="Watch a model think").wait_for(timeout=60_000)
        sidebar = page.get_by_test_id("stSidebar")
        for label, value in (("Model", "qwq"), ("Server base URL", api.url)):
            field = sidebar.get_by_label(label, exact=True)
            field.fill(value)
            field.press("Enter")
            page.wait_for_timeout(800)
        sidebar.get_by_text("The model thinks natively", exact=False).click()
        page.wait_for_timeout(800)
        page.get_by_test_id("stSelectbox").filter(has_text="Strategy").click()
        page.get_by_role("option", name="native thinking", exact=True).click()
        page.wait_for_timeout(800)
        page.get_by_role("button", name=re.compile(r"^Run\b")).click()

        # Thinking words on the page, marked as thinking, while no answer is written yet.
        page.wait_for_function(f"/Thought \\d+/.test({panel})", timeout=60_000)
        expect(page.get_by_text("thinking (not yet answering)").first).to_be_visible()
        first = page.evaluate(panel)
        assert "Natalia sold" not in first
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "screenshot-thinking.png"))
        # It grows while the model thinks (the thinking lasts about 5 s).
        grew = (
            f"first => {{ const now = {panel}; "
            "return now !== first && /Thought \\d+/.test(now) && !now.includes('Natalia'); }"
        )
        page.wait_for_function(grew, arg=first, timeout=4_000)

        page.get_by_text("Finished:", exact=False).wait_for(timeout=120_000)
        assert page.get_by_text("Traceback").count() == 0
        assert api.payloads and api.payloads[0]["stream"] is True
