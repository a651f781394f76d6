import pytest

from core.verifiers.arithmetic import (
    FLOOR_SCORE,
    NEUTRAL_SCORE,
    VERIFIED_SCORE,
    WRONG_SCORE,
    ArithmeticChecker,
    find_claims,
)

CLIPS = (
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips "
    "in May. How many clips did Natalia sell altogether in April and May?"
)

TRUE_STEPS = [
    "48 / 2 = 24",
    "3 × 4 = 12",
    r"\( 3 \times 4 = 12 \)",
    r"$3 \cdot 4 = 12$",
    "12 ÷ 4 = 3",
    r"\[ 48 \div 2 = 24 \]",
    r"\frac{3}{4} \times 8 = 6",
    r"\dfrac{1}{2} + \dfrac{1}{4} = \dfrac{3}{4}",
    "$1,200 - $200 = $1,000",
    r"\$1{,}200 - \$200 = \$1{,}000",
    "15% of 80 = 12",
    r"20\% \times 50 = 10",
    "0.15 × 100 = 15%",
    "0.5 * 7 = 3.5",
    "2 + 3 + 4 = 9",
    "(2 + 3) × 4 = 20",
    "3(4 + 5) = 27",
    "5 - 8 = -3",
    "2^{10} = 1024",
    "10 / 3 = 3.33",
    "10 / 3 ≈ 3",
    r"\[ \text{Total} = 48 + 24 = 72 \]",
    r"5 \text{ apples} + 3 \text{ apples} = 8 \text{ apples}",
    r"2\frac{1}{2} + 1 = 3\frac{1}{2}",
    "Step 2: In May she sold 48 / 2 = 24 clips (half of April).",
    "(since 3 + 4 = 7)",
    r"\begin{align*} 48 / 2 &= 24 \\ 24 + 48 &= 72 \end{align*}",
    "<<48/2=24>>24",
    # Unit words between numbers and operators, `x` as times, labels, currency, separators.
    "3 hours x 2 chapters = 6 hours total.",
    "2 hours * 60 = 120 minutes",
    "48 clips in April + 24 clips in May = 72 clips",
    "$5 per hour x 8 hours = $40",
    "(2 + 3) x 4 = 20",
    "5kg + 3kg = 8kg",
    "$80,000 (purchase) + $50,000 (repairs) = $130,000 total invested.",
    "€1\u202f234 + €766 = €2\u202f000",  # narrow no-break spaces group thousands
    # Unicode and LaTeX operators.
    "3² + 4² = 25",
    "10¹² / 10¹⁰ = 100",
    "√16 = 4",
    "√(9 + 16) = 5",
    r"\sqrt{16} = 4",
    r"\sqrt{9} \times 2 = 6",
    "3^2 + 4^2 = 25",
    r"3 \cdot 4 \div 2 = 6",
    "2½ + 1 = 3½",
    # A running total written as a chain.
    "2 + 3 = 5 × 2 = 10",
    "48 / 2 = 24 + 48 = 72",
    # Everyday phrasings.
    "5 times 3 is 15",
    "48 divided by 2 is 24",
    "24 plus 48 equals 72",
    "half of 48 is 24",
    "a third of 90 = 30",
    "twice 24 is 48",
    "20% of 50 = 10",
    "20 percent of 50 is 10",
    "5 squared + 3 = 28",
    "the square root of 16 is 4",
    "48 / 2 = 24 (half of 48)",
]

FALSE_STEPS = [
    ("7 × 8 = 54", "7 × 8 = 54 (is 56)"),
    ("48 / 2 = 25", "48 / 2 = 25 (is 24)"),
    (r"\( 3 \times 4 = 13 \)", "3 × 4 = 13 (is 12)"),
    (r"$6 \cdot 7 = 48$", "6 × 7 = 48 (is 42)"),
    ("12 ÷ 4 = 4", "12 / 4 = 4 (is 3)"),
    (r"\frac{3}{4} \times 8 = 7", "(3 / 4) × 8 = 7 (is 6)"),
    ("$1,200 - $200 = $1,100", "1200 - 200 = 1100 (is 1000)"),
    ("15% of 80 = 15", "15% of 80 = 15 (is 12)"),
    ("0.5 * 7 = 3.6", "0.5 × 7 = 3.6 (is 3.5)"),
    ("2 + 3 + 4 = 10", "2 + 3 + 4 = 10 (is 9)"),
    ("(2 + 3) × 4 = 14", "(2 + 3) × 4 = 14 (is 20)"),
    ("5 - 8 = 3", "5 - 8 = 3 (is -3)"),
    ("10 / 3 = 3", "10 / 3 = 3 (is ≈3.3333)"),
    ("2 / 3 = 0.66", "2 / 3 = 0.66 (is ≈0.6667)"),
    (r"\[ \text{Total} = 48 + 24 = 82 \]", "48 + 24 = 82 (is 72)"),
    ("3 + 4 = 7 = 8 - 2", "7 = 8 - 2 (is 6)"),
    (r"\[ 48 \div 2 = 26 \text{ clips} \]", "48 / 2 = 26 (is 24)"),
    ("3 hours x 2 chapters = 7 hours total.", "3 × 2 = 7 (is 6)"),
    (
        "$80,000 (purchase) + $50,000 (repairs) = $140,000 total invested.",
        "80000 + 50000 = 140000 (is 130000)",
    ),
    ("5kg + 3kg = 9kg", "5 + 3 = 9 (is 8)"),
    ("3² + 4² = 24", "3^2 + 4^2 = 24 (is 25)"),
    ("√16 = 5", "√16 = 5 (is 4)"),
    (r"\sqrt{16} = 5", "√(16) = 5 (is 4)"),
    ("3^2 + 4^2 = 24", "3^2 + 4^2 = 24 (is 25)"),
    ("2 + 3 = 6 × 2 = 12", "2 + 3 = 6 × 2 (is 5)"),  # wrong read either way
    ("5 times 3 is 16", "5 × 3 = 16 (is 15)"),
    ("half of 48 is 25", "(1 / 2) of 48 = 25 (is 24)"),
    ("20% of 50 = 15", "20% of 50 = 15 (is 10)"),
    ("20% of 50 + 5 = 16", "20% of 50 + 5 = 16 (is 15)"),
    ("15% + 5% = 25%", "15% + 5% = 25% (is 0.2)"),
]


@pytest.mark.parametrize("step", TRUE_STEPS)
def test_true_claims(step: str) -> None:
    claims = find_claims(step)
    assert claims, "no claim found"
    assert all(claim.correct for claim in claims), [c.text for c in claims]


@pytest.mark.parametrize(("step", "wrong"), FALSE_STEPS)
def test_false_claims(step: str, wrong: str) -> None:
    scores = ArithmeticChecker().score(step, [[step]])
    assert scores.scores == [WRONG_SCORE]
    assert scores.details == [f"wrong: {wrong}"]


@pytest.mark.parametrize(
    "step",
    [
        r"\( 2S = 118 \)",  # an equation in a variable, not arithmetic
        "2x + 3 = 11",
        "8 = 2 + 3x",
        "x - 3 = 7",
        "x^2 = 16",
        r"x_{1} + 2 = 5",
        "f(3) = 9",
        "5! = 120",
        "25% = 0.25",
        "1 hour = 60 minutes",
        "√2 ≈ 1.414",  # irrational: no exact value to hold a step to
        r"\sqrt[3]{27} = 3",  # only square roots are read
        "1/0 = 5",
        "2^99999 = 5",
        "(" * 2000 + "1" + ")" * 2000 + " = 2",
        "",
        "}}{{ \\frac{ = = ^^ %% ((",
    ],
)
def test_not_claims(step: str) -> None:
    assert find_claims(step) == []


@pytest.mark.parametrize(
    "step",
    [
        # Units the checker does not convert: these may be right, so they are never wrong.
        "3 hours x 2 = 360 minutes",
        "2 hours + 30 minutes = 150 minutes",
        "5 dollars + 50 cents = 5.50 dollars",
        "2 pairs + 3 socks = 7 socks",
        "11 am + 3 hours = 2 pm",
        "3:00 + 2 hours = 5:00",
        "2 dozen + 3 = 27",
        "3 × 16 = 4 dozen",
        "2 thousand + 500 = 2500",
        "$50 - 20% = $40",  # 20% off
        "$25 + 8% = $27",  # 8% tax
        "5 cm² + 3 cm² = 8 cm²",
        # A word before a number names it, or before `=` labels it.
        "Week 1 earnings - 5 = 45",
        "Week 1 earnings = 5 × 10 = 50",
        "After 3 days the total = 10 + 5 = 15",
        "A 25% increase on 80 is 80 × 1.25 = 100.",
        # Words that carry the calculation on past the numbers.
        "10 - 2 is 3 more than 5",
        "5 more than 3 × 2 = 11",
        "Add 5 to 3 × 2 = 11",
        "12 is 3 times as many as 4",
        "2 is 1/2 of the total",
        "24 doubled + 2 = 50",
        "sin (30) = 0.5",
        r"\sin (30°) = 0.5",
        # Variables, roots that are not read, asides, running totals.
        "2 x + 3 = 11",
        "2xy + 3 = 7",
        "∛27 + 1 = 4",
        "√2 × √2 = 2",
        "3 (4 + 5) = 27",
        "48 / 2 = 24 (48 ÷ 2)",
        "2 + 3 = 5 × 2 = 10",
        "3 × 4 = 12 × 2 = 24",
    ],
)
def test_informal_notation_is_never_proven_wrong(step: str) -> None:
    assert all(claim.correct for claim in find_claims(step)), [c.text for c in find_claims(step)]
    assert ArithmeticChecker().score(step, [[step]]).scores != [WRONG_SCORE]


HOUSE = "Tom bought a house for $80,000 and spent $50,000 on repairs. How much did he invest?"


@pytest.mark.parametrize(
    ("step", "score"),
    [
        ("3 hours x 2 chapters = 7 hours total.", WRONG_SCORE),
        ("3 hours x 2 chapters = 6 hours total.", VERIFIED_SCORE),
        ("$80,000 (purchase) + $50,000 (repairs) = $140,000 total invested.", WRONG_SCORE),
        ("$80,000 (purchase) + $50,000 (repairs) = $130,000 total invested.", VERIFIED_SCORE),
        ("3² + 4² = 24", WRONG_SCORE),
        ("3² + 4² = 25", VERIFIED_SCORE),
        ("√16 = 5", WRONG_SCORE),
        ("√16 = 4", VERIFIED_SCORE),
        ("2 + 3 = 5 × 2 = 10", VERIFIED_SCORE),
        ("5 times 3 is 15", VERIFIED_SCORE),
        ("half of 50 is 25", VERIFIED_SCORE),
        ("20% of 50 = 10", VERIFIED_SCORE),
    ],
)
def test_everyday_notation_scores(arithmetic: ArithmeticChecker, step: str, score: float) -> None:
    assert arithmetic.score(HOUSE, [[step]]).scores == [score]


def test_scores_verified_step_high(arithmetic: ArithmeticChecker) -> None:
    step = r"Step 1: In May she sold \( 48 \div 2 = 24 \) clips."
    result = arithmetic.score(CLIPS, [[step]])
    assert result.scores == [VERIFIED_SCORE]
    assert result.details == ["1 claim checked, all right"]
    assert result.calls == []


def test_counts_every_checked_claim(arithmetic: ArithmeticChecker) -> None:
    step = "In May: 48 / 2 = 24. Altogether: \\[ 48 + 24 = 72 \\]"
    assert arithmetic.score(CLIPS, [[step]]).details == ["2 claims checked, all right"]


def test_claims_on_separate_lines(arithmetic: ArithmeticChecker) -> None:
    step = "\\[\n48 \\div 2 = 24\n\\]\n\\[\n24 + 48 = 72\n\\]\n48 / 2 = 24\n24 + 48 = 72"
    assert arithmetic.score(CLIPS, [[step]]).details == ["4 claims checked, all right"]


def test_neutral_without_claims(arithmetic: ArithmeticChecker) -> None:
    result = arithmetic.score(CLIPS, [["We add the clips from April and from May."]])
    assert result.scores == [NEUTRAL_SCORE]
    assert result.details == ["no arithmetic to check"]


def test_number_from_nowhere(arithmetic: ArithmeticChecker) -> None:
    result = arithmetic.score(CLIPS, [["In May she sold 17 clips."]])
    assert result.scores[0] < NEUTRAL_SCORE
    assert result.details == ["no arithmetic to check; number 17 appears from nowhere"]


def test_many_numbers_from_nowhere_hit_the_floor(arithmetic: ArithmeticChecker) -> None:
    step = "She sold 17, 23, 41, 57, 83 and 97 clips."
    result = arithmetic.score(CLIPS, [[step]])
    assert result.scores == [FLOOR_SCORE]
    assert result.details == [
        "no arithmetic to check; numbers 17, 23, 41, 57, 83, 97 appear from nowhere"
    ]


def test_unexplained_number_lowers_a_verified_step(arithmetic: ArithmeticChecker) -> None:
    result = arithmetic.score(CLIPS, [["48 / 2 = 24, plus 13 from the shop."]])
    assert NEUTRAL_SCORE < result.scores[0] < VERIFIED_SCORE
    assert result.details == ["1 claim checked, all right; number 13 appears from nowhere"]


def test_wrong_claim_wins_over_everything(arithmetic: ArithmeticChecker) -> None:
    result = arithmetic.score(CLIPS, [["48 / 2 = 24 and 24 + 48 = 70, plus 13."]])
    assert result.scores == [WRONG_SCORE]
    assert result.details[0].startswith("wrong: 24 + 48 = 70 (is 72)")


@pytest.mark.parametrize(
    "step",
    [
        "Step 3: We add the two months.",  # step index
        "**Step 11:** We add the two months.",
        "11. We add the two months.",
        "There are 12 months, 24 hours, 60 minutes, 365 days and 100 percent.",  # constants
        "April had 48 sales.",  # from the question
        "In May she sold 24 clips.",  # from an earlier step
        "A loss of -48 clips.",  # a sign flip of a known number
    ],
)
def test_explained_numbers(arithmetic: ArithmeticChecker, step: str) -> None:
    earlier = "Half of 48 is 24."
    result = arithmetic.score(CLIPS, [[earlier, step]])
    assert "from nowhere" not in result.details[0], result.details[0]


def test_number_word_and_digits_are_one_number(arithmetic: ArithmeticChecker) -> None:
    result = arithmetic.score(CLIPS, [["Fifteen friends, that is 15."]])
    assert result.details == ["no arithmetic to check; number 15 appears from nowhere"]


def test_question_number_words_and_percent(arithmetic: ArithmeticChecker) -> None:
    question = "A shop of twenty-seven shirts gives 15% off. What is the discount?"
    step = "There are 27 shirts and the rate is 0.15."
    assert arithmetic.score(question, [[step]]).details == ["no arithmetic to check"]


def test_scores_only_the_last_step(arithmetic: ArithmeticChecker) -> None:
    path = ["48 / 2 = 25", "So we keep going."]
    result = arithmetic.score(CLIPS, [path])
    assert result.scores == [NEUTRAL_SCORE]


def test_one_score_per_path(arithmetic: ArithmeticChecker) -> None:
    paths = [["48 / 2 = 24"], ["48 / 2 = 25"], [], ["   "]]
    result = arithmetic.score(CLIPS, paths)
    assert result.scores == [VERIFIED_SCORE, WRONG_SCORE, NEUTRAL_SCORE, NEUTRAL_SCORE]
    assert len(result.details) == 4
    assert all(0 <= score <= 1 for score in result.scores)


def test_name_and_cost() -> None:
    checker = ArithmeticChecker()
    assert checker.name == "arithmetic"
    assert checker.model == "rules"


@pytest.mark.parametrize(
    "step",
    [
        "(10^64)^64 / 3 = 5",
        "((10^64)^64)^64 = 1",
        "1" * 5000 + " + 1 = 2",
        "2^64^64 = 1",
        "√((10^64)^64) = 1",
        "√" * 3000 + "16 = 2",
        "9" * 5000 + "² = 1",
        "99999! = 5",
        "2^64 × " * 200 + "1 = 2",
    ],
)
def test_hostile_numbers_do_not_crash(arithmetic: ArithmeticChecker, step: str) -> None:
    result = arithmetic.score(CLIPS, [[step]])
    assert len(result.scores) == 1
    assert 0 <= result.scores[0] <= 1
