"""Turn a path's step scores into one path score (search-and-learn's min / last / product / mean)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from statistics import fmean

AGGREGATIONS: dict[str, Callable[[Sequence[float]], float]] = {
    "min": min,  # a chain is as good as its weakest step
    "last": lambda scores: scores[-1],  # the last step's score sees the whole path
    "product": math.prod,  # probability that every step is right, if steps were independent
    "mean": fmean,
}


def aggregate(scores: Sequence[float], how: str) -> float:
    if how not in AGGREGATIONS:
        raise ValueError(f"unknown aggregation {how!r}; choose one of {sorted(AGGREGATIONS)}")
    if not scores:
        return 0.0
    return float(AGGREGATIONS[how](scores))
