"""End to end against a real OpenAI-compatible server: llama-cpp-python's own, serving the
embedded model on a free 127.0.0.1 port, with an API key."""

import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import pytest

from core.budget import Budget
from core.events import NodeAdded, UsageRecorded
from core.ledger import Ledger
from core.providers.base import (
    STEP_STOP,
    GenerationRequest,
    Message,
    Price,
    ProviderError,
    Usage,
)
from core.providers.local_model import model_path
from core.providers.openai_api import OpenAICompatibleProvider
from core.tree import ReasoningTree
from core.verifiers.model_judge import ModelJudge
from strategies import STRATEGIES

pytestmark = pytest.mark.model

KEY = "sk-e2e-5b0c1d2e3f4a"
MODEL = "qwen-e2e"  # the alias the server answers to
PRICE = Price(
    input_per_million=0.5, output_per_million=1.5
)  # the user's price for a self-hosted model
STARTUP_SECONDS = 180


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ready(url: str) -> bool:
    request = urllib.request.Request(f"{url}/models", headers={"Authorization": f"Bearer {KEY}"})
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def server():
    port = free_port()
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(model_path()),
        "--host", "127.0.0.1", "--port", str(port), "--model_alias", MODEL, "--api_key", KEY,
        "--n_ctx", "2048", "--n_threads", "2",
    ]  # fmt: skip
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}/v1"
        try:
            deadline = time.monotonic() + STARTUP_SECONDS
            while not ready(url):
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    pytest.fail(f"llama_cpp.server did not start:\n{log.read().decode()[-2000:]}")
                time.sleep(0.25)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def provider_for(url: str, **options) -> OpenAICompatibleProvider:
    return OpenAICompatibleProvider(MODEL, url, api_key=KEY, price=PRICE, timeout=120, **options)


def test_best_of_n_runs_through_the_server(server, pens, arithmetic):
    provider = provider_for(server)
    budget = Budget(n=2, max_depth=2, step_tokens=24, max_total_tokens=400, seed=11)
    events = list(STRATEGIES["best_of_n"](pens, provider, arithmetic, budget))
    assert events[-1].reason == "complete", events[-1].message

    tree = ReasoningTree.from_events(events)
    samples = [e for e in events if isinstance(e, NodeAdded)]
    assert len(samples) == 2 and all(s.role == "sample" and s.text for s in samples)
    assert len(tree) == 3 and tree.chosen.node_id in {s.node_id for s in samples}
    # This server ignores n (one request per sample) and sends no usage in a stream: the first
    # streamed sample is counted from its bytes (an upper bound), later calls are plain.
    assert provider.dropped == {"n", "stream"}

    usages = [e for e in events if isinstance(e, UsageRecorded)]
    assert [u.role for u in usages] == ["generate", "generate"]  # the arithmetic PRM is free
    for usage in usages:
        assert usage.input_tokens > 30  # the system prompt and the problem, as the server counted
        assert 0 < usage.output_tokens <= 8 * budget.sample_tokens  # bytes bound its tokens
        billed = Usage(usage.input_tokens, usage.output_tokens)
        assert usage.cost_usd == pytest.approx(PRICE.cost(billed))
    total = Ledger.from_events(events).total
    assert total.cost_usd == pytest.approx(sum(u.cost_usd for u in usages)) and total.cost_usd > 0
    assert total.output_tokens == sum(s.output_tokens for s in samples)


def test_a_step_continues_the_answer_so_far(server):
    request = GenerationRequest(
        messages=(
            Message("system", "Solve step by step, one short paragraph per step."),
            Message("user", "A box has 4 rows of 6 eggs. 5 eggs break. How many are left?"),
        ),
        max_tokens=24,
        stop=(STEP_STOP,),
        seed=3,
        assistant_prefix="Step 1: The box holds 4 × 6 = 24 eggs.\n\n",
    )
    (step,) = provider_for(server).generate(request)
    assert step.text.strip() and STEP_STOP not in step.text
    assert not step.text.startswith("Step 1")  # it went on from the steps so far
    assert step.finish_reason in ("stop", "length")


def test_the_judge_reads_real_logprobs(server):
    scores = ModelJudge(provider_for(server)).score(
        "What is 6 × 7?", [["6 × 7 = 42."], ["6 × 7 = 48."]]
    )
    for call in scores.calls:
        assert call.logprobs and len(call.logprobs[0]) >= 2  # top alternatives of the first token
    assert all(0.0 <= s <= 1.0 for s in scores.scores)
    assert all(d.startswith("judge: P(yes)") for d in scores.details)  # not the parsed fallback


def test_a_wrong_key_is_a_clear_error(server):
    wrong = OpenAICompatibleProvider(MODEL, server, api_key="sk-wrong-000000", max_retries=0)
    with pytest.raises(ProviderError, match="rejected the API key"):
        wrong.generate(GenerationRequest(messages=(Message("user", "hi"),), max_tokens=4))
