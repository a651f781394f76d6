"""Values typed into fields that are not always drawn survive switching provider or page.

Streamlit drops the state of a widget that a run does not draw, unless the widget is made with
persist_state="session". In AppTest, app.py's later runs end in st.stop() (components/page_shell.py),
and a stopped run drops nothing, so a provider switch inside the whole app could not show the
loss: the picker is tested alone, in a script that runs to its end like the app in a browser.
"""

import pytest
from streamlit.testing.v1 import AppTest

from tests.test_pages import start_app


def provider_picker_alone():
    import streamlit as st

    from components.provider_picker import render_provider_picker

    with st.sidebar:
        render_provider_picker()


@pytest.fixture
def picker(fake_env) -> AppTest:
    at = AppTest.from_function(provider_picker_alone, default_timeout=30).run()
    assert not at.exception
    return at


def test_provider_fields_survive_switching_provider(picker):
    at = picker
    at.selectbox(key="set_provider").set_value("openai_compatible").run()
    at.text_input(key="set_openai_compatible_model").set_value("my-model")
    at.text_input(key="set_openai_compatible_url").set_value("http://localhost:8000/v1")
    at.text_input(key="set_openai_compatible_key").set_value("sk-typed")
    at.text_input(key="set_openai_compatible_price").set_value("0.1, 0.2")
    at.checkbox(key="set_openai_compatible_reasoning").check().run()
    at.selectbox(key="set_provider").set_value("openai").run()
    assert [w.key for w in at.text_input] == [
        "set_openai_model",
        "set_openai_key",
        "set_openai_price",
    ]
    at.text_input(key="set_openai_model").set_value("gpt-typed").run()
    at.selectbox(key="set_provider").set_value("openai_compatible").run()
    assert at.text_input(key="set_openai_compatible_url").value == "http://localhost:8000/v1"
    assert at.text_input(key="set_openai_compatible_model").value == "my-model"
    assert at.text_input(key="set_openai_compatible_key").value == "sk-typed"
    assert at.text_input(key="set_openai_compatible_price").value == "0.1, 0.2"
    assert at.checkbox(key="set_openai_compatible_reasoning").value is True
    assert not at.exception
    at.selectbox(key="set_provider").set_value("openai").run()
    assert at.text_input(key="set_openai_model").value == "gpt-typed"


def test_a_custom_problem_survives_switching_pages(fake_env):
    at = start_app()
    at.radio(key="live_source").set_value("Custom").run()
    at.text_area(key="live_question").set_value("What is 12 * 12?")
    at.text_input(key="live_answer").set_value("144").run()
    at.switch_page("pages/compare.py").run()
    at.switch_page("pages/replay.py").run()
    at.switch_page("pages/live_run.py").run()
    assert not at.exception
    assert at.radio(key="live_source").value == "Custom"
    assert at.text_area(key="live_question").value == "What is 12 * 12?"
    assert at.text_input(key="live_answer").value == "144"
    assert "What is 12 * 12?" in [t.value for t in at.text]  # it is the problem a run would use


def problem_picker_alone():
    from components.problem_picker import render_problem_picker

    render_problem_picker("live")


def test_a_custom_problem_survives_choosing_another_source_and_back(fake_env):
    at = AppTest.from_function(problem_picker_alone, default_timeout=30).run()
    at.radio(key="live_source").set_value("Custom").run()
    at.text_area(key="live_question").set_value("What is 9 + 10?")
    at.text_input(key="live_answer").set_value("19").run()
    at.radio(key="live_source").set_value("Generated").run()
    at.number_input(key="live_index").set_value(3).run()
    at.radio(key="live_source").set_value("Custom").run()
    assert at.text_area(key="live_question").value == "What is 9 + 10?"
    assert at.text_input(key="live_answer").value == "19"
    at.radio(key="live_source").set_value("Generated").run()
    assert at.number_input(key="live_index").value == 3
    assert not at.exception


def verifier_picker_alone():
    from components.verifier_picker import render_verifier_picker

    render_verifier_picker()


def test_served_prm_fields_survive_choosing_another_verifier(fake_env):
    at = AppTest.from_function(verifier_picker_alone, default_timeout=30).run()
    at.selectbox(key="set_verifier").set_value("served_prm").run()
    at.text_input(key="set_prm_url").set_value("http://localhost:8001")
    at.text_input(key="set_prm_model").set_value("Qwen/Qwen2.5-Math-PRM-7B").run()
    at.selectbox(key="set_verifier").set_value("arithmetic").run()
    assert [w.key for w in at.text_input] == []
    at.selectbox(key="set_verifier").set_value("served_prm").run()
    assert at.text_input(key="set_prm_url").value == "http://localhost:8001"
    assert at.text_input(key="set_prm_model").value == "Qwen/Qwen2.5-Math-PRM-7B"


def warm_up_then_expander():
    import threading

    import streamlit as st

    from components.warm_up import render_warm_up
    from core.providers.choice import ProviderChoice
    from core.providers.fake import FakeProvider

    loaded = st.session_state.setdefault("loaded", threading.Event())
    make = lambda: loaded.wait(30) and FakeProvider()  # noqa: E731 - a model that loads on cue
    render_warm_up(ProviderChoice("local:slow", "Local: slow", "slow", None, make))
    with st.expander("Advanced"):
        st.slider("N", 1, 8, 4)


def test_the_sidebar_keeps_its_shape_when_the_model_finishes_loading():
    """A note that went away moved the Advanced expander, which Streamlit then redrew closed
    under the user's cursor (the browser test's slider presses failed on it)."""
    at = AppTest.from_function(warm_up_then_expander, default_timeout=30).run()
    loading = [element.type for element in at.main]
    assert "Loading the model" in at.caption[0].value
    at.session_state["loaded"].set()
    for _ in range(50):  # the warm-up thread ends in a moment
        at.run()
        if at.caption[0].value == "Model loaded.":
            break
    assert at.caption[0].value == "Model loaded."
    assert [element.type for element in at.main] == loading
