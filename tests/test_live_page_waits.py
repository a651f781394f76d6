"""The live-page benchmark's waits for new text: one redraw's element updates counted once, and a
wait split into the server's part, then the page's."""

from pytest import approx

from benchmarks.live_page import Rerun, redraws, split_wait


def rerun(end: float, text: int, fragment: str = "text", ms: float = 30) -> Rerun:
    return Rerun(fragment, end, ms, ms, text)


def test_a_wait_is_split_at_the_first_rerun_that_drew_new_text():
    # Text 1 was on screen from 11.00; the rerun starting at 11.49 drew the same text; the one
    # starting at 11.99 drew new text, which the page showed at 12.05.
    log = [rerun(10.52, 1), rerun(11.02, 1), rerun(11.52, 1), rerun(12.02, 2)]
    server, page, tree = split_wait((11.00, 12.05), log)
    assert (server, page, tree) == (approx(0.99), approx(0.06), False)


def test_a_wait_with_no_new_text_drawn_is_all_the_servers_and_notes_a_tree_redraw():
    log = [rerun(10.52, 1), rerun(11.52, 1), Rerun("tree", 11.40, 200, 40, None)]
    assert split_wait((11.00, 11.80), log) == (approx(0.80), 0.0, True)


def test_one_redraws_element_updates_are_one_change():
    changes = [(10.0, "a"), (10.01, "ab"), (10.03, "abc"), (10.30, "abcd"), (10.34, "abcde")]
    assert redraws(changes) == [(10.0, "abc"), (10.30, "abcde")]
