"""A rule-based PRM: recompute each calculation a step claims; look for numbers from nowhere."""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from core.verifiers.arithmetic_parser import (
    MAX_DIGITS,
    Token,
    equations,
    evaluate,
    normalize,
    tokenize,
)
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
# "Step 2:" anywhere, "2." or "2)" opening a line: list numbering, not quantities.
_STEP_INDEX = re.compile(r"\bstep\s+\d+|^(?:\s*[-#>]+)?\s*\d+[.)](?=\s)", re.I | re.M)
# Number words above the common constants, so "fifteen" in a question explains a 15 in a step.
_ONES = "|".join(["one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])
_TEENS = ["eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen"]
_TEENS += ["eighteen", "nineteen"]
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_WORD_NUMBER = re.compile(
    rf"(?i)\b(?:({'|'.join(_TENS)})(?:[- ]({_ONES}))?|({'|'.join(_TEENS)}))\b"
)


@dataclass(frozen=True)
class Claim:
    text: str  # as shown to people: "7 × 8 = 54"
    computed: Fraction  # the exact value of the computation
    claimed: Fraction  # what the step says it is
    correct: bool


def _literal(side: list[Token]) -> Token | None:
    """The number token when a side is just a number (`-3`, `15%`), not a computation."""
    texts = [t.text for t in side]
    if texts and texts[0] in ("-", "+"):
        texts = texts[1:]
    if texts and texts[-1] == "%":
        texts = texts[:-1]
    numbers = [t for t in side if t.kind == "num"]
    return numbers[0] if len(texts) == 1 and len(numbers) == 1 else None


def _readings(side: list[Token], number: Token) -> list[tuple[Fraction, int]]:
    """Values a literal may mean, with their decimals; `15%` may be 0.15 or the 15 of a percent."""
    value = Fraction(number.text)
    decimals = len(number.text.partition(".")[2])
    if side[0].text == "-":
        value = -value
    if side[-1].text == "%":
        return [(value / 100, decimals + 2), (value, decimals)]
    return [(value, decimals)]


def _holds(
    computed: Fraction, claimed: Fraction, side: list[Token], number: Token | None, *, approx: bool
) -> bool:
    if number is None:
        return computed == claimed
    for reading, decimals in _readings(side, number):
        # A written decimal may be the exact value rounded to its digits (10 / 3 = 3.33); a whole
        # number must be exact unless marked ≈, since word problems rarely round to integers.
        if decimals or approx:
            if abs(computed - reading) <= Fraction(1, 2 * 10**decimals):
                return True
        elif computed == reading:
            return True
    return False


def _render(tokens: list[Token]) -> str:
    text = ""
    for i, token in enumerate(tokens):
        before = tokens[i - 1].text if i else None
        # A unary minus sticks to its number ("5 - 8 = -3"), as do parentheses, %, ^ and √.
        unary = before in ("-", "+") and (
            i == 1 or (tokens[i - 2].kind == "op" and tokens[i - 2].text not in (")", "%"))
        )
        tight = unary or before in (None, "(", "^", "√") or token.text in (")", "%", "^")
        text += ("" if tight else " ") + ("×" if token.text == "*" else token.text)
    return text


def _unproven(computed: list[Token], claimed: list[Token]) -> bool:
    """Whether a wrong-looking claim may hold in a reading not computed here.

    Other units (`2 hours + 30 minutes = 150 minutes`, `3 hours x 2 = 360 minutes`) or a percent
    of an amount (`$50 - 20% = $40`): false alarms cut good branches, so these stay unchecked.
    """
    adds = any(t.text in ("+", "-") for t in computed[1:])
    first_units = {t.units[0] for t in computed if t.units}
    had = {u for t in computed for u in t.units}
    gets = {u for t in claimed for u in t.units}
    texts = [t.text for t in computed]
    bare = [a for a, b in itertools.pairwise([*texts, ""]) if a == "%" and b != "of"]
    mixed = 0 < len(bare) < sum(t.kind == "num" for t in computed)  # 50 - 20%, not 15% + 5%
    return (adds and (len(first_units) > 1 or mixed)) or bool(had and gets and not had & gets)


def _claim(left: list[Token], relation: str, right: list[Token]) -> Claim | None:
    """What `left = right` claims, checked; None when it computes nothing or cannot be judged."""
    left_value, right_value = evaluate(left), evaluate(right)
    if left_value is None or right_value is None:
        return None
    left_number, right_number = _literal(left), _literal(right)
    if left_number and right_number:
        return None  # "5 = 5" computes nothing
    approx = relation == "≈"
    # The literal side, if any, is the claim; otherwise right is checked against left.
    if right_number or not left_number:
        computed, side, number, other = left_value, right, right_number, left
    else:
        computed, side, number, other = right_value, left, left_number, right
    claimed = left_value if side is left else right_value
    correct = _holds(computed, claimed, side, number, approx=approx)
    lead = right[0]
    if not correct and number is None and lead.kind == "num" and right[1].kind == "op":
        # A running total, "2 + 3 = 5 × 2 = 10": `= 5 × 2` goes on from the 5 just found.
        running = Fraction(lead.text)
        if _holds(computed, running, [lead], lead, approx=approx):
            return Claim(f"{_render(left)} {relation} {lead.text}", computed, running, True)
    if not correct and _unproven(other, side):
        return None
    return Claim(f"{_render(left)} {relation} {_render(right)}", computed, claimed, correct)


def find_claims(text: str) -> list[Claim]:
    """Every `expression = value` in the text, checked exactly (chains give one claim per `=`)."""
    claims = []
    for sides in equations(text):
        for (left, relation), (right, _) in itertools.pairwise(sides):
            if claim := _claim(left, relation, right):
                claims.append(claim)
    return claims


def numbers(text: str, *, skip_step_indices: bool = False) -> list[tuple[str, Fraction]]:
    """The numbers written in the text (digits and number words), as written and as values."""
    plain = normalize(text)
    if skip_step_indices:
        plain = _STEP_INDEX.sub(" ", plain)
    found = [
        (t.text, Fraction(t.text))
        for t in tokenize(plain)
        if t.kind == "num" and len(t.text) <= MAX_DIGITS
    ]
    for match in _WORD_NUMBER.finditer(text):
        tens, unit, teen = match.groups()
        if teen:
            value = 11 + _TEENS.index(teen.lower())
        else:
            value = 20 + 10 * _TENS.index(tens.lower())
            value += _ONES.split("|").index(unit.lower()) + 1 if unit else 0
        found.append((match.group(), Fraction(value)))
    return found


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
