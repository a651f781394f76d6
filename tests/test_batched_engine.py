"""The batched engine on the real 0.5B: same text as sequential decoding, sequences kept apart,
the KV cache bounded, and model-as-PRM scores unchanged by prefix reuse. Tiny outputs: the CPU is
shared."""

import llama_cpp as lc
import pytest

from core.providers.base import GenerationRequest, Message, ProviderError
from core.providers.batched_engine import BatchedEngine
from core.providers.batched_sampling import Job
from core.providers.kv_plan import EngineSize, plan_size
from core.verifiers.model_judge import ModelJudge

pytestmark = pytest.mark.model

COUNT = (Message("user", "Count from 1 to 30, separated by commas."),)
STORY = (Message("user", "Write a short story about a lighthouse keeper and a storm."),)


def request(messages=COUNT, **fields) -> GenerationRequest:
    return GenerationRequest(messages, **{"max_tokens": 12, "temperature": 0.0, **fields})


@pytest.fixture
def small(local):
    """A separate engine on the loaded model with room for 4 sequences in 1,024 cells."""
    size = EngineSize(cells=1024, sequences=4, parallel=4, seq_limit=512)
    engine = BatchedEngine(local._llm.model, size, local._threads)
    yield engine
    engine.close()


def tokens(local, messages) -> list[int]:
    text = local.prompt(GenerationRequest(messages))
    return local._llm.tokenize(text.encode(), add_bos=False, special=True)


def kv_matches_bookkeeping(engine: BatchedEngine) -> bool:
    """llama.cpp's own view: each sequence id holds exactly the positions the engine thinks."""
    held = [lc.llama_memory_seq_pos_max(engine.memory, s) + 1 for s in range(engine.size.sequences)]
    return held == engine.slot_lengths()


@pytest.mark.parametrize("stop", [(), ("7",)])
def test_greedy_text_is_the_same_batched_or_sequential(local, monkeypatch, stop):
    results = {}
    for batched in ("0", "1"):
        monkeypatch.setenv("DELIBERATE_BATCHED", batched)
        out = local.generate(request(n=3, stop=stop, max_tokens=24))
        results[batched] = [(c.text, c.finish_reason, c.usage.output_tokens) for c in out]
    assert results["0"] == results["1"]
    if stop:  # cut before the stop string, as create_completion does
        assert all(text.endswith("6, ") and why == "stop" for text, why, _ in results["1"])


def test_each_sequence_stops_on_its_own(local):
    out = local.generate(request(STORY, n=6, temperature=1.0, seed=11, stop=(".",), max_tokens=20))
    stopped = [c for c in out if c.finish_reason == "stop"]
    running = [c for c in out if c.finish_reason == "length"]
    assert stopped and running, "the seeds should give both kinds"
    assert all("." not in c.text for c in stopped)
    assert all(c.usage.output_tokens == 20 for c in running)
    # Sequences that stopped early did not cut the others short.
    assert min(c.usage.output_tokens for c in stopped) < 20


def test_same_seed_in_another_batch_position_gives_the_same_text(local, small):
    story = tokens(local, STORY)
    small.generate(story, 1, 1, temperature=0.0, top_p=1.0)  # A and B both find it cached
    sample = dict(temperature=0.8, top_p=0.95)
    first = small.generate(story, 4, 12, seed=100, **sample)
    shifted = small.generate(story, 4, 12, seed=98, **sample)
    assert [s.text for s in first[:2]] == [s.text for s in shifted[2:]]
    assert len({s.text for s in first}) == 4  # the seeds really differ


def test_copies_share_the_prompt_and_old_sequences_are_freed(local, small):
    count, story = tokens(local, COUNT), tokens(local, STORY)
    samples = small.generate(count, 4, 8, temperature=0.9, top_p=0.95, seed=1)
    # The prompt is held once; each sequence adds what it decoded (its last token never is).
    assert small.used_cells() == len(count) + sum(s.tokens - 1 for s in samples)
    assert kv_matches_bookkeeping(small)
    # Four new sequences need all four ids: the old ones are dropped and their cells freed.
    samples = small.generate(story, 4, 8, temperature=0.9, top_p=0.95, seed=2)
    assert small.used_cells() == len(story) + sum(s.tokens - 1 for s in samples)
    assert kv_matches_bookkeeping(small)


def test_memory_stays_bounded_over_many_calls(local, small):
    """Far more tokens than the 1,024 cells pass through; nothing leaks and decoding never fails."""
    base = tokens(local, STORY)
    for i in range(10):
        prompt = base + tokens(local, (Message("user", f"Chapter {i}: the lamp goes out."),))
        for n in (4, 2, 1):
            small.generate(prompt, n, 16, temperature=0.9, top_p=0.95, seed=i)
            small.next_logits([*prompt, 11, 12])
            assert small.used_cells() <= small.size.cells
    assert kv_matches_bookkeeping(small)


def test_old_prefixes_beyond_the_keep_bound_are_given_up_before_a_call(local):
    """Attention scans every cell in use, so the engine keeps at most `keep` cells of old
    prefixes, while a prompt that extends the most recent answer is still found in the cache."""
    size = EngineSize(cells=4096, sequences=8, parallel=2, seq_limit=512, keep=300)
    engine = BatchedEngine(local._llm.model, size, local._threads)
    try:
        for i in range(6):
            prompt = tokens(local, (Message("user", f"Chapter {i}: the lamp goes out."),))
            engine.generate(prompt, 2, 40, temperature=0.9, top_p=0.95, seed=i)
            # What a call may add: its prompt and 2 x 40 tokens, over the bounded old prefixes.
            assert engine.used_cells() <= size.keep + len(prompt) + 2 * 40
        assert kv_matches_bookkeeping(engine)
        (last,) = engine.generate(prompt, 1, 8, temperature=0.0, top_p=1.0)
        assert last.cached == len(prompt) - 1
    finally:
        engine.close()


def test_a_prompt_that_does_not_fit_is_a_provider_error(local, small):
    with pytest.raises(ProviderError, match="context of 512"):
        small.generate(tokens(local, STORY) * 20, 1, 8, temperature=0.0, top_p=1.0)
    with pytest.raises(ProviderError, match="DELIBERATE_KV_MB"):
        plan_size(local._llm.model, 2**20, 16, 4096)


def test_prm_score_with_prefix_reuse_equals_the_score_from_scratch(local, monkeypatch, pens):
    judge = ModelJudge(local)
    paths = [["Each pen costs $3, so 7 pens cost 7 × 3 = $21."], ["He pays $50, so 50 - 21 = 28."]]
    monkeypatch.setenv("DELIBERATE_BATCHED", "1")
    judge.score(pens.question, [paths[1]])  # the problem's prefix is now cached
    reused = judge.score(pens.question, paths)
    monkeypatch.setenv("DELIBERATE_BATCHED", "0")
    local._llm.reset()  # the sequential path prefills everything from scratch
    scratch = judge.score(pens.question, paths[:1])
    assert reused.calls[0].usage.cached_tokens > 0
    assert scratch.calls[0].usage.cached_tokens == 0
    # Not bit for bit: llama.cpp's CPU kernels round differently for different batch shapes and
    # cache layouts, which moves P(yes) by up to ~0.03 here (the sequential path's own prefix
    # reuse does the same); a wrong prefix or position would move it far more.
    assert reused.scores[0] == pytest.approx(scratch.scores[0], abs=0.05)


def test_several_prompts_decode_together_as_each_would_alone(local, small):
    """generate_many: per-prompt positions, seeds and stops; greedy text as from separate calls."""
    count, story = tokens(local, COUNT), tokens(local, STORY)
    greedy = dict(temperature=0.0, top_p=1.0)
    alone = [small.generate(count, 1, 16, **greedy), small.generate(story, 1, 16, **greedy)]
    small.generate(tokens(local, (Message("user", "Hi"),)), 4, 4, **greedy)  # fill every id
    jobs = [Job(count, 1, 16, stop=("5",), **greedy), Job(story, 1, 16, **greedy)]
    together = small.generate_many(jobs)
    assert together[0][0].text == alone[0][0].text.split("5")[0]
    assert together[0][0].finish_reason == "stop"
    assert together[1][0].text == alone[1][0].text
    assert kv_matches_bookkeeping(small)


def test_more_samples_than_parallel_sequences_go_in_waves(local, small):
    """Two prompts, 3 samples each, on an engine that decodes 4 at once: 2 waves, all seeds kept."""
    count, story = tokens(local, COUNT), tokens(local, STORY)
    sample = dict(temperature=0.9, top_p=0.95)
    out = small.generate_many(
        [Job(count, 3, 8, seed=5, **sample), Job(story, 3, 8, seed=7, **sample)]
    )
    assert [len(samples) for samples in out] == [3, 3]
    assert all(s.tokens for samples in out for s in samples)
    (again,) = small.generate_many([Job(story, 3, 8, seed=7, **sample)])
    assert [s.text for s in again][:1] == [s.text for s in out[1]][:1]  # seed 7 + 0 both times
    assert kv_matches_bookkeeping(small)


def test_a_job_that_does_not_fit_beside_the_wave_waits_for_the_next(local, small):
    """1,024 cells: the second job's 400 tokens do not fit beside the first's 2 x 400, so it runs
    after it instead of failing; the same prompt twice copies the decoding sequence's prefix."""
    story = tokens(local, STORY)
    sample = dict(temperature=0.9, top_p=0.95)
    out = small.generate_many(
        [Job(story, 2, 400, seed=1, **sample), Job(story, 1, 400, seed=9, **sample)]
    )
    assert [len(samples) for samples in out] == [2, 1]
    assert small.used_cells() <= small.size.cells
    assert kv_matches_bookkeeping(small)
    shared = small.generate_many(
        [Job(story, 1, 4, seed=1, **sample), Job(story, 1, 4, seed=2, **sample)]
    )
    assert shared[1][0].cached == len(story) - 1  # copied (all but the last token re-read)
