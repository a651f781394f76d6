"""The field's terms, one line each, shown as `help=` tooltips where they appear in the app.

Sources: Lightman et al. 2023 (PRM, ORM), Wang et al. 2023 (self-consistency), Chen et al. 2021
(pass@k), Snell et al. 2024 (compute-optimal scaling), Hugging Face search-and-learn (beam search,
DVTS), Kocsis and Szepesvári 2006 (UCT, MCTS), Fu et al. 2025 (DeepConf).
"""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

GLOSSARY: dict[str, str] = {
    "thinking budget": "Test-time compute: how much the model may write before it answers, "
    "counted here in whole answers (1x = answering once).",
    "N": "The budget in generations, the papers' unit of test-time compute: samples, beams or "
    "search steps the strategy may write.",
    "beam width": "Beam width M: each kept path expands M ways per step, and N/M paths survive.",
    "PRM": "Process reward model: a verifier that scores every step of a solution, not just its "
    "final answer.",
    "ORM": "Outcome reward model: a verifier that scores only the final answer.",
    "best-of-N": "Write N whole solutions and keep the one the verifier scores highest.",
    "self-consistency": "Write N solutions and take the majority answer; no verifier needed.",
    "pass@N": "A problem counts if any of the N answers written was right: the ceiling a perfect "
    "verifier could reach.",
    "accuracy": "Problems whose chosen answer was right, out of all problems run.",
    "cost per problem solved": "Everything spent on the set divided by the problems solved: "
    "thinking pays when this falls.",
    "DVTS": "Diverse verifier tree search: N/M independent subtrees of width M, so the search "
    "does not collapse onto one idea.",
    "MCTS": "Monte Carlo tree search: pick a promising path by UCT, add a step, score it, and "
    "pass the score back up the path.",
    "compute-optimal": "The cheapest strategy and budget that reach the accuracy you need, "
    "chosen per problem set (Snell et al. 2024).",
    "DeepConf": "Traces less sure than a warm-up's bar are cut while written; low: the bar "
    "keeps the warm-up's top 10% (cuts most), high: its top 90%.",
    "selection accuracy": "How often the verifier chose a right answer when one was written.",
    "AUROC": "How often a right answer outscores a wrong one; 0.5 is a coin toss, 1 is perfect.",
    "teaching mode": "Predict first: you say what System 2 will answer and whether it will be "
    "right before it is revealed.",
    "presenter view": "Large type, the tree and its text filling the screen; Space plays or "
    "pauses, the arrow keys step.",
}


def term(name: str) -> str:
    """The one-line explanation of `name`; KeyError for a term the glossary lacks."""
    return GLOSSARY[name]


def column_help(terms: Mapping[str, str]) -> dict[str, st.column_config.Column]:
    """Column configs for st.dataframe: each column in `terms` gets its term's line as help."""
    return {column: st.column_config.Column(help=term(name)) for column, name in terms.items()}
