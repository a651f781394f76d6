"""One thinking budget shared by every strategy, so runs are comparable."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from core.difficulty import DifficultyTable
from core.verifiers.aggregate import AGGREGATIONS

# score: the best path score; weighted_vote: a vote weighted by path score; filtered_vote: the
# top half by score vote, weighted by score (DeepConf's offline filter-then-vote, with the
# confidence verifier; Fu et al. 2025 keep the top 10% or 90% of hundreds of traces, and of a
# handful of samples half is the middle ground).
SELECTIONS = ("score", "weighted_vote", "filtered_vote")
# DeepConf online's variants (Fu et al. 2025): of the warm-up traces' confidences, DeepConf-low
# keeps traces above the top 10%'s bar (cuts hard, saves most), DeepConf-high above the top 90%'s.
DEEPCONF_VARIANTS = ("low", "high")
MAX_N = 256  # more samples than this is not a demo; it is a batch job for a GPU fleet
MAX_TOTAL_TOKENS = 1_000_000


@dataclass(frozen=True)
class Budget:
    # Generations, the papers' unit of test-time compute: samples, beams, MCTS expansions.
    n: int = 4
    # Beam width M: each kept beam expands M ways and N/M beams survive (search-and-learn).
    width: int = 2
    # Reasoning steps before a search gives up on a path; small models ramble.
    max_depth: int = 8
    # One step is a paragraph; a whole sample gets max_depth paragraphs' worth.
    step_tokens: int = 96
    # Hard cap on generated tokens for the whole run: the run stops cleanly when it is spent.
    max_total_tokens: int = 20_000
    # Sampling, measured on the 0.5B (8 samples, 7 GSM problems): at 0.7 majority vote 0/7 and
    # some sample right on 2/7; at 0.3 majority 1/7 and some sample right on 4/7.
    temperature: float = 0.3
    top_p: float = 0.95
    seed: int = 0
    # How a path's step scores become one score, and how best-of-N picks: by score or PRM-weighted vote.
    aggregation: str = "min"
    # The weighted vote, measured (benchmarks/verifiers.py, GSM-symbolic, N=8): at least as many
    # solved as the highest score for every offline verifier on both models (0.5B, 40 problems:
    # +3 arithmetic, +5 confidence, +1 both; 1.5B, 40 problems: +4, +3, +3).
    selection: str = "weighted_vote"
    # deepconf_online's bar: "high" by default, as a warm-up of 3-8 traces (not the paper's 16)
    # makes the top 10%'s bar about the best warm-up trace's, which cuts nearly every trace.
    deepconf: str = "high"
    # Spending cap in dollars for the run; None means no cap.
    max_dollars: float | None = None
    # compute_optimal's bin -> (strategy, budget) table; None: core.difficulty.DEFAULT_TABLE.
    difficulty_table: DifficultyTable | None = None

    def __post_init__(self) -> None:
        if isinstance(self.difficulty_table, dict):  # read back from a stored run's JSON
            object.__setattr__(
                self, "difficulty_table", DifficultyTable.from_dict(self.difficulty_table)
            )

        def need(ok: bool, message: str) -> None:
            if not ok:
                raise ValueError(message)

        for name in ("n", "width", "max_depth", "step_tokens", "max_total_tokens", "seed"):
            value = getattr(self, name)
            need(
                isinstance(value, int) and not isinstance(value, bool),
                f"{name} must be a whole number",
            )
        need(1 <= self.n <= MAX_N, f"budget n must be between 1 and {MAX_N} (got {self.n})")
        need(1 <= self.width <= 64, f"width must be between 1 and 64 (got {self.width})")
        need(
            1 <= self.max_depth <= 64, f"max_depth must be between 1 and 64 (got {self.max_depth})"
        )
        need(
            8 <= self.step_tokens <= 4096,
            f"step_tokens must be between 8 and 4096 (got {self.step_tokens})",
        )
        need(
            1 <= self.max_total_tokens <= MAX_TOTAL_TOKENS,
            f"max_total_tokens must be between 1 and {MAX_TOTAL_TOKENS:,} (got {self.max_total_tokens})",
        )
        need(
            0.0 <= self.temperature <= 2.0,
            f"temperature must be between 0 and 2 (got {self.temperature})",
        )
        need(0.0 < self.top_p <= 1.0, f"top_p must be in (0, 1] (got {self.top_p})")
        need(self.aggregation in AGGREGATIONS, f"aggregation must be one of {sorted(AGGREGATIONS)}")
        need(self.selection in SELECTIONS, f"selection must be one of {SELECTIONS}")
        need(self.deepconf in DEEPCONF_VARIANTS, f"deepconf must be one of {DEEPCONF_VARIANTS}")
        need(
            self.max_dollars is None or self.max_dollars >= 0,
            f"max_dollars must be positive (got {self.max_dollars})",
        )

    @property
    def beam_width(self) -> int:
        """Width actually used: never wider than the number of beams."""
        return min(self.width, self.n)

    @property
    def sample_tokens(self) -> int:
        """Token allowance for one whole solution written in a single call."""
        return self.step_tokens * self.max_depth

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
