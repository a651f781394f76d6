"""DeepConf's early stop on the embedded engine (the real 0.5B): a sequence is cut where its
running group confidence falls below the bar, alone, its tokens counted. Tiny outputs: the CPU
is shared."""

from statistics import fmean

import pytest

from core.budget import Budget
from core.confidence import TOP_K, ConfidenceStop
from core.events import AnswerChosen, NodeAdded, RunFinished, Status, UsageRecorded
from core.providers.base import GenerationRequest
from core.providers.batched_sampling import Job
from core.verifiers.arithmetic import ArithmeticChecker
from strategies import STRATEGIES
from tests.test_confidence_engine import COUNT, fresh

pytestmark = pytest.mark.model

WINDOW = 2


def prompt_of(local) -> list[int]:
    text = local.prompt(GenerationRequest(COUNT))
    return local._llm.tokenize(text.encode(), add_bos=False, special=True)


def decode(local, jobs):
    engine = fresh(local)
    try:
        return engine.generate_many(jobs)
    finally:
        engine.close()


def a_bar(values) -> ConfidenceStop:
    """A bar halfway between the highest and lowest group means of the first 12 tokens: it
    fires at or before the 12th token of 16."""
    means = [fmean(values[end - WINDOW : end]) for end in range(WINDOW, 13)]
    return ConfidenceStop((min(means) + max(means)) / 2, WINDOW)


def test_the_engine_cuts_a_sequence_where_its_confidence_falls(local):
    prompt = prompt_of(local)
    ((whole,),) = decode(local, [Job(prompt, 1, 16, 0.0, 0.95, (), 0, TOP_K)])
    assert whole.tokens == 16 and whole.finish_reason == "length"
    rule = a_bar(whole.confidence)
    at = rule.cut_at(whole.confidence)
    assert at is not None and at <= 12
    ((cut,),) = decode(local, [Job(prompt, 1, 16, 0.0, 0.95, (), 0, TOP_K, rule)])
    # Greedy on a fresh engine of the same shape: the same tokens, bit for bit, up to the cut.
    assert (cut.finish_reason, cut.tokens) == ("low_confidence", at)
    assert cut.confidence == whole.confidence[:at]
    assert whole.text.startswith(cut.text) and len(cut.text) < len(whole.text)


def test_the_others_in_the_batch_go_on(local):
    prompt = prompt_of(local)
    ((whole,),) = decode(local, [Job(prompt, 1, 16, 0.0, 0.95, (), 0, TOP_K)])
    rule = a_bar(whole.confidence)
    other = local._llm.tokenize(b"1, 2, 3,", add_bos=False, special=True)
    cut, kept = decode(
        local,
        [
            Job(prompt, 1, 16, 0.0, 0.95, (), 0, TOP_K, rule),
            Job(other, 1, 16, 0.0, 0.95, (), 0, TOP_K),
        ],
    )
    assert cut[0].finish_reason == "low_confidence"
    assert cut[0].tokens == rule.cut_at(cut[0].confidence)
    assert kept[0].finish_reason != "low_confidence"
    assert kept[0].tokens == 16 or kept[0].finish_reason == "stop"


def test_the_local_provider_reports_the_cut_and_its_usage(local):
    plain = GenerationRequest(COUNT, max_tokens=16, temperature=0.0, confidence_k=TOP_K)
    (whole,) = local.generate(plain)
    rule = a_bar(whole.confidence.values)
    request = GenerationRequest(**{**plain.__dict__, "stop_below_confidence": rule})
    (cut,) = local.generate(request)
    assert cut.finish_reason == "low_confidence"
    assert cut.usage.output_tokens == len(cut.confidence.values)
    assert cut.usage.output_tokens == rule.cut_at(cut.confidence.values)


def test_deepconf_online_runs_on_the_embedded_model(local, pens):
    budget = Budget(n=4, max_depth=1, step_tokens=48, max_total_tokens=2_000, deepconf="low")
    events = list(STRATEGIES["deepconf_online"](pens, local, ArithmeticChecker(), budget))
    said = " ".join(e.text for e in events if isinstance(e, Status))
    assert "confidence bar" in said and "no token confidence" not in said
    nodes = [e for e in events if isinstance(e, NodeAdded)]
    assert len(nodes) in (3, 4) and all(e.confidence is not None for e in nodes)
    usage = sum(e.output_tokens for e in events if isinstance(e, UsageRecorded))
    assert usage == sum(e.output_tokens for e in nodes)
    assert next(e for e in events if isinstance(e, AnswerChosen)).method
    assert next(e for e in events if isinstance(e, RunFinished)).reason == "complete"
