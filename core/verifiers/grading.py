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
_PLAIN_NUMBER = re.compile(r"^(-?)(\d+(?:\.\d+)?|\.\d+)(%?)$")
_PLAIN_FRACTION = re.compile(r"^(-?)(?:\\frac\{(-?\d+)\}\{(-?\d+)\}|(\d+)/(\d+))$")
_THINK_BLOCK = re.compile(r"<think>(.*?)</think>", re.DOTALL)
_THINK_OPEN = re.compile(r"<think>")
_MIXED_NUMBER = re.compile(r"(?<![\d/.,])(\d+)[ \t]+(\d+)/(\d+)(?![\d/])")
# "15 percent" or a bare "15%" outside LaTeX: math-verify reads the value but drops the "%".
_PERCENT_WORD = re.compile(r"(?<![\d.$\\{])(\d+(?:\.\d+)?)\s*(?:%|\bper\s?cent\b)", re.IGNORECASE)
_STEP_MARKER = re.compile(r"(?i)\*{0,2}\bstep\s+\d+\b\*{0,2}")
# A list marker has text after it on its line: "2. Subtract...". A line that is only "42." is an
# answer, not a marker.
_LIST_MARKER = re.compile(r"(?m)^[ \t]*(?:#+[ \t]*)?\d+[.)](?=[ \t]+\S)")
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
    if text.count("=") == 1:  # "2S = 118" or "x = 5": the value is on the right
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


def split_thinking(text: str) -> tuple[str, str, bool]:
    """(thinking, visible text, whether every `<think>` block was closed).

    Reasoning servers (DeepSeek-R1 style, Qwen3, llama.cpp without a reasoning parser) put the
    model's thinking inside `<think>...</think>` in the content; it is the node's thinking, not
    its text, and a reply cut off inside it never reached an answer.
    """
    thinking: list[str] = []
    visible = _THINK_BLOCK.sub(lambda m: thinking.append(m.group(1).strip()) or "", text)
    opened = _THINK_OPEN.search(visible)
    closed = opened is None
    if opened:
        thinking.append(visible[opened.end() :].strip())
        visible = visible[: opened.start()]
    if "</think>" in visible and not thinking:  # the server sent only the closing tag
        before, _, visible = visible.rpartition("</think>")
        thinking.append(before.strip())
    return "\n\n".join(t for t in thinking if t), visible.strip(), closed


def _rewrite_for_parser(text: str) -> str:
    """What math-verify does not read as people mean it, rewritten into forms it does read.

    Mixed numbers ("1 1/4" is 5/4, not 1), "15 percent" (a percentage, not 15), and step or list
    markers ("Step 4", a line starting "2. "), which are never answers.
    """
    text = text.replace("\\$", "$")  # an escaped dollar sign is currency; math-verify drops it all
    text = _MIXED_NUMBER.sub(_mixed_to_fraction, text)
    text = _PERCENT_WORD.sub(r"$\1\\%$", text)
    text = _STEP_MARKER.sub(" ", text)
    return _LIST_MARKER.sub("", _drop_bare_list_numbers(text))


def _drop_bare_list_numbers(text: str) -> str:
    """A line that is only "3." after a line numbered "2." is the next list item, cut off."""
    lines, previous = text.split("\n"), None
    for i, line in enumerate(lines):
        marker = re.match(r"\s*(\d+)[.)](\s*$)?", line)
        if marker and marker.group(2) is not None and previous == int(marker.group(1)) - 1:
            lines[i] = ""
        if line.strip():
            previous = int(marker.group(1)) if marker else None
    return "\n".join(lines)


def _mixed_to_fraction(match: re.Match[str]) -> str:
    whole, numerator, denominator = (int(g) for g in match.groups())
    if denominator == 0 or numerator >= denominator:
        return match.group(0)
    return f"\\frac{{{whole * denominator + numerator}}}{{{denominator}}}"


def _parsed_answer(text: str) -> str | None:
    """math-verify's own extraction: \\boxed{} first, then "final answer is", then the last
    LaTeX or plain expression; returns the matched text, normalised (thousands separators,
    decimal commas, LaTeX spacing)."""
    if _huge(text) or re.search(r"\*\*\s*\d{4,}", text):
        return None
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse

    # parsing_timeout=None: math-verify's timeout uses SIGALRM, impossible off the main thread.
    parsed = parse(
        text,
        extraction_config=[LatexExtractionConfig(boxed_match_priority=0), ExprExtractionConfig()],
        parsing_timeout=None,
    )
    return _clean(parsed[1]) if len(parsed) == 2 and isinstance(parsed[1], str) else None


def extract_answer(text: str, *, complete: bool = True) -> str | None:
    """The final answer a solution states, or None when it states none.

    `complete=False` is for a reply cut off by its token limit: only an answer it stated
    (\\boxed{} or "the answer is ...") counts, never a number from a sentence it did not finish.
    Finding and normalising the answer is math-verify's (Hugging Face, `math_verify.parse`);
    what it does not do is done before it (see `_rewrite_for_parser`): thinking blocks are
    dropped, and one- or two-word answers ("B", "yes") are read from an answer phrase.
    """
    if not isinstance(text, str) or not text.strip():
        return None
    _, text, closed = split_thinking(text)
    if not closed or not text:
        return None
    if not complete and not has_final_answer(text):
        return None
    try:
        text = _rewrite_for_parser(text)
        boxed = [c for c in (_clean(b) for b in _boxed_contents(text)) if c]
        if boxed and _as_number(boxed[-1]) is not None:
            return boxed[-1]  # a plain number in a box: no need to wake sympy
        answer = _parsed_answer(text)
    except Exception:  # model text is arbitrary: an answer we cannot read is no answer
        answer = None
    if answer:
        return answer
    # What math-verify could not parse: an answer phrase's own words or number ("B", "yes").
    phrases = [a for a in _phrase_answers(text) if re.search(r"\w", a)]
    return phrases[-1] if phrases else None


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
    """An answer too long or too big to hand to sympy (see `_huge`)."""
    return len(answer) > _MAX_SYMBOLIC_CHARS or "**" in answer or _huge(answer)


def _huge(text: str) -> bool:
    """Huge powers or factorials (`10^{10^{10}}`, `10000!`): sympy would compute them for ages.

    math_verify's own timeout cannot run outside the main thread, so such input never reaches it.
    """
    if re.search(r"\d{4,}\s*!", text):
        return True
    for match in re.finditer(r"\^\s*", text):
        start = match.end()
        opening = text[start : start + 1]
        if opening in ("{", "("):
            group = _braced(text, start, "{}" if opening == "{" else "()")
            exponent = group[0] if group else text[start:]
        else:
            exponent = re.match(r"[\d.]*", text[start:]).group()
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
