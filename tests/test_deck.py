"""The demo deck: make_deck picks exactly the problems where System 2 was right and System 1
wrong, and System 1 vs System 2 plays a recorded pair to the end with no model. Every shipped
recording ends with an answer."""

import pytest

from components.comparison import build_comparison_summary
from components.text import plain_markdown
from core.events import AnswerChosen, NodeAdded, RunFinished, RunStarted
from core.tree import ReasoningTree
from deliberate.audit import split_runs
from deliberate.deck import INDEX, load_deck, load_pair, pick_pairs, write_deck
from deliberate.recordings import load_recording, recordings
from tests.test_pages import start_app
from tests.test_shipped import fake_batch

QUESTION = "A baker makes 24 muffins in the morning and 18 in the afternoon. He sells 35. Left?"


def run(problem: str, strategy: str, n: int, answer: str | None, correct: bool) -> list:
    """A run as a batch stores it, reduced to the events a deck reads."""
    return [
        RunStarted(
            f"{problem}-{strategy}-{n}",
            strategy,
            QUESTION,
            "7",
            "fake",
            "fake-model",
            "arithmetic",
            {"n": n},
            problem,
        ),
        NodeAdded("n1", "root", f"\\boxed{{{answer}}}", role="answer", answer=answer),
        AnswerChosen("n1", answer, correct, "the only answer"),
        RunFinished("complete", "finished"),
    ]


def test_make_deck_picks_exactly_system_2_right_and_system_1_wrong():
    runs = [
        *(run("c01", "direct", 1, "9", False), run("c01", "beam_search", 4, "7", True)),  # picked
        *(run("c02", "direct", 1, "7", True), run("c02", "beam_search", 4, "7", True)),  # S1 right
        *(
            run("c03", "direct", 1, "9", False),
            run("c03", "beam_search", 4, "8", False),
        ),  # S2 wrong
        *(
            run("c04", "direct", 1, None, False),
            run("c04", "beam_search", 4, "7", True),
        ),  # no answer
        *(
            run("c05", "direct", 1, "9", False),
            run("c05", "beam_search", 16, "7", True),
        ),  # N=16 only
        run("c06", "beam_search", 4, "7", True),  # no System 1 run
        *(run("c07", "beam_search", 8, "7", True), run("c07", "beam_search", 4, "9", False)),
        run("c07", "direct", 1, "9", False),  # right at N=8, wrong at N=4
        *(run("c08", "chain_of_thought", 1, "7", True), run("c08", "beam_search", 4, "7", True)),
        run("c08", "direct", 1, "8", False),  # picked: its runs in any order
    ]
    picked = pick_pairs(runs)
    assert [pair.problem_id for pair, _, _ in picked] == ["c01", "c08"]
    pair, one, two = picked[0]
    assert (one, two) == (runs[0], runs[1])
    assert (pair.system_1.answer, pair.system_1.correct) == ("9", False)
    assert (pair.system_2.answer, pair.system_2.correct) == ("7", True)
    assert (pair.system_1.file, pair.system_2.file) == ("c01-system1.jsonl", "c01-system2.jsonl")
    assert pair.difficulty == "unknown"  # c01's question here is not curated c01's
    assert [p.problem_id for p, _, _ in pick_pairs(runs, system_2="beam_search", n=16)] == ["c05"]


def test_the_deck_is_written_read_back_and_listed_for_replay(tmp_path, monkeypatch):
    events, _ = fake_batch(tmp_path, monkeypatch)
    runs = split_runs(load_recording(events))
    picked = pick_pairs(runs)
    assert [pair.problem_id for pair, _, _ in picked] == ["c06"]  # the fake's one beam_search win
    folder = tmp_path / "recordings" / "deck"
    (folder / "stale-system1.jsonl").parent.mkdir(parents=True)
    (folder / "stale-system1.jsonl").write_text("")
    index = write_deck(picked, {"model": "fake-model"}, folder)
    assert index == folder / INDEX
    assert sorted(p.name for p in folder.iterdir()) == [
        "c06-system1.jsonl", "c06-system2.jsonl", "index.json",
    ]  # fmt: skip
    (pair,) = load_deck(folder)
    assert pair == picked[0][0]
    assert pair.difficulty == "easy"  # curated c06's
    assert load_pair(pair, folder) == (picked[0][1], picked[0][2])
    assert recordings(tmp_path / "recordings") == sorted(folder.glob("*.jsonl"))


def test_a_broken_deck_index_is_named(tmp_path):
    (tmp_path / INDEX).write_text('{"pairs": [{"problem_id": "c01"}]}')
    with pytest.raises(ValueError, match=f"{tmp_path / INDEX}: not a deck index"):
        load_deck(tmp_path)
    assert load_deck(tmp_path / "absent") == []


def test_the_compare_page_plays_a_recorded_pair_to_the_end(tmp_path, monkeypatch, fake_env):
    events, _ = fake_batch(tmp_path, monkeypatch)
    folder = tmp_path / "deck"
    picked = pick_pairs(split_runs(load_recording(events)))
    write_deck(picked, {"model": "fake-model"}, folder)
    monkeypatch.setattr("deliberate.deck.DECK_DIR", folder)
    at = start_app()
    at.switch_page("pages/compare.py").run()
    at.radio(key="compare_mode").set_value("Play a recorded demo").run()
    assert not at.exception, at.exception
    assert not any(b.label == "Run both" for b in at.button)
    assert at.selectbox(key="deck_pick").options[0].startswith("c06 · easy · ")
    at.select_slider(key="deck_speed").set_value(50).run()
    next(b for b in at.button if b.label == "Play").click().run()
    one, two = picked[0][1], picked[0][2]
    for _ in range(40):  # each rerun is one tick of the replay: 25 events on each side
        if at.session_state["deck_index"] == (len(one), len(two)):
            break
        assert at.session_state["deck_playing"]
        at.run()
        assert not at.exception, at.exception
    assert at.session_state["deck_index"] == (len(one), len(two))
    at.run()
    assert not at.session_state["deck_playing"]
    assert any(b.label == "Play" for b in at.button)
    for key, events in (("deck_1", one), ("deck_2", two)):
        fold = at.session_state[f"{key}_fold"][1]
        assert fold.tree.signature() == ReasoningTree.from_events(events).signature()
    summary = plain_markdown(" ".join(build_comparison_summary(one, two)))
    assert at.info[-1].value == summary
    assert [s.value for s in at.subheader][:2] == ["System 1: direct", "System 2: beam search"]


def test_the_compare_page_says_when_no_deck_is_shipped(tmp_path, monkeypatch, fake_env):
    monkeypatch.setattr("deliberate.deck.DECK_DIR", tmp_path / "none")
    at = start_app()
    at.switch_page("pages/compare.py").run()
    at.radio(key="compare_mode").set_value("Play a recorded demo").run()
    assert not at.exception
    assert at.info[0].value.startswith("No demo deck is shipped yet")


def test_every_shipped_recording_ends_with_an_answer():
    shipped = recordings()
    assert shipped
    for path in shipped:
        tree = ReasoningTree.from_events(load_recording(path))
        assert tree.finished is not None and tree.finished.reason == "complete", path
        assert tree.chosen is not None and tree.chosen.answer is not None, path
    for pair in load_deck():
        one, two = load_pair(pair)
        assert (one[0].strategy, two[0].strategy) == (
            pair.system_1.strategy,
            pair.system_2.strategy,
        )
        assert [e.correct for e in (*one, *two) if isinstance(e, AnswerChosen)] == [False, True]
