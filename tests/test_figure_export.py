"""Figures as PNG and SVG through kaleido and Debian's Chromium, and as HTML; no browser, a
clear reason. These draw with the real headless Chromium (a few seconds each), never a model."""

import re
import struct
import xml.etree.ElementTree as ET

import plotly.graph_objects as go
import pytest

from components.figure_export import (
    DEFAULT_HEIGHT,
    DEFAULT_WIDTH,
    PNG_SCALE,
    StaticExportError,
    export_size,
    figure_bytes,
    figure_html,
    static_export_problem,
)
from components.prm_chart import build_prm_figure
from core.budget import Budget
from core.providers.fake import FakeProvider
from core.tree import ReasoningTree
from strategies import STRATEGIES

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(image: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, the first after the signature (PNG spec 11.2.2)."""
    assert image[12:16] == b"IHDR"
    return struct.unpack(">II", image[16:24])


def test_a_chart_becomes_a_png_of_its_size():
    figure = go.Figure(go.Bar(x=["a", "b"], y=[1, 2]), layout={"width": 640, "height": 360})
    image = figure_bytes(figure, "png")
    assert image[:8] == PNG_SIGNATURE
    assert png_size(image) == (640 * PNG_SCALE, 360 * PNG_SCALE)


def test_the_prm_chart_becomes_an_svg_document(pens, arithmetic):
    events = list(STRATEGIES["beam_search"](pens, FakeProvider(), arithmetic, Budget(n=4)))
    figure = build_prm_figure(ReasoningTree.from_events(events))
    assert export_size(figure) == (DEFAULT_WIDTH, 300)  # it sets a height but no width
    root = ET.fromstring(figure_bytes(figure, "svg"))
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert (root.get("width"), root.get("height")) == (str(DEFAULT_WIDTH), "300")
    assert "PRM score" in ET.tostring(root, encoding="unicode")  # the axis title is drawn


def test_without_a_browser_the_reason_is_given_and_html_still_works(monkeypatch):
    monkeypatch.setenv("BROWSER_PATH", "/nonexistent/chromium")
    figure = go.Figure(go.Bar(y=[3, 1]))
    assert export_size(figure) == (DEFAULT_WIDTH, DEFAULT_HEIGHT)
    problem = static_export_problem()
    assert problem is not None and "/nonexistent/chromium" in problem
    assert "The HTML download works without it." in problem
    with pytest.raises(StaticExportError) as raised:
        figure_bytes(figure, "png")
    assert str(raised.value) == problem
    page = figure_html(figure)
    assert page.startswith("<!doctype html>") and "Plotly.newPlot" in page
    assert not re.search(r"<script[^>]+src=", page)  # plotly.js inlined: no network


def test_debian_chromium_is_the_default(monkeypatch):
    monkeypatch.delenv("BROWSER_PATH", raising=False)
    assert static_export_problem() is None  # /usr/bin/chromium, installed by ./dev.sh test


def test_a_page_without_a_browser_says_why_and_offers_html(fake_env, monkeypatch):
    from components.text import plain_markdown
    from tests.test_pages import finish, start_app

    monkeypatch.setenv("BROWSER_PATH", "/nonexistent/chromium")
    at = start_app()
    next(b for b in at.button if b.label == "Run").click().run()
    finish(at, "live_worker")
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["HTML", "HTML", "Events as JSONL", "Trace as OTLP JSON"]  # tree, PRM chart
    said = plain_markdown(static_export_problem())
    assert [c.value for c in at.caption].count(said) == 2
    assert not at.exception and not at.error
