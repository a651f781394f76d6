"""The shared sidebar: provider and model, verifier, thinking budget, and what a run will cost."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import streamlit as st

from components.estimate import Estimate, documented_speed, estimate_run, speed_note
from components.glossary import term
from components.provider_picker import render_provider_picker
from components.remember import URL_BINDING
from components.text import plain_markdown
from components.verifier_picker import render_verifier_picker
from components.warm_up import render_warm_up
from core.budget import DEEPCONF_VARIANTS, SELECTIONS, Budget
from core.difficulty import DEFAULT_TABLE
from core.providers.base import Provider
from core.providers.choice import ProviderChoice
from core.verifiers import make_verifier
from core.verifiers.aggregate import AGGREGATIONS
from core.verifiers.base import Verifier
from core.verifiers.served import PrmServer
from deliberate.difficulty import fitted_table
from deliberate.runstore import RunStore
from strategies import NEEDS_NATIVE_THINKING, STRATEGIES, SYSTEM_2
from strategies.thinking import FIXED, THINK_STEPS, knobs_for

BUDGET_STEPS = [1, 2, 4, 8, 16, 32, 64]
MANUAL_KEY = "set_manual"  # True once an expert changed N, width, depth or the token cap
# The run settings' widget keys and first values. Each widget mirrors its value into the page's
# address while it differs from these (components/remember.py), so that a reload keeps it.
DEFAULTS: dict[str, Any] = {
    "set_think": 4,
    "set_n": 4,
    "set_width": 2,
    "set_depth": 6,
    "set_step_tokens": 96,
    "set_token_cap": 8_000,
    "set_dollar_cap": 0.0,
    "set_temperature": Budget.temperature,
    "set_seed": 0,
    "set_aggregation": "min",
    "set_selection": Budget.selection,
    "set_deepconf": Budget.deepconf,
}


@dataclass(frozen=True)
class Settings:
    provider: ProviderChoice
    verifier: str  # a verifier's name, or a combination's ("program>arithmetic")
    budget: Budget  # the Advanced section's knobs, as set (a batch's base budget)
    prm: PrmServer | None = None  # the server of a served PRM, when the verifier uses one
    think: int = 4  # the plain control: answers' worth of thinking
    manual: bool = False  # the Advanced knobs override the plain control

    def budget_for(self, strategy: str) -> Budget:
        """The budget one run of `strategy` gets: the plain control mapped to the strategy's
        own knobs (strategies.thinking), or the Advanced knobs once an expert changed them."""
        return self.budget if self.manual else knobs_for(strategy, self.think, self.budget)

    def strategies(self, system_2_only: bool = False) -> list[str]:
        """The strategies this provider can run (native thinking needs hidden reasoning)."""
        names = [
            s for s in STRATEGIES if self.provider.native_thinking or s not in NEEDS_NATIVE_THINKING
        ]
        return [s for s in names if s in SYSTEM_2] if system_2_only else names

    def backend(self) -> tuple[Provider, Verifier]:
        """Build the provider (may load a model) and the verifier: call it in a worker thread."""
        provider = self.provider.make()
        return provider, make_verifier(self.verifier, provider, self.prm)


def init_settings_state() -> None:
    """Once per session: the Advanced knobs override the plain control if the address says so."""
    st.session_state.setdefault(MANUAL_KEY, st.query_params.get(MANUAL_KEY) == "1")


def _setting(widget: Any, *args: Any, key: str, **kwargs: Any) -> Any:
    """A run setting's widget, starting at its default and kept in the page's address."""
    return widget(*args, key=key, value=DEFAULTS[key], bind=URL_BINDING, **kwargs)


def _sync_address(manual: bool) -> None:
    """The Advanced override in the address too (Streamlit drops it on a page switch)."""
    if manual:
        st.query_params[MANUAL_KEY] = "1"
    elif MANUAL_KEY in st.query_params:
        del st.query_params[MANUAL_KEY]


def render_settings() -> Settings | None:
    """Draw the sidebar; None (with the reason shown) when the settings can't make a run."""
    with st.sidebar:
        st.header("Settings")
        choice = render_provider_picker()
        if choice is not None:
            render_warm_up(choice)
        verifier = render_verifier_picker()
        st.subheader("Thinking budget")
        manual = bool(st.session_state.get(MANUAL_KEY))
        _sync_address(manual)
        think = _setting(
            st.select_slider,
            "Think as much as answering once, times",
            THINK_STEPS,
            key="set_think",
            format_func=lambda m: f"{m}x",
            disabled=manual,
            help=term("thinking budget"),
        )
        st.caption(
            "Advanced settings in use (below)."
            if manual
            else "Each strategy turns this into its own samples, beams or steps; "
            + ", ".join(s.replace("_", " ") for s in sorted(FIXED))
            + " always write one answer."
        )
        dollars = _setting(
            st.number_input,
            "Spending cap per run ($, 0 = none)",
            0.0,
            1_000.0,
            step=0.01,
            format="%.2f",
            key="set_dollar_cap",
            help="No model call goes out that could take the run's cost past this; a model "
            "with an unknown price cannot run under a cap.",
        )
        with st.expander("Advanced: N, beam width, depth, sampling"):
            if manual:
                st.button("Back to the plain thinking control", on_click=_plain, width="stretch")
            else:
                st.caption(
                    "Changing N, the beam width, the depth or the token cap overrides "
                    "the thinking control above."
                )
            n = _setting(
                st.select_slider,
                "N: samples, beams or expansions",
                BUDGET_STEPS,
                key="set_n",
                on_change=_manual,
                help=term("N"),
            )
            width = _setting(
                st.slider,
                "Beam width M",
                1,
                8,
                key="set_width",
                on_change=_manual,
                help=term("beam width"),
            )
            depth = _setting(
                st.slider, "Maximum depth (steps)", 1, 16, key="set_depth", on_change=_manual
            )
            cap = _setting(
                st.number_input,
                "Token cap for the whole run",
                100,
                200_000,
                step=500,
                key="set_token_cap",
                on_change=_manual,
                help="The run stops cleanly, keeping everything, once it has written this many "
                "tokens.",
            )
            step_tokens = _setting(
                st.slider, "Tokens per step", 16, 512, step=16, key="set_step_tokens"
            )
            temperature = _setting(
                st.slider, "Temperature", 0.0, 1.5, step=0.05, key="set_temperature"
            )
            seed = _setting(st.number_input, "Seed", 0, 1_000_000, key="set_seed")
            aggregation = _pick(
                "Path score from step scores", list(AGGREGATIONS), key="set_aggregation"
            )
            selection = _pick(
                "Best-of-N picks by", list(SELECTIONS), key="set_selection", help=term("best-of-N")
            )
            deepconf = _pick(
                "DeepConf's confidence bar",
                list(DEEPCONF_VARIANTS),
                key="set_deepconf",
                format_func=lambda v: f"DeepConf-{v}",
                help=term("DeepConf"),
            )
        try:
            budget = Budget(
                n=int(n),
                width=int(width),
                max_depth=int(depth),
                step_tokens=int(step_tokens),
                max_total_tokens=int(cap),
                temperature=float(temperature),
                seed=int(seed),
                aggregation=aggregation,
                selection=selection,
                deepconf=deepconf,
                max_dollars=float(dollars) or None,
            )
        except ValueError as exc:
            st.error(plain_markdown(f"This budget can't run: {exc}"))
            return None
    if choice is None or verifier is None:
        return None
    return Settings(choice, verifier[0], budget, verifier[1], int(think), manual)


def _pick(label: str, options: list[str], key: str, **kwargs: Any) -> Any:
    """A run setting chosen from `options` (a selectbox has an index, not a value)."""
    index = options.index(DEFAULTS[key])
    return st.selectbox(label, options, index, key=key, bind=URL_BINDING, **kwargs)


def _manual() -> None:
    st.session_state[MANUAL_KEY] = True


def _plain() -> None:
    st.session_state[MANUAL_KEY] = False


def plan_estimate(
    settings: Settings, plan: Sequence[tuple[str, Budget]], speed: float | None
) -> Estimate:
    """The estimate for runs of (strategy, budget)."""
    estimates = [
        estimate_run(
            strategy,
            budget,
            settings.verifier,
            settings.provider.price,
            speed or documented_speed(settings.provider.model),
        )
        for strategy, budget in plan
    ]
    total = estimates[0]
    for estimate in estimates[1:]:
        total = total + estimate
    return total if len(estimates) == 1 else replace(total, unit=f"{len(estimates)} runs")


def render_estimate(
    settings: Settings, plan: Sequence[tuple[str, Budget]], store: RunStore | None
) -> Estimate | None:
    """For runs of (strategy, budget): "16 samples, about N tokens, about S seconds, about $X"."""
    if not plan:
        return None
    speed = store.generation_speed(settings.provider.model) if store is not None else None
    estimate = plan_estimate(settings, plan, speed)
    with st.sidebar:
        st.subheader("Before you press Run")
        st.info(estimate.sentence())
        st.caption(speed_note(speed, settings.provider.model) + "; a rough guide, not a promise.")
    return estimate


def run_budget(settings: Settings, store: RunStore | None, strategies: Sequence[str]) -> Budget:
    """The budget for runs of `strategies` (one strategy: the plain thinking control mapped to
    its knobs; several, as in a batch: the Advanced knobs); with compute_optimal among `strategies`, it carries the difficulty
    table fitted from the newest stored batch on this model and verifier (None: the default).
    The fit is kept in the session until a batch is added or grows."""
    base = settings.budget_for(strategies[0]) if len(strategies) == 1 else settings.budget
    if "compute_optimal" not in strategies or store is None:
        return base
    model, verifier = settings.provider.model, settings.verifier
    key = (model, verifier, tuple((b.batch_id, b.rows) for b in store.list_batches()))
    cached = st.session_state.get("difficulty_table")
    if cached is None or cached[0] != key:
        cached = (key, fitted_table(store, model, verifier))
        st.session_state.difficulty_table = cached
    return replace(base, difficulty_table=cached[1])


def render_table_note(budget: Budget) -> None:
    """Under a compute_optimal choice: which difficulty table it will use, and where it is from."""
    table = budget.difficulty_table or DEFAULT_TABLE
    st.caption(plain_markdown(f"compute_optimal picks by difficulty with {table.source}."))
