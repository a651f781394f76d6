"""The sidebar's verifier picker through AppTest: a served PRM by URL and model, combinations."""

from components.text import plain_markdown
from core.events import StepScored, UsageRecorded
from tests.fake_api_server import FakeApiServer
from tests.test_pages import finish, start_app
from tests.test_served_prm_runs import PRM, every_step_right


def run_live(at):
    next(b for b in at.button if b.label == "Run").click().run()
    return finish(at, "live_worker").events()


def test_a_served_prm_runs_from_the_sidebar_by_url_and_model(fake_env):
    with FakeApiServer(every_step_right) as fake:
        at = start_app()
        at.selectbox(key="set_verifier").set_value("served_prm").run()
        reason = "The served PRM can't score yet: the PRM server URL must start with http://"
        assert at.sidebar.warning[0].value.startswith(plain_markdown(reason))
        assert next(b for b in at.button if b.label == "Run").disabled
        at.text_input(key="set_prm_url").set_value(fake.url)
        at.text_input(key="set_prm_model").set_value(PRM).run()
        events = run_live(at)
    assert events[0].verifier == "served_prm" and events[-1].reason == "complete"
    scores = {e.score for e in events if isinstance(e, StepScored)}
    assert scores == {0.75}
    verify = [e for e in events if isinstance(e, UsageRecorded) and e.role == "verify"]
    assert verify and {(e.model, e.input_tokens) for e in verify} == {(PRM, 100)}


def test_verifiers_are_combined_from_the_sidebar(fake_env):
    with FakeApiServer(every_step_right) as fake:
        at = start_app()
        at.selectbox(key="set_verifier").set_value("combine").run()
        at.multiselect(key="set_combine_parts").set_value(["served_prm"]).run()
        assert at.sidebar.warning[0].value == "Pick at least two verifiers to combine."
        at.multiselect(key="set_combine_parts").set_value(["served_prm", "arithmetic"])
        at.radio(key="set_combine_how").set_value("mean").run()
        at.text_input(key="set_prm_url").set_value(fake.url)
        at.text_input(key="set_prm_model").set_value(PRM).run()
        events = run_live(at)
    assert events[0].verifier == "served_prm+arithmetic" and events[-1].reason == "complete"
    scored = [e for e in events if isinstance(e, StepScored)]
    assert scored and all(e.detail.startswith("served_prm: ") for e in scored)
