"""Read the arithmetic in a reasoning step (LaTeX, Unicode, words) as tokens and exact values."""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from fractions import Fraction

_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")
_VULGAR = {"½": "1/2", "⅓": "1/3", "⅔": "2/3", "¼": "1/4", "¾": "3/4", "⅛": "1/8"}
_PARTS = {"half": "(1/2) of", "third": "(1/3) of", "quarter": "(1/4) of"}  # half of 48
_PART_OF = r"(?i)\b(?:one[\s-]|an?\s+)?(half|third|quarter)\s+of(?=\s*\(?\d)"
_Rewrite = str | Callable[[re.Match[str]], str]
# LaTeX, typography and words as Qwen writes them, rewritten to `+ - * / ^ √ ( ) % =`, in order.
_REWRITES: list[tuple[str, _Rewrite]] = [
    (r"\\[()\[\]]|\\(?:begin|end)\{[^{}]*\}", "\n"),  # math blocks end a calculation
    (r"\\?\$|[€£¥₹]|\*\*|\\boxed", " "),  # currency (or inline math), markdown bold
    (r"(?<=\d)(?:\\,|\{,\}|,|[\u00a0\u2009\u202f])(?=\d{3}(?!\d))", ""),  # 1,200  1{,}200
    (r"(\d)\s*\\(?:text|mathrm|textrm|mbox)\s*\{[^{}]*\}", r"\1"),  # units: 5 \text{ apples}
    (r"\\(?:text|textbf|mathrm|textrm|mbox)\s*\{([^{}]*)\}", r" \1 "),
    (r"\\left|\\right|\\displaystyle", ""),
    (r"(?<=[a-z])\(e?s\)", "s"),  # apple(s)
    # A label in words, "$80,000 (purchase) + ...", is an aside; `f(x)` keeps its lone letter.
    (r"\((?=[^()\d]*[A-Za-z]{2})[A-Za-z\s'’,.&/-]*\)", " "),
    (r"(?<=[\d)}\]])[⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺]+", lambda m: "^" + m[0].translate(_SUPERSCRIPTS)),  # 3²
    (r"(\d)? ?([½⅓⅔¼¾⅛])", lambda m: f"({m[1] + ' + ' if m[1] else ''}{_VULGAR[m[2]]})"),
    (r"\\sqrt\s*\[(?!\s*2\s*\])[^\]]*\]", r"\\root"),  # a cube root stays unread, glued to 27
    (r"\\sqrt(?:\s*\[\s*2\s*\])?|\bsqrt\b|\bsquare\s+root\s+of\b", "√"),
    (r"(?<=[\d)}])\s*squared\b", "^2"),
    (r"(?<=[\d)}])\s*cubed\b", "^3"),
    (r"(?<=[\d)}])\s*(?:raised\s+)?to\s+the\s+power\s+of\b", "^"),
    (r"(?<=\d)\s*(?:percent|per\s*cent)\b", "%"),
    (_PART_OF, lambda m: _PARTS[m[1].lower()]),
    (r"(?i)\btwice\s+(?=\(?\d)", "2 * "),
    (r"\\[dt]?frac\s*(\d)(\d)", r"\\frac{\1}{\2}"),  # \frac12
    (r"(?<![\d.])(\d+)\s*\\[dt]?frac\s*\{(\d+)\}\s*\{(\d+)\}", r"(\1 + \2/\3)"),  # 2\frac{1}{2}
    (r"\^\s*\{?\\circ\}?|°", ""),
    (r"\\%", "%"),
    (r"\\times|\\cdot|\\ast|[×·⋅∙✕✖∗]", " * "),
    (r"\\div|[÷⁄∕]", " / "),
    (r"[−–]", "-"),
    (r"\\approx|≈", " ≈ "),
    (r"(?<=\d)x(?=\d)", " * "),  # 3x4; a spaced x or "times" is read in context by _read_words
    (r"\\[,;:! ]|\\quad|\\qquad|&", " "),  # & aligns `&=` in align blocks
]
_FRAC = re.compile(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
_TOKEN = re.compile(
    r"(?P<num>\d+(?:\.\d+)?|\.\d+)|(?P<op>[-+*/^()%√])|(?P<eq>=|≈)|(?P<word>\\?[A-Za-z_]+)"
    r"|(?P<space>\s+)|(?P<other>.)",
    re.DOTALL,
)
# Bounds that keep hostile text from stalling the checker: word problems never come close.
_MAX_EXPONENT = 64
_MAX_BITS = 10_000  # about 3,000 digits; also below Python's int <-> str conversion limit
MAX_DIGITS = 100  # a longer digit string is not a quantity

# Words between two quantities that are operators: "5 times 3 is 15", "3 hours x 2 chapters".
_WORD_OPS = {"is equal to": "=", "multiplied by": "*", "divided by": "/", "is": "=", "equals": "="}
_WORD_OPS |= {"plus": "+", "minus": "-", "times": "*", "x": "*", "of": "of"}  # of: 15% of 80
_SCALE = "dozen|score|hundred|thousand|million|billion|trillion|grand"  # 2 dozen is not 2
# Words after a number that change it ("2 dozen", "5 pm") or that are math: never units.
_NOT_UNIT = re.compile(
    rf"{_SCALE}|am|pm|pi|sin|cos|tan|log|ln|exp|mod|root|squared|cubed|doubled|tripled|halved"
    r"|factorial|fold|th|st|nd|rd|" + "|".join(w for phrase in _WORD_OPS for w in phrase.split())
)
_GLUED_UNIT = re.compile(r"(?i)(?:km|cm|mm|kg|mg|ml|lbs?|oz|ft|yd|mi|hrs?|mins?|secs?|mph)\b")
# A number after these words names something ("Week 1 earnings"), it is not a quantity.
_INDEX_WORD = re.compile(
    r"(?i)step|day|week|month|year|round|level|page|part|case|option|question|problem|room|game"
    r"|chapter|phase|stage|item|floor|grade|line|row|column|figure|table"
)
# Words that carry a calculation on past a run, so the side next to them is not all of it.
_GOES_ON_AFTER = re.compile(
    r"\s*(?:(?:more|less|fewer|greater|smaller|larger|bigger|higher|lower)\s+than|plus|minus"
    rf"|times\s+(?:as|more|less)|over|divided|multiplied|out\s+of|fold|{_SCALE})\b",
    re.I,
)
_GOES_ON_BEFORE = re.compile(
    r"(?:\b(?:than|by|plus|minus|times|over|divided|multiplied)"
    r"|\b(?:add(?:ing)?\s+\S+\s+to|subtract(?:ing)?\s+\S+\s+from))\s*$",  # add 5 to 3 × 2
    re.I,
)
_CALL_BEFORE = re.compile(r"(?:\b(?:sin|cos|tan|log|ln|exp|[A-Za-z])|\\[A-Za-z]+|[\d)%])\s*$")
_OF = re.compile(r"\s*of\b")


@dataclass(frozen=True)
class Token:
    kind: str  # num | op | eq | word | other
    text: str
    start: int
    end: int
    units: tuple[str, ...] = ()  # of a number, singular: `3 hours total` -> ("hour", "total")


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
        tokens.append(Token(kind, match.group(), match.start(), match.end()))
    return tokens


def _is_unit(tokens: list[Token], i: int) -> bool:
    """A unit or label word after a number: `3 hours`, `48 clips in April`, `5kg`, `$3 each`."""
    token, word = tokens[i], tokens[i].text.lower()
    if token.kind != "word" or len(word) < 2 or not word.isalpha() or _NOT_UNIT.fullmatch(word):
        return False  # a lone letter may be a variable: 2x + 3
    glued = tokens[i - 1].kind == "num" and tokens[i - 1].end == token.start
    return not glued or bool(_GLUED_UNIT.fullmatch(word))


def _word_op(tokens: list[Token], i: int) -> tuple[Token, int] | None:
    """The operator at tokens[i] (a sign or words), with the index after it."""
    if i < len(tokens) and tokens[i].kind in ("op", "eq"):
        return tokens[i], i + 1
    for phrase, text in _WORD_OPS.items():
        end = i + len(words := phrase.split())
        if [t.text.lower() for t in tokens[i:end]] == words:
            kind = "eq" if text == "=" else "op"
            return Token(kind, text, tokens[i].start, tokens[end - 1].end), end
    return None


def _starts_quantity(tokens: list[Token], i: int) -> bool:
    """A number, `(` or `√` comes next, or a minus on a number: `is -3`."""
    ahead = ["num" if t.kind == "num" else t.text for t in tokens[i : i + 2]]
    return ahead[:1] in (["num"], ["("], ["√"]) or ahead == ["-", "num"]


def _computes(tokens: list[Token]) -> bool:
    """Whether the side read so far holds an operator: `3 hours x 2 chapters =`, not `1 hour =`."""
    for token in reversed(tokens):
        if token.kind not in ("num", "op"):
            return False
        if token.kind == "op" and token.text not in ("(", ")", "%"):
            return True
    return False


def _number(tokens: list[Token], i: int) -> Token:
    """The number at tokens[i] with its unit words, or "other" when it names something."""
    if i and _INDEX_WORD.fullmatch(tokens[i - 1].text):
        return replace(tokens[i], kind="other")  # "Week 1 earnings": not 1 of anything
    after = range(i + 1, min(i + 3, len(tokens)))
    words = itertools.takewhile(lambda j: _is_unit(tokens, j), after)
    singular = [re.sub(r"(?<=[^s]{3})s$", "", tokens[j].text.lower()) for j in words]
    return replace(tokens[i], units=tuple(singular))


def _operator(tokens: list[Token], i: int, out: list[Token]) -> tuple[Token, int] | None:
    """The operator the word at tokens[i] leads to after the quantity out[-1], if any.

    `hours x 2` and `times 3` are *, `clips in April +` is +, `is 15` is =.
    """
    j = i
    while j < len(tokens) and j - i < 4:  # up to three words: "clips in April", "dollars/hour"
        if _is_unit(tokens, j):
            j += 1
        elif j > i and tokens[j].text == "/" and j + 1 < len(tokens) and _is_unit(tokens, j + 1):
            j += 2
        else:
            break
    found = _word_op(tokens, j)
    if found is None:
        return None
    op, k = found
    if op.text == "of":  # 15% of 80, (1/2) of 48; not "2 of the 5 apples"
        share = out[-1].text in (")", "%") or (len(out) > 2 and out[-2].text == "/")
        return found if share and j == i and _starts_quantity(tokens, k) else None
    if tokens[j].text.lower() == "x" and tokens[j].start == tokens[j - 1].end:
        return None  # "2x": a variable, not a times sign
    if op.text == ")":
        return found if j > i else None
    if op.text in ("^", "(", "%", "√") or not _starts_quantity(tokens, k):
        return None  # "5 cm^2": the power belongs to the word
    # "is", or `=` after words, ends a calculation only: a lone number before it is part of a
    # name, as in "Week 1 total = 5 + 3" or "a 25% increase on 80 is 80 × 1.25".
    return found if op.kind != "eq" or _computes(out) else None


def _read_words(tokens: list[Token]) -> list[Token]:
    """Read words between quantities as math: `3 hours x 2 chapters is 6` -> `3 * 2 = 6`.

    Unit words after a number are dropped when an operator follows them, operator words become
    operators; any other word stays and ends the calculation.
    """
    out: list[Token] = []
    i = 0
    while i < len(tokens):
        token, last = tokens[i], out[-1] if out else None
        after_quantity = last is not None and (last.kind == "num" or last.text in (")", "%"))
        found = _operator(tokens, i, out) if token.kind == "word" and after_quantity else None
        if found:
            out.append(found[0])
            i = found[1]
            continue
        out.append(_number(tokens, i) if token.kind == "num" else token)
        i += 1
    return out


class _Parser:
    """Recursive descent over + - * / ^ √ % and parentheses, in exact fractions."""

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
        while self.peek() in ("*", "/", "(", "√", "of"):
            if self.peek() in ("(", "√"):  # implicit product: 3(4 + 5), 2√9
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
        if token.kind == "num" and len(token.text) <= MAX_DIGITS:
            return Fraction(token.text)
        if token.text == "√":  # binds to what follows: √16 + 9 is 4 + 9
            return _square_root(self.atom())
        if token.text == "(":
            value = self.expression()
            if self.peek() != ")":
                raise ValueError("unbalanced parenthesis")
            self.take()
            return value
        raise ValueError(f"unexpected {token.text!r}")


def _square_root(value: Fraction) -> Fraction:
    """The exact root; √2 has none, so it is not a number this checker can hold a step to."""
    if value < 0 or _bits(value) > _MAX_BITS:
        raise ValueError("no exact root")
    root = Fraction(math.isqrt(value.numerator), math.isqrt(value.denominator))
    if root * root != value:
        raise ValueError("irrational root")
    return root


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


def _glued(text: str, index: int) -> bool:
    """A character that binds to the number next to it: `2x`, `x_1`, `5!`, `2\\sqrt`, not `5kg`."""
    if not 0 <= index < len(text) or _GLUED_UNIT.match(text, index):
        return False
    return text[index].isalpha() or text[index] in "_!'\\∛∜:"  # `3:00`: a clock, a ratio


def _runs(tokens: list[Token]) -> list[list[Token]]:
    """Maximal stretches of math tokens; words and punctuation end a stretch."""
    runs: list[list[Token]] = [[]]
    for token in tokens:
        if token.kind not in ("num", "op", "eq"):
            if runs[-1]:
                runs.append([])
            continue
        last = runs[-1][-1] if runs[-1] else None
        spaced = last and last.end < token.start and (last.kind == "num" or last.text in ")%")
        if token.text == "(" and spaced:
            runs.append([])  # "= 24 (48 / 2)" is an aside, not 24 times 24
        runs[-1].append(token)
    for run in runs:  # "= 24 (the clips" leaves a dangling "(" that belongs to the words
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
    before = text[max(0, first.start - 50) : first.start]  # a window: long text stays linear
    # `2x + 3 = 11` leaves the run `+ 3 = 11`, `8 = 2 + 3x` leaves `8 = 2 + 3`: a side cut out
    # of a larger expression is not a claim. A leading minus counts only when written `-3`.
    unary_minus = (
        first.text == "-"
        and len(run) > 1
        and run[1].start == first.end
        and (first.start == 0 or text[first.start - 1] in " \t\n(=:,;")
    )
    # Words may carry the calculation on: "5 more than 3 × 2 = 11", "sin (30) = 0.5",
    # "10 - 2 is 3 more than 5", "2 is 1/2 of the total", "3 (4 + 5)".
    if (
        (first.kind == "op" and first.text not in ("(", "√") and not unary_minus)
        or _GOES_ON_BEFORE.search(before)
        or (first.text == "(" and _CALL_BEFORE.search(before))
        or _glued(text, first.start - 1)
    ):
        sides[0] = ([], sides[0][1])
    whole = len(sides[-1][0]) == 1 and "." not in last.text
    goes_on = _GOES_ON_AFTER.match(text, last.end) or (not whole and _OF.match(text, last.end))
    if goes_on or _glued(text, last.end):
        sides[-1] = ([], "")
    return [(_balanced(side), relation) for side, relation in sides]


def equations(text: str) -> list[list[tuple[list[Token], str]]]:
    """The calculations in a step, each as its sides with the relation (= or ≈) after each."""
    plain = normalize(text)
    return [_sides(run, plain) for run in _runs(_read_words(tokenize(plain)))]
