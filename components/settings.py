"""The shared sidebar: provider and model, verifier, thinking budget, and what a run will cost."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import streamlit as st

from components.estimate import Estimate, documented_speed, estimate_run, speed_note
from components.glossary import term
from components.provider_picker import render_provider_picker
from components.text import plain_markdown
from components.warm_up import render_warm_up
from core.budget import SELECTIONS, Budget
from core.providers.base import Provider
from core.providers.choice import ProviderChoice
from core.verifiers import VERIFIERS, make_verifier
from core.verifiers.aggregate import AGGREGATIONS
from core.verifiers.base import Verifier
from deliberate.runstore import RunStore
from strategies import NEEDS_NATIVE_THINKING, STRATEGIES, SYSTEM_2
from strategies.thinking import FIXED, THINK_STEPS, knobs_for

BUDGET_STEPS = [1, 2, 4, 8, 16, 32, 64]
MANUAL_KEY = "set_manual"  # True once an expert changed N, width, depth or the token cap
# Widget keys and their first values, set once per session by app.py.
DEFAULTS: dict[str, Any] = {
    "set_verifier": "arithmetic",
    "set_think": 4,
    MANUAL_KEY: False,
    "set_n": 4,
    "set_width": 2,
    "set_depth": 6,
    "set_step_tokens": 96,
    "set_token_cap": 8_000,
    "set_dollar_cap": 0.0,
    "set_temperature": Budget.temperature,
    "set_seed": 0,
    "set_aggregation": "min",
    "set_selection": "score",
}


@dataclass(frozen=True)
class Settings:
    provider: ProviderChoice
    verifier: str
    budget: Budget  # the Advanced section's knobs, as set (a batch's base budget)
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
        return provider, make_verifier(self.verifier, provider)


def init_settings_state() -> None:
    for key, value in DEFAULTS.items():
        st.session_state.setdefault(key, value)


def render_settings() -> Settings | None:
    """Draw the sidebar; None (with the reason shown) when the settings can't make a run."""
    with st.sidebar:
        st.header("Settings")
        choice = render_provider_picker()
        if choice is not None:
            render_warm_up(choice)
        verifier = st.selectbox(
            "Verifier (the PRM)",
            list(VERIFIERS),
            format_func=lambda name: VERIFIERS[name].split(":")[0],
            key="set_verifier",
            help=term("PRM"),
        )
        st.caption(VERIFIERS[verifier])
        st.subheader("Thinking budget")
        manual = bool(st.session_state.get(MANUAL_KEY))
        think = st.select_slider(
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
        dollars = st.number_input(
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
            n = st.select_slider(
                "N: samples, beams or expansions",
                BUDGET_STEPS,
                key="set_n",
                on_change=_manual,
                help=term("N"),
            )
            width = st.slider(
                "Beam width M", 1, 8, key="set_width", on_change=_manual, help=term("beam width")
            )
            depth = st.slider("Maximum depth (steps)", 1, 16, key="set_depth", on_change=_manual)
            cap = st.number_input(
                "Token cap for the whole run",
                100,
                200_000,
                step=500,
                key="set_token_cap",
                on_change=_manual,
                help="The run stops cleanly, keeping everything, once it has written this many "
                "tokens.",
            )
            step_tokens = st.slider("Tokens per step", 16, 512, step=16, key="set_step_tokens")
            temperature = st.slider("Temperature", 0.0, 1.5, step=0.05, key="set_temperature")
            seed = st.number_input("Seed", 0, 1_000_000, key="set_seed")
            aggregation = st.selectbox(
                "Path score from step scores", list(AGGREGATIONS), key="set_aggregation"
            )
            selection = st.selectbox(
                "Best-of-N picks by", list(SELECTIONS), key="set_selection", help=term("best-of-N")
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
                max_dollars=float(dollars) or None,
            )
        except ValueError as exc:
            st.error(plain_markdown(f"This budget can't run: {exc}"))
            return None
    if choice is None:
        return None
    return Settings(choice, verifier, budget, int(think), manual)


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
