"""A run's hard limits: the cap on generated tokens and the spending cap, checked before a call."""

from __future__ import annotations

from collections.abc import Sequence

from core.budget import Budget
from core.providers.base import Completion, GenerationRequest, Provider


class RunStopped(Exception):
    """The run cannot continue (a cap is reached, or the provider failed); keep what exists."""

    def __init__(
        self, reason: str, message: str, partial: Sequence[Completion] = (), role: str = "generate"
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.partial = tuple(partial)  # calls billed before a failure: their cost stays on record
        self.role = role  # whose calls `partial` holds: "generate" (the provider's), "verify"


class Caps:
    """What a run has generated and spent so far, against its budget's caps."""

    def __init__(self, budget: Budget, provider: Provider) -> None:
        self.budget = budget
        self.provider = provider
        self.generated_tokens = 0
        self.spent_usd = 0.0

    def fit(
        self, request: GenerationRequest, tokens: int = 0, dollars: float = 0.0
    ) -> tuple[GenerationRequest, float]:
        """Shrink the request to what is left of the token cap; refuse if a cap is spent.

        `tokens` and `dollars` are promised to requests going out in the same call. Returns
        the request and its worst-case cost (0 with no spending cap).
        """
        left = self.budget.max_total_tokens - self.generated_tokens - tokens
        if left <= 0:
            raise RunStopped(
                "token_cap", f"stopped at the token cap ({self.budget.max_total_tokens:,} tokens)"
            )
        n = min(request.n, left)
        max_tokens = max(1, min(request.max_tokens, left // n))
        request = GenerationRequest(**{**request.__dict__, "n": n, "max_tokens": max_tokens})
        if self.budget.max_dollars is None:
            return request, 0.0
        prompt = "".join(m.content for m in request.messages) + request.assistant_prefix
        worst = self.provider.worst_case_cost(request, self.provider.count_tokens(prompt))
        self.check_spend(None if worst is None else worst + dollars)
        return request, worst or 0.0

    def check_spend(self, worst: float | None) -> None:
        """Refuse a call whose worst-case cost could break the spending cap."""
        cap = self.budget.max_dollars
        if cap is None:
            return
        if worst is None:
            raise RunStopped(
                "spend_cap",
                "a spending cap is set but this model's price is unknown, so no call can be "
                "proven to stay under it: set the model's price to use a cap",
            )
        if self.spent_usd + worst > cap:
            raise RunStopped(
                "spend_cap",
                f"stopped before a call that could cost up to ${worst:.4f}: the run's cap is "
                f"${cap:.4f} and ${self.spent_usd:.4f} is spent",
            )

    def charge(self, completions: Sequence[Completion]) -> None:
        """Count generated answers now, so that the next call sees the true total."""
        self.generated_tokens += sum(c.usage.output_tokens for c in completions)
        self.spent_usd += sum(self.provider.cost(c.usage) or 0.0 for c in completions)

    def charge_verifier(self, cost: float | None) -> None:
        """Verifier calls count against the spending cap, not the cap on generated tokens."""
        self.spent_usd += cost or 0.0
