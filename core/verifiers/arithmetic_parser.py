"""Read arithmetic claims ("48 / 2 = 24") and numbers out of a reasoning step, without eval."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from fractions import Fraction

# LaTeX and typography as Qwen writes it, rewritten to plain `+ - * / ^ ( ) % =`; order matters.
_REWRITES: list[tuple[str, str]] = [
    (r"\\[()\[\]]|\\(?:begin|end)\{[^{}]*\}", "\n"),  # math blocks end a calculation
    (r"\\?\$|\*\*|\\boxed", " "),  # currency (or inline math), markdown bold
    (r"(?<=\d)(?:\\,|\{,\}|,)(?=\d{3}(?!\d))", ""),  # thousands separators: 1,200  1{,}200
    (r"(\d)\s*\\(?:text|mathrm|textrm|mbox)\s*\{[^{}]*\}", r"\1"),  # units: 5 \text{ apples}
    (r"\\(?:text|textbf|mathrm|textrm|mbox)\s*\{([^{}]*)\}", r" \1 "),
    (r"\\[dt]?frac\s*(\d)(\d)", r"\\frac{\1}{\2}"),  # \frac12
    (r"(?<![\d.])(\d+)\s*\\[dt]?frac\s*\{(\d+)\}\s*\{(\d+)\}", r"(\1 + \2/\3)"),  # 2\frac{1}{2}
    (r"\\left|\\right|\\displaystyle", ""),
    (r"\^\s*\{?\\circ\}?|°", ""),
    (r"\\%", "%"),
    (r"\\times|\\cdot|[×·⋅∙✕]", " * "),
    (r"\\div|÷", " / "),
    (r"[−–]", "-"),
    (r"\\approx|≈", " ≈ "),
    (r"(?<=\d)\s*(?:x|times)\s*(?=\d)", " * "),  # 3 x 4, 3 times 4
    (r"\\[,;:! ]|\\quad|\\qquad|&", " "),  # & aligns `&=` in align blocks
]
_FRAC = re.compile(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
_TOKEN = re.compile(
    r"(?P<num>\d+(?:\.\d+)?|\.\d+)|(?P<op>[-+*/^()%])|(?P<eq>=|≈)|(?P<word>\\?[A-Za-z_]+)"
    r"|(?P<space>\s+)|(?P<other>.)",
    re.DOTALL,
)
# "Step 2:" anywhere, "2." or "2)" opening a line: list numbering, not quantities.
_STEP_INDEX = re.compile(r"\bstep\s+\d+|^(?:\s*[-#>]+)?\s*\d+[.)](?=\s)", re.I | re.M)
# Bounds that keep hostile text from stalling the checker: word problems never come close.
_MAX_EXPONENT = 64
_MAX_BITS = 10_000  # about 3,000 digits; also below Python's int <-> str conversion limit
_MAX_DIGITS = 100  # a longer digit string is not a quantity
# Number words above the common constants, so "fifteen" in a question explains a 15 in a step.
_UNITS = "|".join(["one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])
_TEENS = ["eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen"]
_TEENS += ["eighteen", "nineteen"]
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_WORD_NUMBER = re.compile(
    rf"(?i)\b(?:({'|'.join(_TENS)})(?:[- ]({_UNITS}))?|({'|'.join(_TEENS)}))\b"
)


@dataclass(frozen=True)
class Token:
    kind: str  # num | op | eq | word | other
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Claim:
    text: str  # as shown to people: "7 × 8 = 54"
    computed: Fraction  # the exact value of the computation
    claimed: Fraction  # what the step says it is
    correct: bool


def _fraction(match: re.Match[str]) -> str:
    """`\\frac{3}{4}` -> `(3/4)`; compound parts keep parentheses: `((1 + 2)/4)`."""
    parts = [
        p.strip() if re.fullmatch(r"\s*\d+(?:\.\d+)?\s*", p) else f"({p})" for p in match.groups()
    ]
    return f"({parts[0]}/{parts[1]})"


def normalize(text: str) -> str:
    """Rewrite LaTeX arithmetic to plain text: `\\frac{3}{4} \\times 8` -> `(3/4) * 8`."""
    for pattern, replacement in _REWRITES:
        text = re.sub(pattern, replacement, text)
    while (rewritten := _FRAC.sub(_fraction, text)) != text:  # innermost \frac first
        text = rewritten
    return text.replace("{", "(").replace("}", ")")


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "other"
        if kind == "space" and "\n" not in match.group():
            continue
        if kind == "space":  # a line break ends a calculation, as a word does
            kind = "other"
        if kind == "word" and match.group() == "of" and tokens and tokens[-1].text == "%":
            kind = "op"  # "15% of 80" is 15% * 80
        tokens.append(Token(kind, match.group(), match.start(), match.end()))
    return tokens


class _Parser:
    """Recursive descent over + - * / ^ % and parentheses, in exact fractions."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0

    def peek(self) -> str | None:
        return self.tokens[self.i].text if self.i < len(self.tokens) else None

    def take(self) -> Token:
        self.i += 1
        return self.tokens[self.i - 1]

    def expression(self) -> Fraction:
        value = self.term()
        while self.peek() in ("+", "-"):
            value = value + self.term() if self.take().text == "+" else value - self.term()
        return value

    def term(self) -> Fraction:
        value = self.unary()
        while self.peek() in ("*", "/", "(", "of"):
            if self.peek() == "(":  # implicit product: 3(4 + 5)
                value *= self.unary()
            elif self.take().text == "/":
                value /= self.unary()  # ZeroDivisionError: not a number, caught by evaluate
            else:
                value *= self.unary()
        return value

    def unary(self) -> Fraction:
        if self.peek() in ("-", "+"):
            return -self.unary() if self.take().text == "-" else self.unary()
        return self.power()

    def power(self) -> Fraction:
        base = self.postfix()
        if self.peek() != "^":
            return base
        self.take()
        exponent = self.unary()
        if exponent.denominator != 1 or abs(exponent) > _MAX_EXPONENT:
            raise ValueError("exponent out of range")
        if _bits(base) * abs(exponent.numerator) > _MAX_BITS:
            raise ValueError("power too large")
        return base**exponent.numerator

    def postfix(self) -> Fraction:
        value = self.atom()
        while self.peek() == "%":
            self.take()
            value /= 100
        return value

    def atom(self) -> Fraction:
        if self.peek() is None:
            raise ValueError("unexpected end")
        token = self.take()
        if token.kind == "num" and len(token.text) <= _MAX_DIGITS:
            return Fraction(token.text)
        if token.text == "(":
            value = self.expression()
            if self.peek() != ")":
                raise ValueError("unbalanced parenthesis")
            self.take()
            return value
        raise ValueError(f"unexpected {token.text!r}")


def evaluate(tokens: list[Token]) -> Fraction | None:
    """The exact value of an arithmetic expression, or None when it is not one."""
    if not tokens:
        return None
    parser = _Parser(tokens)
    try:
        value = parser.expression()
    except (ValueError, ZeroDivisionError, RecursionError):
        return None
    return value if parser.i == len(tokens) and _bits(value) <= _MAX_BITS else None


def _bits(value: Fraction) -> int:
    return max(value.numerator.bit_length(), value.denominator.bit_length())


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
        # A unary minus sticks to its number ("5 - 8 = -3"), as do parentheses, % and ^.
        unary = before in ("-", "+") and (
            i == 1 or (tokens[i - 2].kind == "op" and tokens[i - 2].text not in (")", "%"))
        )
        tight = unary or before in (None, "(", "^") or token.text in (")", "%", "^")
        text += ("" if tight else " ") + ("×" if token.text == "*" else token.text)
    return text


def _glued(text: str, index: int) -> bool:
    """A character that binds to the number next to it: `2x`, `x_1`, `5!`, `2\\sqrt`."""
    return 0 <= index < len(text) and (text[index].isalpha() or text[index] in "_!'\\")


def _runs(tokens: list[Token]) -> list[list[Token]]:
    """Maximal stretches of math tokens; words and punctuation end a stretch."""
    runs: list[list[Token]] = [[]]
    for token in tokens:
        if token.kind in ("num", "op", "eq"):
            runs[-1].append(token)
        elif runs[-1]:
            runs.append([])
    for run in runs:  # "= 24 (the clips)" leaves a dangling "(" that belongs to the words
        while run and run[-1].text == "(":
            run.pop()
    return [run for run in runs if run]


def _balanced(side: list[Token]) -> list[Token]:
    """Drop parentheses that a split cut in half: `(48 / 2 = 24)` -> `48 / 2` and `24`."""
    depth = sum((t.text == "(") - (t.text == ")") for t in side)
    while depth > 0 and side and side[0].text == "(":
        side, depth = side[1:], depth - 1
    while depth < 0 and side and side[-1].text == ")":
        side, depth = side[:-1], depth + 1
    return side


def _sides(run: list[Token], text: str) -> list[tuple[list[Token], str]]:
    """The sides of a run split at = / ≈, each with the relation that follows it."""
    sides: list[tuple[list[Token], str]] = [([], "")]
    for token in run:
        if token.kind == "eq":
            sides[-1] = (sides[-1][0], token.text)
            sides.append(([], ""))
        else:
            sides[-1][0].append(token)
    first, last = run[0], run[-1]
    # `2x + 3 = 11` leaves the run `+ 3 = 11`, `8 = 2 + 3x` leaves `8 = 2 + 3`: a side cut out
    # of a larger expression is not a claim. A leading minus counts only when written `-3`.
    unary_minus = (
        first.text == "-"
        and len(run) > 1
        and run[1].start == first.end
        and (first.start == 0 or text[first.start - 1] in " \t\n(=:,;")
    )
    cut_before = first.kind == "op" and first.text != "(" and not unary_minus
    if cut_before or _glued(text, first.start - 1):
        sides[0] = ([], sides[0][1])
    if _glued(text, last.end):
        sides[-1] = ([], "")
    return [(_balanced(side), relation) for side, relation in sides]


def find_claims(text: str) -> list[Claim]:
    """Every `expression = value` in the text, checked exactly (chains give one claim per `=`)."""
    plain = normalize(text)
    claims = []
    for run in _runs(tokenize(plain)):
        sides = _sides(run, plain)
        for (left, relation), (right, _) in itertools.pairwise(sides):
            left_value, right_value = evaluate(left), evaluate(right)
            if left_value is None or right_value is None:
                continue
            left_number, right_number = _literal(left), _literal(right)
            if left_number and right_number:
                continue  # "5 = 5" computes nothing
            # The literal side, if any, is the claim; otherwise right is checked against left.
            if right_number or not left_number:
                computed, side, number = left_value, right, right_number
            else:
                computed, side, number = right_value, left, left_number
            claimed = left_value if side is left else right_value
            claims.append(
                Claim(
                    text=f"{_render(left)} {relation} {_render(right)}",
                    computed=computed,
                    claimed=claimed,
                    correct=_holds(computed, claimed, side, number, approx=relation == "≈"),
                )
            )
    return claims


def numbers(text: str, *, skip_step_indices: bool = False) -> list[tuple[str, Fraction]]:
    """The numbers written in the text (digits and number words), as written and as values."""
    plain = normalize(text)
    if skip_step_indices:
        plain = _STEP_INDEX.sub(" ", plain)
    found = [
        (t.text, Fraction(t.text))
        for t in tokenize(plain)
        if t.kind == "num" and len(t.text) <= _MAX_DIGITS
    ]
    for match in _WORD_NUMBER.finditer(text):
        tens, unit, teen = match.groups()
        if teen:
            value = 11 + _TEENS.index(teen.lower())
        else:
            value = 20 + 10 * _TENS.index(tens.lower())
            value += _UNITS.split("|").index(unit.lower()) + 1 if unit else 0
        found.append((match.group(), Fraction(value)))
    return found
