"""Inference-time strategies by name.

Each is `(problem, provider, verifier, budget, should_stop=None) -> events`; `should_stop` is
asked before every model call (see `run_strategy`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from functools import partial, update_wrapper

from core.events import Event
from core.providers.base import Provider
from strategies.adaptive import adaptive_consistency, early_stopping_consistency
from strategies.compute_optimal import compute_optimal
from strategies.deepconf import deepconf_online
from strategies.mcts import mcts
from strategies.native_thinking import native_thinking
from strategies.particles import particle_filtering
from strategies.program import program_of_thought
from strategies.refine import self_refine
from strategies.runner import StrategyBody, run_strategy
from strategies.sampling import best_of_n, chain_of_thought, direct, self_consistency
from strategies.search import beam_search, dvts
from strategies.tree_of_thoughts import tree_of_thoughts

Strategy = Callable[..., Iterator[Event]]  # (Problem, Provider, Verifier, Budget[, should_stop])


def _register(name: str, body: StrategyBody) -> Strategy:
    run = partial(run_strategy, name, body)
    return update_wrapper(run, body)  # keeps the body's docstring: the UI's one-line explanation


STRATEGIES: dict[str, Strategy] = {
    name: _register(name, body)
    for name, body in {
        "direct": direct,
        "chain_of_thought": chain_of_thought,
        "self_consistency": self_consistency,
        "adaptive_consistency": adaptive_consistency,
        "early_stopping_consistency": early_stopping_consistency,
        "deepconf_online": deepconf_online,
        "best_of_n": best_of_n,
        "compute_optimal": compute_optimal,
        "program_of_thought": program_of_thought,
        "beam_search": beam_search,
        "dvts": dvts,
        "particle_filtering": particle_filtering,
        "tree_of_thoughts": tree_of_thoughts,
        "mcts": mcts,
        "self_refine": self_refine,
        "native_thinking": native_thinking,
    }.items()
}

SYSTEM_2 = [name for name in STRATEGIES if name != "direct"]
NEEDS_NATIVE_THINKING = frozenset({"native_thinking"})  # only for providers with hidden reasoning
# One greedy generation whatever N: running them at every budget of a batch repeats the same run.
ONE_GENERATION = frozenset({"direct", "chain_of_thought"})


def budgets_for(strategy: str, budgets: Sequence[int]) -> list[int]:
    """The budgets a batch runs this strategy at: only N=1 when N changes nothing."""
    return [1] if strategy in ONE_GENERATION else list(budgets)


def strategies_for(provider: Provider) -> list[str]:
    """The strategies this provider can run."""
    return [s for s in STRATEGIES if provider.native_thinking or s not in NEEDS_NATIVE_THINKING]


def describe(name: str) -> str:
    """The strategy's one-line explanation."""
    return (STRATEGIES[name].__doc__ or name).strip().splitlines()[0]
