"""Find the final answer in a model's solution and compare it with a reference answer."""

from __future__ import annotations

import re
from fractions import Fraction

_BOXED = re.compile(r"\\(?:boxed|fbox)\b")
# "Answer: 18", "The final answer is $18$", "**Final Answer:** 18", or the answer on the next line.
_ANSWER_PHRASE = re.compile(r"(?i)\banswer\b\s*\**\s*(?:is\b\s*:?|:|=)\s*\**\s*([^\n]+)")
_MATH_SPANS = (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"))
_TEXT_COMMAND = re.compile(r"\\(?:text|textbf|textit|textrm|mathrm|mbox)\s*\{([^{}]*)\}")
_NUMBER = r"(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
_FRACTION = r"(?:\\frac\{\d+\}\{\d+\}|\d+/\d+)"
# One number with optional sign, currency, percent and unit words: "-$1,200.50 dollars", "5 cm^2".
_NUMERIC_WITH_UNITS = re.compile(
    rf"^(-?)\s*[$€£]?\s*({_FRACTION}|{_NUMBER})\s*(%?)"
    r"(?:\s+[A-Za-z][A-Za-z\s.,'/-]*(?:\^\{?\d\}?)?)?$"
)
# The last number in free text; a minus sign only when it is not a subtraction ("5-3").
_LAST_NUMBER = re.compile(rf"(?<![\w)])-?{_NUMBER}(?:/\d+)?|{_NUMBER}(?:/\d+)?")
_PLAIN_NUMBER = re.compile(r"^(-?)(\d+(?:\.\d+)?|\.\d+)(%?)$")
_PLAIN_FRACTION = re.compile(r"^(-?)(?:\\frac\{(-?\d+)\}\{(-?\d+)\}|(\d+)/(\d+))$")
_MAX_ANSWER_CHARS = 200  # a phrase longer than this is a sentence, not an answer
_MAX_SYMBOLIC_CHARS = 400  # longer "answers" are prose; sympy gets slow on them
_MAX_EXPONENT_DIGITS = 3


def _braced(text: str, start: int, pair: str = "{}") -> tuple[str, int] | None:
    """The content of the {...} group opening at text[start], and the index after it."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == pair[0]:
            depth += 1
        elif text[i] == pair[1]:
            depth -= 1
            if depth == 0:
                return text[start + 1 : i], i + 1
    return None


def _boxed_contents(text: str) -> list[str]:
    contents = []
    for match in _BOXED.finditer(text):
        i = match.end()
        while i < len(text) and text[i] in " \t":
            i += 1
        if i < len(text) and text[i] == "{":
            group = _braced(text, i)
            if group is not None:
                contents.append(group[0])
        else:  # "\boxed 5": the argument is the next token
            token = re.match(r"[^\s$]+", text[i:])
            if token:
                contents.append(token.group())
    return contents


def _unwrap_math(text: str) -> str:
    """Strip math delimiters around an answer: `$18$.` -> `18`, `\\( x \\)` -> `x`."""
    text = text.strip()
    for opening, closing in _MATH_SPANS:
        if text.startswith(opening):
            end = text.find(closing, len(opening))
            if end != -1:
                return text[len(opening) : end].strip()
    return text


def _clean(answer: str) -> str:
    """Normalise an answer's LaTeX; a numeric answer loses its units, currency and commas."""
    text = _unwrap_math(answer.strip(" *"))  # "**$18$**" (markdown bold)
    text = _TEXT_COMMAND.sub(lambda m: f" {m.group(1)} ", text)
    text = re.sub(r"\\[dt]frac", r"\\frac", text)
    text = re.sub(r"\\frac(\d)(\d)", r"\\frac{\1}{\2}", text)
    text = re.sub(r"\\left|\\right|\\displaystyle", "", text)
    text = re.sub(r"\^\s*\{?\\circ\}?|°", "", text)
    text = text.replace("{,}", ",").replace("\\%", "%").replace("\\$", "$")
    text = re.sub(r"(?<=\d)\\,(?=\d{3})", "", text)  # "1\,200"
    text = re.sub(r"\\[,;:! ]", " ", text)
    # Only commas, semicolons and stars lead: ".5" is a number.
    text = " ".join(text.split()).lstrip(" ;,*").rstrip(" .;,*")
    if "=" in text:  # "2S = 118" or "x = 5": the value is on the right
        right = text.rsplit("=", 1)[1].strip()
        if _numeric_core(right) is not None:
            text = right
    return _numeric_core(text) or text


def _numeric_core(text: str) -> str | None:
    """`-$1,200 dollars` -> `-1200`; None unless the text is one number with at most units."""
    match = _NUMERIC_WITH_UNITS.match(text)
    if not match:
        return None
    sign, number, percent = match.groups()
    return f"{sign}{number.replace(',', '')}{percent}"


def _is_answer_like(answer: str) -> bool:
    """A phrase's tail is an answer if it has a number or math, or is a word or two ("B", "yes")."""
    if not answer or len(answer) > _MAX_ANSWER_CHARS:
        return False
    return bool(re.search(r"[\d\\]", answer)) or len(answer.split()) <= 2


def _phrase_answers(text: str) -> list[str]:
    answers = []
    for match in _ANSWER_PHRASE.finditer(text):
        # The sentence ends the answer: "The final answer is 18. I hope it is correct."
        answer = _clean(re.split(r"\.\s", match.group(1), maxsplit=1)[0])
        if _is_answer_like(answer):
            answers.append(answer)
    return answers


def extract_answer(text: str, *, allow_last_number: bool = True) -> str | None:
    """The final answer: the last \\boxed{}, else an "answer is" phrase, else the last number."""
    if not isinstance(text, str) or not text.strip():
        return None
    for content in reversed(_boxed_contents(text)):
        answer = _clean(content)
        if answer:
            return answer
    phrases = _phrase_answers(text)
    if phrases:
        return phrases[-1]
    if allow_last_number:
        numbers = _LAST_NUMBER.findall(text)
        if numbers:
            return _clean(numbers[-1])
    return None


def has_final_answer(text: str) -> bool:
    """True when the text states a final answer (\\boxed{} or an answer phrase)."""
    if not isinstance(text, str):
        return False
    return any(_clean(c) for c in _boxed_contents(text)) or bool(_phrase_answers(text))


def _as_number(answer: str) -> tuple[Fraction, bool] | None:
    """The exact value of a numeric answer and whether it was a percentage."""
    text = _clean(answer)
    if match := _PLAIN_NUMBER.match(text):
        value = Fraction(match.group(2))
        return (-value if match.group(1) else value), bool(match.group(3))
    if match := _PLAIN_FRACTION.match(text):
        numerator, denominator = match.group(2) or match.group(4), match.group(3) or match.group(5)
        if int(denominator) == 0:
            return None
        value = Fraction(int(numerator), int(denominator))
        return (-value if match.group(1) else value), False
    return None


def _numbers_match(predicted: tuple[Fraction, bool], reference: tuple[Fraction, bool]) -> bool:
    """`50%` matches both `50` and `0.5`: a percentage may be written as either."""

    def readings(value: Fraction, is_percent: bool) -> set[Fraction]:
        return {value, value / 100} if is_percent else {value}

    return bool(readings(*predicted) & readings(*reference))


def _as_latex(answer: str) -> str:
    return answer if "$" in answer or "\\boxed" in answer else f"${answer}$"


def _too_costly(answer: str) -> bool:
    """Huge powers or factorials (`10^{10^{10}}`, `10000!`): sympy would compute them for ages.

    math_verify's own timeout cannot run outside the main thread, so such input never reaches it.
    """
    if len(answer) > _MAX_SYMBOLIC_CHARS or "**" in answer or re.search(r"\d{4,}\s*!", answer):
        return True
    for match in re.finditer(r"\^\s*", answer):
        start = match.end()
        opening = answer[start : start + 1]
        if opening in ("{", "("):
            group = _braced(answer, start, "{}" if opening == "{" else "()")
            exponent = group[0] if group else answer[start:]
        else:
            exponent = re.match(r"[\d.]*", answer[start:]).group()
        if "^" in exponent or len(re.sub(r"\D", "", exponent)) > _MAX_EXPONENT_DIGITS:
            return True
    return False


def _symbolic_match(predicted: str, reference: str) -> bool:
    if _too_costly(predicted) or _too_costly(reference):
        return False
    # Imported here: sympy takes seconds to load and most answers never need it.
    from math_verify import parse, verify

    # parsing_timeout / timeout_seconds = None: math_verify's default timeouts use SIGALRM,
    # which raises "signal only works in main thread" in Streamlit's worker threads.
    gold = parse(_as_latex(reference), parsing_timeout=None)
    target = parse(_as_latex(predicted), parsing_timeout=None)
    if not gold or not target:
        return False
    return bool(verify(gold, target, timeout_seconds=None))


def answers_match(predicted: str, reference: str) -> bool:
    """Whether two answers agree: exactly for numbers, symbolically (math_verify) otherwise."""
    if not isinstance(predicted, str) or not isinstance(reference, str):
        return False
    if not predicted.strip() or not reference.strip():
        return False
    try:
        predicted_number, reference_number = _as_number(predicted), _as_number(reference)
        if predicted_number is not None and reference_number is not None:
            return _numbers_match(predicted_number, reference_number)
        predicted, reference = _clean(predicted), _clean(reference)
        if "".join(predicted.split()).casefold() == "".join(reference.split()).casefold():
            return True
        return _symbolic_match(predicted, reference)
    except Exception:  # model text is arbitrary: an answer we cannot read is not a match
        return False
