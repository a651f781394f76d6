"""A rule-based PRM: recompute every calculation in a step and look for numbers from nowhere."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from core.verifiers.arithmetic_parser import Claim, find_claims, numbers
from core.verifiers.base import StepScores, Verifier

# One wrong calculation poisons everything built on it, so the step is nearly surely bad.
WRONG_SCORE = 0.05
# Arithmetic that checks out is good evidence, but the reasoning around it may still be wrong.
VERIFIED_SCORE = 0.9
# Nothing to check is no evidence either way; slightly above 0.5 because most steps are fine.
NEUTRAL_SCORE = 0.6
# A number nobody computed is usually made up (or skipped work that may be wrong).
UNEXPLAINED_PENALTY = 0.15
# Stays above WRONG_SCORE: an unexplained number is suspicious, a wrong calculation is proof.
FLOOR_SCORE = 0.2

# Numbers a step may use without deriving them: small counts and everyday units
# (dozen, hours/minutes, days, weeks, months, percent, degrees, kilo...).
_COMMON = {
    Fraction(n)
    for n in (*range(11), 12, 16, 20, 24, 25, 28, 30, 31, 36, 50, 52, 60, 90, 100, 180, 360, 365)
} | {Fraction(n) for n in ("366", "1000", "3600", "1000000", "1/2", "1/4", "3/4")}


def _decimal(value: Fraction, places: int) -> str:
    """`value` rounded to `places` decimals, in integer arithmetic (no float overflow)."""
    scaled = round(abs(value) * 10**places)
    whole, fraction = divmod(scaled, 10**places)
    digits = f"{whole}.{fraction:0{places}d}".rstrip("0").rstrip(".")
    return f"-{digits}" if value < 0 and scaled else digits


def _show(value: Fraction) -> str:
    exact = _decimal(value, 6)
    return exact if Fraction(exact) == value else f"≈{_decimal(value, 4)}"


def _explained(value: Fraction, known: set[Fraction]) -> bool:
    # 15% in the question may reappear as 0.15, and a loss of 5 as -5.
    return any(v in known for v in (value, -value, value * 100, value / 100))


def _unexplained(step: str, known: set[Fraction], claims: list[Claim]) -> list[str]:
    known = known | {c.computed for c in claims} | {c.claimed for c in claims}
    unexplained: dict[Fraction, str] = {}  # by value: "15" and "fifteen" are one number
    for text, value in numbers(step, skip_step_indices=True):
        if not _explained(value, known):
            unexplained.setdefault(value, text)
    return list(unexplained.values())


def _judge(step: str, known: set[Fraction]) -> tuple[float, str]:
    if not step.strip():
        return NEUTRAL_SCORE, "empty step: nothing to check"
    claims = find_claims(step)
    wrong = [c for c in claims if not c.correct]
    unexplained = _unexplained(step, known, claims)
    if wrong:
        score = WRONG_SCORE
        found = "; ".join(f"{c.text} (is {_show(c.computed)})" for c in wrong)
        verdict = f"wrong: {found}"
    elif claims:
        score = VERIFIED_SCORE
        count = f"{len(claims)} claim{'s' if len(claims) > 1 else ''}"
        verdict = f"{count} checked, all right"
    else:
        score = NEUTRAL_SCORE
        verdict = "no arithmetic to check"
    if unexplained:
        if not wrong:
            score = max(FLOOR_SCORE, score - UNEXPLAINED_PENALTY * len(unexplained))
        if len(unexplained) == 1:
            verdict += f"; number {unexplained[0]} appears from nowhere"
        else:
            verdict += f"; numbers {', '.join(unexplained)} appear from nowhere"
    return round(score, 4), verdict


class ArithmeticChecker(Verifier):
    """Scores a step by recomputing its arithmetic exactly (fractions, no eval); free to run."""

    name = "arithmetic"
    model = "rules"

    def score(self, question: str, paths: Sequence[Sequence[str]]) -> StepScores:
        question_numbers = {value for _, value in numbers(question)} | _COMMON
        scores: list[float] = []
        details: list[str] = []
        for path in paths:
            known = question_numbers | {v for step in path[:-1] for _, v in numbers(step)}
            score, detail = _judge(path[-1] if path else "", known)
            scores.append(score)
            details.append(detail)
        return StepScores(scores=scores, details=details, calls=[])
