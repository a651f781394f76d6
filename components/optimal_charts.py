"""Snell's picture on a batch: compute_optimal over accuracy against budget, overall and per
difficulty bin, and the break-even with System 1 in words (pure; no Streamlit)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from core.difficulty import BINS, DifficultyTable
from core.ledger import format_dollars
from deliberate.batch import BatchRow

SYSTEM_1 = "direct"
ALL = "all problems"


def rows_in(rows: Sequence[BatchRow], bins: dict[str, str], group: str) -> list[BatchRow]:
    """The rows of one group: ALL, or the problems of one difficulty bin."""
    return [r for r in rows if group == ALL or bins.get(r.problem_id) == group]


def groups(bins: dict[str, str]) -> list[str]:
    """ALL, then each bin that holds a problem, easiest first."""
    return [ALL, *(b for b in BINS if b in bins.values())]


@dataclass(frozen=True)
class Spend:
    strategy: str
    budget: int
    solved: int
    per_solved: float  # dollars or output tokens per problem solved; inf when none is solved


def _spends(rows: Sequence[BatchRow], dollars: bool) -> list[Spend]:
    cells: dict[tuple[str, int], list[BatchRow]] = defaultdict(list)
    for row in rows:
        if row.correct is not None:
            cells[(row.strategy, row.budget)].append(row)
    out = []
    for (strategy, budget), group in sorted(cells.items()):
        solved = sum(bool(r.correct) for r in group)
        spent = sum((r.cost_usd or 0.0) if dollars else r.output_tokens for r in group)
        out.append(Spend(strategy, budget, solved, spent / solved if solved else float("inf")))
    return out


def _amount(value: float, dollars: bool) -> str:
    return format_dollars(value) if dollars else f"{value:,.0f} output tokens"


def _label(group: str) -> str:
    return "all problems" if group == ALL else f"{group} problems"


def break_even_clause(rows: Sequence[BatchRow], group: str) -> tuple[str, str]:
    """(a short clause for the headline, a sentence with the figures) for one group of rows.

    System 2 is every strategy but direct; at each budget N its cheapest strategy per solved
    problem is compared with System 1's. Dollars when every price is known, else output tokens."""
    dollars = bool(rows) and all(r.cost_usd is not None for r in rows)
    spends = _spends(rows, dollars)
    system_1 = next((s for s in spends if s.strategy == SYSTEM_1), None)
    system_2 = [s for s in spends if s.strategy != SYSTEM_1]
    where = _label(group)
    if system_1 is None or not system_2:
        return f"not measured on {where}", (
            f"On {where}: run direct (System 1) and a System 2 strategy in the batch to see "
            "the break-even."
        )
    if system_1.solved == 0 and all(s.solved == 0 for s in system_2):
        return f"not known on {where}", f"On {where}, neither System 1 nor System 2 solved any."
    budgets = sorted({s.budget for s in system_2})
    cheapest = {
        n: min((s for s in system_2 if s.budget == n), key=lambda s: s.per_solved) for n in budgets
    }
    wins = [n for n in budgets if cheapest[n].per_solved < system_1.per_solved]
    base = (
        "System 1 solved none"
        if system_1.solved == 0
        else f"System 1 costs {_amount(system_1.per_solved, dollars)} per solved problem"
    )
    if not wins:
        best = min(system_2, key=lambda s: s.per_solved)
        spent = (
            " solved none"
            if best.solved == 0
            else f", {best.strategy} at N={best.budget}, costs {_amount(best.per_solved, dollars)}"
        )
        return f"never on {where}", (
            f"On {where}, System 2 never costs less per solved problem than System 1: {base}; "
            f"the cheapest System 2{spent}."
        )
    first = wins[0]
    suffix = wins == budgets[budgets.index(first) :]
    when = f"from N={first}" if suffix else "at N=" + ", ".join(str(n) for n in wins)
    at = cheapest[first]
    return f"{when} on {where}", (
        f"On {where}, System 2 costs less per solved problem than System 1 {when}"
        f"{' on' if suffix else ''}: {base}; "
        f"{at.strategy} at N={first} costs {_amount(at.per_solved, dollars)}."
    )


def break_even(rows: Sequence[BatchRow], bins: dict[str, str]) -> list[str]:
    """The headline ("System 2 costs less per solved problem than System 1: never on all problems;
    never on easy problems; from N=4 on hard problems.") then a sentence with figures per group."""
    clauses = [break_even_clause(rows_in(rows, bins, g), g) for g in groups(bins)]
    headline = (
        "System 2 costs less per solved problem than System 1: "
        + "; ".join(short for short, _ in clauses)
        + "."
    )
    return [headline, *(detail for _, detail in clauses)]


def table_frame(table: DifficultyTable, budget_n: int) -> pd.DataFrame:
    """One row per bin: what compute_optimal runs there under a budget of `budget_n`."""
    measured = {name: options[0] for name, options in table.bins}
    rows = []
    for name in BINS:
        strategy, n = table.choose(name, budget_n)
        best = measured.get(name)
        rows.append(
            {
                "difficulty": name,
                f"runs at N={budget_n}": f"{strategy.replace('_', ' ')}, N={n}",
                "best measured": "—"
                if best is None or best.accuracy is None
                else f"{best.strategy.replace('_', ' ')} N={best.n}: {best.accuracy:.0%}, "
                f"{best.mean_tokens:,.0f} tokens",
            }
        )
    return pd.DataFrame(rows)
