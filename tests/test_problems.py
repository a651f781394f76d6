import io
import json
import re
from collections import Counter
from fractions import Fraction
from pathlib import Path

import pytest

from core.problems.base import MAX_QUESTION_CHARS
from core.problems.catalog import (
    PROBLEM_SETS,
    custom_problem,
    find_problem,
    load_problem_set,
)
from core.problems.curated import curated_problems
from core.problems.generated import DATASETS, generated_problems
from core.problems.jsonl import load_jsonl

# --- curated -----------------------------------------------------------------------------


def test_curated_set_has_a_spread_of_difficulties() -> None:
    problems = curated_problems()
    assert len(problems) >= 32
    counts = Counter(p.difficulty for p in problems)
    assert set(counts) == {"easy", "medium", "hard"}
    assert all(counts[level] >= 10 for level in ("easy", "medium", "hard"))
    assert {p.source for p in problems} == {"curated"}


def test_curated_ids_are_unique() -> None:
    ids = [p.id for p in curated_problems()]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("problem", curated_problems(), ids=lambda p: p.id)
def test_curated_answer_grades_correct_against_itself(problem) -> None:
    assert problem.answer
    assert problem.grade(problem.answer) is True
    assert problem.grade(f"\\boxed{{{problem.answer}}}") is True


@pytest.mark.parametrize(
    ("problem_id", "right", "wrong"),
    [("c12", "40.50", "40"), ("c31", "14.4", "15"), ("c26", "328", "360")],
)
def test_curated_grading_tells_right_from_wrong(problem_id: str, right: str, wrong: str) -> None:
    problem = find_problem(f"curated:{problem_id}")
    assert problem.grade(right) is True
    assert problem.grade(wrong) is False


# --- generated ---------------------------------------------------------------------------


@pytest.mark.parametrize("dataset", ["gsm_symbolic", "basic_arithmetic", "countdown"])
def test_generated_sets_are_deterministic_by_seed(dataset: str) -> None:
    first = generated_problems(dataset, 3, 6)
    again = generated_problems(dataset, 3, 6)
    other_seed = generated_problems(dataset, 4, 6)
    assert [p.question for p in first] == [p.question for p in again]
    assert [p.id for p in first] == [f"{dataset}:3:{i}" for i in range(6)]
    # Neighbouring seeds must not be the same set shifted by one item.
    assert not {p.question for p in first} & {p.question for p in other_seed}
    assert {p.source for p in first} == {f"reasoning-gym:{dataset}"}


def test_generated_sets_do_not_depend_on_the_cache() -> None:
    from core.problems import generated

    first = [p.question for p in generated_problems("basic_arithmetic", 5, 4)]
    generated._generated.cache_clear()
    generated._dataset.cache_clear()
    assert [p.question for p in generated_problems("basic_arithmetic", 5, 4)] == first


def test_an_item_is_the_same_in_a_smaller_or_larger_set() -> None:
    small = generated_problems("gsm_symbolic", 1, 4)
    large = generated_problems("gsm_symbolic", 1, 12)
    assert large[:4] == small
    assert find_problem("gsm_symbolic:1:9") == large[9]


@pytest.mark.parametrize("dataset", ["gsm_symbolic", "basic_arithmetic"])
def test_math_datasets_carry_a_reference_answer(dataset: str) -> None:
    for problem in generated_problems(dataset, 0, 10):
        assert problem.answer is not None and problem.scorer is None
        assert problem.grade(problem.answer) is True


def test_basic_arithmetic_reference_is_true_division() -> None:
    # reasoning-gym computes `/` as floor division and so calls this one -1.
    problem = find_problem("basic_arithmetic:0:153")
    assert problem.metadata["expression"] == "-1 / -( -( -( -2 - 9 ) ) + -3 + -13 )"
    assert problem.answer == "-1/27"
    assert problem.grade("-1") is False
    for problem in generated_problems("basic_arithmetic", 0, 30):
        # The expression is reasoning-gym's own, made of digits, operators and parentheses.
        exact = eval(re.sub(r"(\d+)", r"Fraction(\1)", problem.metadata["expression"]))
        assert Fraction(problem.answer) == exact


def test_basic_arithmetic_difficulty_comes_from_the_dataset() -> None:
    levels = {p.difficulty for p in generated_problems("basic_arithmetic", 0, 40)}
    assert levels == {"easy", "medium", "hard"}
    assert {p.difficulty for p in generated_problems("gsm_symbolic", 0, 5)} == {"unknown"}


@pytest.mark.parametrize("dataset", ["puzzle24", "countdown"])
def test_puzzle_scorer_accepts_a_solution_and_rejects_a_wrong_one(dataset: str) -> None:
    problem = generated_problems(dataset, 0, 3)[1]
    numbers = problem.metadata["numbers"]
    target = problem.metadata.get("target", 24)
    assert problem.answer is None and problem.scorer is not None
    assert "\\boxed{}" in problem.answer_format
    assert problem.grade(problem.metadata["example_solution"]) is True
    assert problem.grade(" + ".join(map(str, numbers))) is (sum(numbers) == target)
    assert problem.grade(str(target)) is False  # the target alone uses none of the numbers
    assert problem.grade("1 +") is False
    assert problem.grade("__import__('os').getcwd()") is False


def test_puzzle24_scorer() -> None:
    problem = find_problem("puzzle24:0:1")  # make 24 from 8, 5, 10, 6
    assert sorted(problem.metadata["numbers"]) == [5, 6, 8, 10]
    assert problem.grade("10*(8 - 5) - 6") is True
    assert problem.grade(r"10 \times (8 - 5) - 6") is True  # LaTeX as the model writes it
    assert problem.grade("(10*(8-5)-6) = 24") is True
    assert problem.grade("10*(8 + 5) - 6") is False  # 124
    assert problem.grade("6*4*1*1") is False  # 24, but not from the numbers given
    assert problem.grade("10*(8 - 5) - 6 - 0") is False  # a fifth number
    assert problem.grade("8**2 - 40") is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("nope", 0, 5), "choose one of gsm_symbolic, basic_arithmetic"),
        (("gsm_symbolic", 0, 0), "size must be a whole number from 1 to 1000"),
        (("gsm_symbolic", 0, 1001), "from 1 to 1000"),
        (("gsm_symbolic", -1, 5), "seed must be a whole number >= 0"),
    ],
)
def test_generated_problems_rejects_bad_arguments(args: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        generated_problems(*args)


# --- catalog -----------------------------------------------------------------------------


def test_catalog_names_every_set() -> None:
    assert set(PROBLEM_SETS) == {"curated", *DATASETS}
    assert {"curated", "gsm_symbolic", "basic_arithmetic", "puzzle24", "countdown"} <= set(
        PROBLEM_SETS
    )
    assert load_problem_set("curated") == curated_problems()
    assert len(load_problem_set("countdown", seed=2, size=3)) == 3
    with pytest.raises(ValueError, match="choose one of curated"):
        load_problem_set("gsm8k")


def test_find_problem() -> None:
    assert find_problem("curated:c07").id == "c07"
    assert find_problem("countdown:2:1") == generated_problems("countdown", 2, 2)[1]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("curated:c99", "curated ids run from c01"),
        ("gsm8k:0:1", "unknown problem set 'gsm8k'"),
        ("gsm_symbolic:0", "seed and the index must be whole numbers"),
        ("gsm_symbolic:x:1", "seed and the index must be whole numbers"),
        ("gsm_symbolic:0:1000", "index must be a whole number from 0 to 999"),
    ],
)
def test_find_problem_explains_a_bad_spec(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        find_problem(spec)


def test_custom_problem() -> None:
    unknown = custom_problem("What is 6 times 7?", "")
    assert unknown.answer is None
    assert unknown.grade("42") is None
    assert custom_problem("What is 6 times 7?", None).grade("41") is None
    known = custom_problem("  What is 6 times 7?  ", " 42 ")
    assert known.question == "What is 6 times 7?"
    assert known.grade("42") is True and known.grade("41") is False
    with pytest.raises(ValueError, match="empty"):
        custom_problem("   ", "1")


# --- JSONL -------------------------------------------------------------------------------


def test_load_jsonl_from_a_path_and_from_upload_bytes(tmp_path: Path) -> None:
    rows = [
        {"question": "What is 2 + 3?", "answer": 5},
        {"question": "What is half of 7?", "answer": "3.5", "id": "half", "difficulty": "Easy"},
        {"question": "Is there an answer?"},
    ]
    text = "\n".join(json.dumps(row) for row in rows) + "\n\n"
    path = tmp_path / "problems.jsonl"
    path.write_text(text, encoding="utf-8")
    from_path = load_jsonl(path)
    from_str_path = load_jsonl(str(path))
    uploaded = load_jsonl(io.BytesIO(("\ufeff" + text).encode("utf-8")))
    assert from_path == from_str_path == uploaded
    assert [p.id for p in from_path] == ["line-1", "half", "line-3"]
    assert [p.answer for p in from_path] == ["5", "3.5", None]
    assert from_path[1].difficulty == "easy"
    assert from_path[0].grade("5") is True
    assert from_path[2].grade("5") is None
    assert load_jsonl(["", '{"question": "Why?"}'])[0].id == "line-2"


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (['{"question": "ok"}', "{not json"], "line 2: not valid JSON"),
        (['{"question": "ok"}', '["a list"]'], "line 2: expected a JSON object"),
        (['{"answer": "3"}'], 'line 1: missing "question"'),
        (['{"question": "ok"}', "", '{"question": "   "}'], "line 3: .*empty"),
        (['{"question": 12}'], 'line 1: "question" must be a string'),
        ([json.dumps({"question": "x" * (MAX_QUESTION_CHARS + 1)})], "line 1: .*limit"),
        (['{"question": "ok", "answer": [3]}'], 'line 1: "answer" must be a string or a number'),
        (['{"question": "ok", "answer": true}'], 'line 1: "answer" must be a string or a number'),
        (['{"question": "ok", "difficulty": "brutal"}'], 'line 1: "difficulty" must be one of'),
        (['{"question": "a", "id": "q"}', '{"question": "b", "id": "q"}'], "line 2: duplicate id"),
        ([b'{"question": "caf\xe9"}'], "line 1: not UTF-8"),
        ([], "no problems found"),
    ],
)
def test_load_jsonl_errors_name_the_line(lines: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_jsonl(lines)
