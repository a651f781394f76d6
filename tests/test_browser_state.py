"""In a real browser against `streamlit run` on the scripted fake provider: values typed into the
sidebar's provider fields and a custom problem survive switching provider and page, and a reload
keeps them (through the page's address) but never the API key. (AppTest cannot show the loss
inside the whole app: its later runs end in st.stop(), which drops no widget state; see
tests/test_widget_state.py.)"""

import pytest

from tests.test_browser import browser_page, need_chromium, served_app

pytestmark = pytest.mark.browser

URL = "http://localhost:8123/v1"
QUESTION = "What is 12 * 12?"
KEY = "sk-browser-secret-0123456789"
PRICE_LABEL = "Price override: input, output $ per million tokens (optional)"


@pytest.fixture
def fake_app_url(tmp_path):
    need_chromium()
    with served_app(tmp_path, DELIBERATE_PROVIDER="fake") as url:
        yield url


def choose_provider(page, label: str) -> None:
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_test_id("stSelectbox").filter(has_text="Provider").click()
    page.get_by_role("option", name=label, exact=True).click()


def test_typed_values_survive_provider_and_page_switches(fake_app_url):
    from playwright.sync_api import expect

    with browser_page(1400, 1000) as page:
        page.goto(fake_app_url)
        page.get_by_role("heading", name="Watch a model think").wait_for(timeout=60_000)
        sidebar = page.get_by_test_id("stSidebar")
        choose_provider(page, "OpenAI-compatible server")
        base_url = sidebar.get_by_label("Server base URL")
        base_url.fill(URL)
        base_url.press("Enter")
        page.wait_for_timeout(1000)  # the rerun that takes the typed value
        page.get_by_text("Custom", exact=True).click()
        question = page.get_by_label("Your problem")
        question.fill(QUESTION)
        question.press("Control+Enter")
        answer = page.get_by_label(
            "Reference answer (optional: without it, correctness is unknown)"
        )
        answer.fill("144")
        answer.press("Enter")
        page.wait_for_timeout(1000)

        choose_provider(page, "OpenAI")
        sidebar.get_by_label("Server base URL").wait_for(state="detached")
        sidebar.get_by_role("link", name="Replay").click()
        page.get_by_role("heading", name="Replay").wait_for(timeout=30_000)
        choose_provider(page, "OpenAI-compatible server")
        # Retried until it holds: the field is redrawn once the rerun finishes.
        expect(sidebar.get_by_label("Server base URL")).to_have_value(URL, timeout=30_000)
        sidebar.get_by_role("link", name="Live run").click()
        page.get_by_role("heading", name="Watch a model think").wait_for(timeout=30_000)
        expect(page.get_by_label("Your problem")).to_have_value(QUESTION, timeout=30_000)
        expect(sidebar.get_by_label("Server base URL")).to_have_value(URL)
        assert page.get_by_text("Traceback").count() == 0

        for label, value in [
            (PRICE_LABEL, "0.1, 0.2"),
            ("Spending cap per run ($, 0 = none)", "0.05"),
            ("API key (kept in this session's memory only)", KEY),
        ]:
            field = sidebar.get_by_label(label, exact=True)
            field.fill(value)
            field.press("Enter")
            page.wait_for_timeout(1000)
        assert KEY not in page.url and "set_openai_compatible_key" not in page.url
        assert "set_openai_compatible_url=" in page.url and "set_dollar_cap=0.05" in page.url
        page.reload()  # a new session: everything but the key comes back from the address
        page.get_by_role("heading", name="Watch a model think").wait_for(timeout=60_000)
        expect(sidebar.get_by_label("Server base URL")).to_have_value(URL, timeout=30_000)
        expect(sidebar.get_by_label(PRICE_LABEL)).to_have_value("0.1, 0.2")
        cap = sidebar.get_by_label("Spending cap per run ($, 0 = none)", exact=True)
        expect(cap).to_have_value("0.05")
        expect(page.get_by_label("Your problem")).to_have_value(QUESTION)
        expect(answer).to_have_value("144")
        expect(sidebar.get_by_label("API key (kept in this session's memory only)")).to_have_value(
            ""
        )
        assert KEY not in page.url
        assert page.get_by_text("Traceback").count() == 0
