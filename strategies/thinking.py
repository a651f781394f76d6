"""One thinking budget in plain terms: "think m times as much as answering once", per strategy.

The unit is one answer: one whole solution written once (`Budget.sample_tokens` tokens at most).
Each strategy turns `m` answers' worth into its own knobs, so that its generations add up to
about m solutions, the way test-time compute is counted in Snell et al. 2024 ("Scaling LLM
test-time compute optimally", generations per question) and search-and-learn (Hugging Face):

- samplers (self-consistency, best-of-N, program of thought, the adaptive votes, DeepConf, particles,
  native thinking): N = m whole samples (or particles, or m samples' worth of hidden thinking);
- step-wise tree searches (beam search, DVTS, tree of thoughts): N = m paths, beam width 2;
- MCTS: N counts single steps, and a path is about `MCTS_PATH_STEPS` steps (at most
  `max_depth`), so N = m x 4: 64x is 256 steps, `MAX_N`;
- self-refine: N/2 critique rounds, so N = 2m: m rounds of critique and revision;
- System 1 (`direct`) and `chain_of_thought` write one answer whatever the budget: m changes
  nothing for them (see `FIXED`).

The run's token cap follows: (2m + 1) answers' worth, twice the planned work and one answer of
headroom (critiques, votes, a program), so the cap only stops a run that goes astray.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from core.budget import MAX_N, MAX_TOTAL_TOKENS, Budget

THINK_STEPS = (1, 2, 4, 8, 16, 32, 64)  # the control's choices, in answers' worth
SEARCH_WIDTH = 2  # beam width M of the tree searches: each kept path expands 2 ways
# Steps in one MCTS path: the estimate's typical grade-school path is 5, 4 keeps 64x at MAX_N.
MCTS_PATH_STEPS = 4
FIXED = frozenset({"direct", "chain_of_thought"})  # one answer, whatever the budget


def _samples(m: int, budget: Budget) -> dict[str, int]:
    return {"n": m}


def _search(m: int, budget: Budget) -> dict[str, int]:
    return {"n": m, "width": SEARCH_WIDTH}


def _steps(m: int, budget: Budget) -> dict[str, int]:
    return {"n": min(MAX_N, m * min(MCTS_PATH_STEPS, budget.max_depth)), "width": SEARCH_WIDTH}


def _rounds(m: int, budget: Budget) -> dict[str, int]:
    return {"n": 2 * m}


def _one_answer(m: int, budget: Budget) -> dict[str, int]:
    return {"n": 1}


# Strategy name -> the knobs (Budget fields) for m answers' worth. A strategy not listed is
# sized as a sampler (N = m): a new strategy runs from its own module and registry line alone.
KNOBS: dict[str, Callable[[int, Budget], dict[str, int]]] = {
    "direct": _one_answer,
    "chain_of_thought": _one_answer,
    "self_consistency": _samples,
    "adaptive_consistency": _samples,
    "early_stopping_consistency": _samples,
    "deepconf_online": _samples,
    "best_of_n": _samples,
    "compute_optimal": _samples,  # N is the ceiling it picks a strategy's budget under
    "program_of_thought": _samples,
    "beam_search": _search,
    "dvts": _search,
    "particle_filtering": _samples,
    "tree_of_thoughts": _search,
    "mcts": _steps,
    "self_refine": _rounds,
    "native_thinking": _samples,
}


def token_cap(multiplier: int, budget: Budget) -> int:
    """The run's token cap for `multiplier` answers' worth: (2m + 1) whole answers."""
    return min(MAX_TOTAL_TOKENS, (2 * multiplier + 1) * budget.sample_tokens)


def knobs_for(strategy: str, multiplier: int, budget: Budget) -> Budget:
    """`budget` with N, beam width and the token cap set for `multiplier` answers' worth of
    `strategy` (depth, step length, sampling and the spending cap are kept).

    Raises ValueError for a multiplier outside 1..64."""
    if multiplier not in THINK_STEPS:
        raise ValueError(f"think must be one of {THINK_STEPS} (got {multiplier})")
    knobs = KNOBS.get(strategy, _samples)(multiplier, budget)
    return replace(budget, **knobs, max_total_tokens=token_cap(multiplier, budget))
