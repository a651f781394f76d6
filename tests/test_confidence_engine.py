"""Token confidence on the embedded engine (the real 0.5B): C_i read from the very logits each
token was sampled from, the unasked path unchanged. Tiny outputs: the CPU is shared."""

import math

import pytest

from core.confidence import TOP_K, logits_confidence
from core.providers.base import GenerationRequest, Message
from core.providers.batched_engine import BatchedEngine
from core.providers.batched_sampling import Job
from core.providers.kv_plan import EngineSize

pytestmark = pytest.mark.model

COUNT = (Message("user", "Count from 1 to 30, separated by commas."),)


def fresh(local) -> BatchedEngine:
    """An engine of its own with an empty cache, so that prefills are alike bit for bit."""
    size = EngineSize(cells=1024, sequences=4, parallel=4, seq_limit=512)
    return BatchedEngine(local._llm.model, size, local._threads)


def sample(local, prompt, confidence_k):
    engine = fresh(local)
    try:
        (samples,) = engine.generate_many([Job(prompt, 1, 8, 0.0, 0.95, (), 0, confidence_k)])
    finally:
        engine.close()
    return samples[0]


def test_engine_confidence_comes_from_the_logits_sampled_from(local):
    text = local.prompt(GenerationRequest(COUNT))
    prompt = local._llm.tokenize(text.encode(), add_bos=False, special=True)
    engine = fresh(local)
    try:
        logits, _ = engine.next_logits(prompt)
    finally:
        engine.close()
    asked, plain = sample(local, prompt, TOP_K), sample(local, prompt, 0)
    assert (asked.text, asked.tokens, asked.finish_reason) == (
        plain.text,
        plain.tokens,
        plain.finish_reason,
    )
    assert plain.confidence is None
    assert len(asked.confidence) == asked.tokens == 8
    assert asked.confidence[0] == pytest.approx(logits_confidence(logits, TOP_K), abs=1e-4)
    assert min(asked.confidence) >= math.log(TOP_K) - 1e-3  # the least C_i can be


def test_local_provider_reports_confidence_only_when_asked(local):
    asked = local.generate(
        GenerationRequest(COUNT, n=2, max_tokens=6, temperature=0.0, confidence_k=TOP_K)
    )
    assert all(c.confidence.k == TOP_K for c in asked)
    assert [len(c.confidence.values) for c in asked] == [c.usage.output_tokens for c in asked]
    assert all(0.0 < c.confidence.certainty() < 1.0 for c in asked)
    plain = local.generate(GenerationRequest(COUNT, max_tokens=6, temperature=0.0))
    assert plain[0].confidence is None
    held = local.generate(GenerationRequest(COUNT, max_tokens=6, answer_only=True, confidence_k=20))
    assert held[0].confidence is None  # the grammar's sequential path measures none
