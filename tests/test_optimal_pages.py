"""The compute-optimal parts of the pages through AppTest, on the scripted fake provider: the
cost page's overlay per difficulty bin with its break-even sentence, and the bigger-model panel
on System 1 vs System 2 (its model an OpenAI-compatible fake server)."""

from components.comparison import build_bigger_model_summary
from components.optimal_charts import break_even
from components.text import plain_markdown
from core.events import DifficultyJudged
from deliberate.difficulty import problem_bins
from tests.fake_api_server import FakeApiServer, Reply, chat_reply, script
from tests.test_pages import charts, finish, start_app


def test_cost_page_overlays_compute_optimal_per_bin_and_states_the_break_even(fake_env):
    at = start_app()
    at.switch_page("pages/cost_per_solved.py").run()
    at.slider(key="batch_size").set_value(3)
    at.multiselect(key="batch_strategies").set_value(["direct", "compute_optimal", "best_of_n"])
    at.multiselect(key="batch_budgets").set_value([2, 4]).run()
    note = plain_markdown("compute_optimal picks by difficulty with the default table")
    assert any(note in c.value for c in at.caption)
    next(b for b in at.button if b.label == "Run batch").click().run()
    worker = finish(at, "batch_worker")
    assert worker.status == "complete" and len(worker.rows()) == 15
    store = at.session_state.store
    (batch,) = store.list_batches()
    runs = [store.load_events(r) for r in store.batch_run_ids(batch.batch_id) if r]
    bins = problem_bins(runs)
    assert len(bins) == 3
    headline, *details = break_even(worker.rows(), bins)
    assert at.success[-1].value == plain_markdown(headline)
    shown = [c.value for c in at.caption]
    assert all(plain_markdown(d) in shown for d in details)
    overlay = charts(at)[-1]
    names = [t.get("name") for t in overlay["data"]]
    assert "compute_optimal" in names and "best_of_n" in names
    line = next(t for t in overlay["data"] if t.get("name") == "compute_optimal")["line"]
    assert line["width"] == 5
    groups = at.radio(key="optimal_group").options
    assert groups[0] == "all problems" and len(groups) == 1 + len(set(bins.values()))
    one_bin = sorted(set(bins.values()))[0]
    at.radio(key="optimal_group").set_value(one_bin).run()
    in_bin = sum(1 for b in bins.values() if b == one_bin)
    assert any(c.value.startswith(f"Accuracy vs budget N on {in_bin} problem") for c in at.caption)


def test_compare_page_adds_a_bigger_model_answering_at_once(fake_env):
    reply = chat_reply("\\boxed{7}", 40, 4, "big")
    with FakeApiServer(script(Reply(200, reply))) as server:
        at = start_app()
        at.switch_page("pages/compare.py").run()
        at.toggle(key="compare_bigger").set_value(True).run()
        at.selectbox(key="big_provider").set_value("openai_compatible").run()
        at.text_input(key="big_openai_compatible_model").set_value("big")
        at.text_input(key="big_openai_compatible_url").set_value(f"{server.url}/v1")
        at.text_input(key="big_openai_compatible_price").set_value("1, 2").run()
        next(b for b in at.button if b.label == "Run both").click().run()
        system_1, system_2, bigger = finish(at, "compare_workers")
    assert system_1.events()[0].model == "fake-model"
    started = bigger.events()[0]
    assert (started.strategy, started.provider, started.model) == (
        "direct",
        "openai_compatible",
        "big",
    )
    assert bigger.events()[-1].reason == "complete"
    said = build_bigger_model_summary(system_2.events(), bigger.events())
    assert at.main.info[-1].value == plain_markdown(" ".join(said))
    assert said[0].startswith("The bigger model (big) answering at once answered 7")
    assert (
        said[0].endswith("wrote 4 tokens in 0.0 s and cost $0.000048.")
        or "cost $0.000048" in said[0]
    )
    assert len(charts(at)) == 6  # a tree and a PRM chart per side


def test_the_live_page_says_why_compute_optimal_chose_its_strategy(fake_env):
    at = start_app()
    at.selectbox(key="live_strategy").set_value("compute_optimal").run()
    next(b for b in at.button if b.label == "Run").click().run()
    events = finish(at, "live_worker").events()
    (judged,) = [e for e in events if isinstance(e, DifficultyJudged)]
    assert judged.reason in [t.value for t in at.text]
    assert judged.reason.startswith("the first 2 samples ")
