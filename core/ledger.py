"""The cost ledger: a fold over UsageRecorded events, split by role (generate / verify)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from core.events import Event, UsageRecorded


@dataclass
class RoleTotals:
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    seconds: float = 0.0
    cost_usd: float | None = 0.0  # None once any call had an unknown price

    def add(self, usage: UsageRecorded) -> None:
        self.calls += 1
        self.input_tokens += usage.input_tokens
        self.output_tokens += usage.output_tokens
        self.cached_tokens += usage.cached_tokens
        self.reasoning_tokens += usage.reasoning_tokens
        self.seconds += usage.seconds
        if self.cost_usd is not None:
            self.cost_usd = None if usage.cost_usd is None else self.cost_usd + usage.cost_usd


@dataclass
class Ledger:
    roles: dict[str, RoleTotals] = field(default_factory=dict)

    @classmethod
    def from_events(cls, events: Iterable[Event]) -> Ledger:
        ledger = cls()
        for event in events:
            ledger.apply(event)
        return ledger

    def apply(self, event: Event) -> None:
        if isinstance(event, UsageRecorded):
            self.roles.setdefault(event.role, RoleTotals()).add(event)

    def role(self, name: str) -> RoleTotals:
        return self.roles.get(name, RoleTotals())

    @property
    def total(self) -> RoleTotals:
        total = RoleTotals()
        for totals in self.roles.values():
            total.calls += totals.calls
            total.input_tokens += totals.input_tokens
            total.output_tokens += totals.output_tokens
            total.cached_tokens += totals.cached_tokens
            total.reasoning_tokens += totals.reasoning_tokens
            total.seconds += totals.seconds
            if total.cost_usd is not None:
                total.cost_usd = (
                    None if totals.cost_usd is None else total.cost_usd + totals.cost_usd
                )
        return total


def cost_per_solved(total_cost: float | None, solved: int) -> float | None:
    """Total cost / problems solved; undefined (None) with no price or nothing solved, never 0 or inf."""
    if total_cost is None or solved <= 0:
        return None
    return total_cost / solved


def format_dollars(value: float | None) -> str:
    if value is None:
        return "unknown"
    if value == 0:
        return "$0"
    if value < 0.01:
        return f"${value:.6f}"
    return f"${value:,.4f}"
