"""What the thinking cost so far: tokens, seconds and dollars, split into generation and verification."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.ledger import Ledger, RoleTotals, format_dollars

ROLE_LABELS = {"generate": "generation", "verify": "verification"}


def format_seconds(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def cost_headline(ledger: Ledger) -> dict[str, str]:
    """The meter's four numbers, formatted exactly as shown."""
    total = ledger.total
    return {
        "Input tokens": f"{total.input_tokens:,}",
        "Output tokens": f"{total.output_tokens:,}",
        "Seconds": format_seconds(total.seconds),
        "Dollars": format_dollars(total.cost_usd),
    }


def _row(label: str, totals: RoleTotals) -> dict[str, object]:
    return {
        "": label,
        "calls": totals.calls,
        "input tokens": totals.input_tokens,
        "of which cached": totals.cached_tokens,
        "output tokens": totals.output_tokens,
        "of which reasoning": totals.reasoning_tokens,
        "seconds": round(totals.seconds, 2),
        "dollars": format_dollars(totals.cost_usd),
    }


def build_cost_table(ledger: Ledger) -> pd.DataFrame:
    """Rows: generation, verification, total."""
    rows = [_row(label, ledger.role(role)) for role, label in ROLE_LABELS.items()]
    rows.append(_row("total", ledger.total))
    return pd.DataFrame(rows).set_index("")


def render_cost_meter(ledger: Ledger, table: pd.DataFrame | None = None) -> None:
    """The four numbers and the table by role; `table` is `build_cost_table(ledger)` when the
    caller already has it (a live page keeps it while the ledger is unchanged)."""
    items = list(cost_headline(ledger).items())
    for row in (items[:2], items[2:]):  # two by two: "unknown" dollars must fit
        for column, (label, value) in zip(st.columns(2), row, strict=True):
            column.metric(label, value)
    st.dataframe(build_cost_table(ledger) if table is None else table, width="stretch")
