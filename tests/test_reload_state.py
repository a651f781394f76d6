"""A reload keeps everything but keys: the provider's fields, a custom problem and the run
settings are mirrored into the page's address (Streamlit's bind="query-params"), and a new
session (a reload) starts from it. In AppTest a reload is a new AppTest given the address; the
browser writes the address itself (tests/test_browser_state.py checks that part)."""

from streamlit.testing.v1 import AppTest

from components.settings import DEFAULTS, MANUAL_KEY
from core.providers.choice import kind_label
from tests.test_pages import APP

# What the browser's address holds after the user typed these (a select box's value is shown as
# its label, as in the browser).
ADDRESS = {
    "set_provider": kind_label("openai_compatible"),
    "set_openai_compatible_model": "my-model",
    "set_openai_compatible_url": "http://localhost:8123/v1",
    "set_openai_compatible_price": "0.1, 0.2",
    "set_openai_compatible_reasoning": "true",
    "live_source": "Custom",
    "live_question": "What is 12 * 12?",
    "live_answer": "144",
    "live_strategy": "best of n",
    "set_think": "16x",
    "set_n": "8",
    "set_depth": "3",
    "set_temperature": "0.4",
    "set_selection": "score",
    MANUAL_KEY: "1",
}


def reloaded(address: dict[str, str]) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(address)
    at.run()
    assert not at.exception, at.exception
    return at


def test_a_reload_brings_back_the_fields_the_problem_and_the_settings(fake_env):
    at = reloaded(ADDRESS)
    assert at.selectbox(key="set_provider").value == "openai_compatible"
    assert at.text_input(key="set_openai_compatible_model").value == "my-model"
    assert at.text_input(key="set_openai_compatible_url").value == "http://localhost:8123/v1"
    assert at.text_input(key="set_openai_compatible_price").value == "0.1, 0.2"
    assert at.checkbox(key="set_openai_compatible_reasoning").value is True
    assert at.text_input(key="set_openai_compatible_key").value == ""  # never kept
    assert at.radio(key="live_source").value == "Custom"
    assert at.text_area(key="live_question").value == "What is 12 * 12?"
    assert at.text_input(key="live_answer").value == "144"
    assert at.selectbox(key="live_strategy").value == "best_of_n"
    assert at.select_slider(key="set_think").value == 16
    assert at.select_slider(key="set_n").value == 8
    assert at.slider(key="set_depth").value == 3
    assert at.slider(key="set_temperature").value == 0.4
    assert at.selectbox(key="set_selection").value == "score"  # not the default
    settings = at.session_state["settings"]
    assert settings.manual is True  # the Advanced knobs still override the plain control
    assert (settings.budget.n, settings.budget.max_depth) == (8, 3)
    assert (settings.provider.model, settings.think) == ("my-model", 16)


def test_without_an_address_every_setting_starts_at_its_default(fake_env):
    at = reloaded({})
    values = {key: at.session_state[key] for key in DEFAULTS}
    assert values == DEFAULTS
    assert at.session_state[MANUAL_KEY] is False
    assert MANUAL_KEY not in at.query_params


def test_every_field_but_the_key_is_bound_to_the_address(fake_env):
    at = reloaded({"set_provider": kind_label("openai_compatible"), "live_source": "Custom"})
    bound = {w.key: w.proto.query_param_key for w in [*at.text_input, *at.text_area]}
    assert bound == {
        "set_openai_compatible_model": "set_openai_compatible_model",
        "set_openai_compatible_url": "set_openai_compatible_url",
        "set_openai_compatible_key": "",  # a password field: never in the address
        "set_openai_compatible_price": "set_openai_compatible_price",
        "live_question": "live_question",
        "live_answer": "live_answer",
    }
    settings = [*at.select_slider, *at.slider, *at.number_input]
    assert {w.key: w.proto.query_param_key for w in settings} == {
        key: key
        for key in DEFAULTS
        if key not in ("set_aggregation", "set_selection", "set_deepconf")
    }
    picks = {w.key: w.proto.query_param_key for w in at.selectbox if w.key in DEFAULTS}
    assert picks == {key: key for key in ("set_aggregation", "set_selection", "set_deepconf")}


def test_changing_an_advanced_knob_puts_the_override_in_the_address(fake_env):
    at = reloaded({})
    at.select_slider(key="set_n").set_value(16).run()
    assert at.query_params[MANUAL_KEY] in ("1", ["1"])
    next(b for b in at.button if b.label == "Back to the plain thinking control").click().run()
    assert MANUAL_KEY not in at.query_params
