"""The cost page's compute-optimal section: the break-even in words, accuracy against budget with
compute_optimal drawn over the fixed strategies (overall and per difficulty bin), and the
difficulty table this batch fits."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from components.batch_charts import build_accuracy_figure
from components.optimal_charts import break_even, groups, rows_in, table_frame
from components.text import plain_markdown
from core.difficulty import DEFAULT_TABLE
from deliberate.batch import BatchRow, summarize
from deliberate.difficulty import fit_table


def render_optimal_section(
    rows: Sequence[BatchRow],
    bins: dict[str, str],
    backend: tuple[str, str] | None,
) -> None:
    """`bins`: problem id -> difficulty bin; `backend`: the batch's (model, verifier), if known."""
    st.header("Spend thinking where it pays")
    st.write(
        "compute_optimal probes each problem with 2 samples, judges from their agreement and "
        "verifier scores whether it looks easy, medium or hard, and spends the rest of the budget "
        "the way that difficulty deserves (Snell et al. 2024)."
    )
    if not bins:
        st.info(
            "No problem in this batch has a difficulty bin yet: run compute_optimal, or "
            "best_of_n at N ≥ 2, in a batch to sort problems by how hard they look."
        )
    headline, *details = break_even(rows, bins)
    st.success(plain_markdown(headline))
    for detail in details:
        st.caption(plain_markdown(detail))
    shown = st.radio(
        "Problems",
        groups(bins),
        horizontal=True,
        key="optimal_group",
        format_func=lambda g: g if g == groups(bins)[0] else f"{g} problems",
    )
    in_group = rows_in(rows, bins, shown)
    counted = len({r.problem_id for r in in_group})
    st.plotly_chart(
        build_accuracy_figure(summarize(in_group)),
        key="optimal_overlay",
        width="stretch",
    )
    st.caption(
        f"Accuracy vs budget N on {counted} problem{'s' if counted != 1 else ''}; the thick "
        "purple line is compute_optimal, choosing per problem, over the fixed strategies."
    )
    model, verifier = backend or ("this model", "this verifier")
    source = f"fitted from this batch ({model}, {verifier} verifier)"
    table = fit_table(rows, bins, source) or DEFAULT_TABLE
    largest = max((r.budget for r in rows), default=1)
    st.markdown("**The difficulty table**")
    st.dataframe(table_frame(table, largest), hide_index=True, width="stretch")
    st.caption(
        plain_markdown(
            f"From {table.source}. compute_optimal runs with the table fitted from your newest "
            "batch on the same model and verifier."
        )
    )
