"""Any figure as PNG, SVG or HTML, for slides and for other tools.

PNG and SVG come from plotly's static export, kaleido v1 (https://github.com/plotly/Kaleido),
which drives a local Chromium through choreographer: Debian's `/usr/bin/chromium` unless
BROWSER_PATH (kaleido's own variable) names another. Nothing is downloaded. Each export starts a
headless Chromium, so images are drawn only when a download is clicked.
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path
from typing import Literal

import kaleido
import plotly.graph_objects as go
import streamlit as st
from kaleido.errors import KaleidoError

from components.text import plain_markdown

DEBIAN_CHROMIUM = "/usr/bin/chromium"
BROWSER_ENV = "BROWSER_PATH"
DEFAULT_WIDTH = 1200  # layout pixels when a figure sets no width (the app stretches it)
DEFAULT_HEIGHT = 500
TIMEOUT = 60  # seconds for one image, browser start included
PNG_SCALE = 2  # sharp on a projector: a 1200 px wide figure is a 2400 px PNG
Format = Literal["png", "svg"]
MIME = {"png": "image/png", "svg": "image/svg+xml", "html": "text/html"}


class StaticExportError(RuntimeError):
    """A PNG or SVG could not be drawn; the message says why and what still works."""


def browser_path() -> str:
    """The Chromium (or Chrome) executable kaleido drives: BROWSER_PATH, else Debian's."""
    return os.environ.get(BROWSER_ENV) or DEBIAN_CHROMIUM


def static_export_problem() -> str | None:
    """Why PNG and SVG can't be drawn here (no browser), or None when they can."""
    path = browser_path()
    if Path(path).is_file() and os.access(path, os.X_OK):
        return None
    return (
        f"PNG and SVG downloads need Chromium, and there is none at {path} (install Debian's "
        f"with `apt-get install chromium`, or set {BROWSER_ENV} to a Chromium or Chrome). "
        "The HTML download works without it."
    )


def export_size(figure: go.Figure) -> tuple[int, int]:
    """(width, height) in layout pixels: the figure's own, else DEFAULT_WIDTH x DEFAULT_HEIGHT."""
    return (figure.layout.width or DEFAULT_WIDTH, figure.layout.height or DEFAULT_HEIGHT)


def figure_bytes(figure: go.Figure, fmt: Format) -> bytes:
    """The figure drawn by kaleido in a headless Chromium (a few seconds).

    PNG: export_size() x PNG_SCALE pixels; SVG: an <svg> document of export_size().
    Raises StaticExportError with a plain reason when there is no browser or drawing fails."""
    if (problem := static_export_problem()) is not None:
        raise StaticExportError(problem)
    width, height = export_size(figure)
    options = {
        "format": fmt,
        "width": width,
        "height": height,
        "scale": PNG_SCALE if fmt == "png" else 1,
    }
    try:
        image = kaleido.calc_fig_sync(
            figure.to_dict(), opts=options, kopts={"path": browser_path(), "timeout": TIMEOUT}
        )
    except (KaleidoError, RuntimeError, OSError) as exc:  # browser missing, crashed, timed out
        raise StaticExportError(f"The {fmt.upper()} export failed: {exc}") from exc
    return image.encode() if isinstance(image, str) else image


def figure_html(figure: go.Figure) -> str:
    """One self-contained HTML page: plotly.js inlined, interactive, no network."""
    return figure.to_html(include_plotlyjs=True, full_html=True)


def render_downloads(figure: go.Figure, name: str, key: str) -> None:
    """PNG, SVG and HTML download buttons for `figure`, saved as `name`.png/.svg/.html; images
    are drawn only on click. Without a browser: the reason, and the HTML button alone."""
    problem = static_export_problem()
    formats = ["html"] if problem else ["png", "svg", "html"]
    for column, fmt in zip(st.columns(len(formats) + 1)[: len(formats)], formats, strict=True):
        column.download_button(
            fmt.upper(),
            data=partial(figure_html, figure)
            if fmt == "html"
            else partial(figure_bytes, figure, fmt),
            file_name=f"{name}.{fmt}",
            mime=MIME[fmt],
            key=f"{key}_{fmt}",
            on_click="ignore",
            help=f"Download this chart as {fmt.upper()}"
            + (" (drawn by a headless Chromium: a few seconds)" if fmt != "html" else ""),
            width="stretch",
        )
    if problem:
        st.caption(plain_markdown(problem))
