"""Local engine speed: batched sampling and prefix reuse on the embedded model (issue 5).

.venv/bin/python benchmarks/local_engine.py                       # both models, all four parts
.venv/bin/python benchmarks/local_engine.py --models qwen2.5-coder-0.5b --parts 1 --ns 1,8

Run it on a quiet machine (check `uptime`): llama.cpp's threads spin-wait for each other, so a
core taken by another process slows every step far more than its share.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.budget import Budget
from core.events import UsageRecorded
from core.problems.catalog import load_problem_set
from core.providers.base import Completion, GenerationRequest, Message, Provider
from core.providers.batched_engine import BatchedEngine
from core.providers.kv_plan import plan_size
from core.providers.local import BATCHED_ENV, DEFAULT_KV_MB, N_CTX, PARALLEL, LocalProvider
from core.providers.local_model import MODELS, installed_models, model_path
from core.verifiers import make_verifier
from strategies import STRATEGIES

ESSAY = (Message("user", "Write a long, detailed essay on the history of railways in Europe."),)
FILLER = "The committee reviewed the {0} budget line by line and approved item {0} after debate. "


def throughput(provider: LocalProvider, engine: BatchedEngine, args: argparse.Namespace) -> None:
    prompt = provider.prompt(GenerationRequest(ESSAY))
    tokens = provider._llm.tokenize(prompt.encode(), add_bos=False, special=True)
    prefill = 0.0
    for rep in range(2):  # a fresh prompt each time, so nothing comes from the cache
        text = "".join(FILLER.format(f"{rep}-{i}") for i in range(24))
        filler = provider._llm.tokenize(text.encode(), add_bos=False)[:512]
        start = time.perf_counter()
        engine.next_logits(filler)
        prefill = max(prefill, len(filler) / (time.perf_counter() - start))
    print(f"prefill: {prefill:.0f} tokens/s (512-token prompt)")
    print("   N  sequential tok/s  batched tok/s  ratio  batched/prefill  mean tokens")
    for n in args.ns:
        os.environ[BATCHED_ENV] = "0"
        request = GenerationRequest(
            ESSAY, n=n, max_tokens=args.tokens, temperature=0.7, top_p=0.95, seed=n
        )
        start = time.perf_counter()
        sequential = sum(c.usage.output_tokens for c in provider.generate(request))
        sequential_rate = sequential / (time.perf_counter() - start)
        start = time.perf_counter()
        samples = engine.generate(tokens, n, args.tokens, temperature=0.7, top_p=0.95, seed=n)
        batched = sum(s.tokens for s in samples)
        batched_rate = batched / (time.perf_counter() - start)
        print(
            f"{n:>4}  {sequential_rate:>16.1f}  {batched_rate:>13.1f}  "
            f"{batched_rate / sequential_rate:>5.2f}  {batched_rate / prefill:>15.0%}  "
            f"{sequential / n:>5.0f} / {batched / n:.0f}",
            flush=True,
        )


def decode_steps(provider: LocalProvider, engine: BatchedEngine) -> None:
    """The ceiling under the engine: one raw llama_decode of k rows, no sampling, no Python."""
    prompt = provider._llm.tokenize(ESSAY[0].content.encode(), add_bos=False)
    print("rows  ms/step  tokens/s")
    for k in (1, 2, 4, 6, 8, 10, 12, 16):
        for s in range(engine.size.sequences):
            engine._drop(s)
        for s in range(k):
            engine._prefill(s, prompt, 0)
        steps, start = 20, time.perf_counter()
        for step in range(steps):
            engine._fill([(100 + step, len(prompt) + step, s) for s in range(k)])
            engine._decode(protect=set(range(k)))
        seconds = (time.perf_counter() - start) / steps
        print(f"{k:>4}  {seconds * 1000:>7.0f}  {k / seconds:>8.1f}", flush=True)


def shared_prefix(a: list[int], b: list[int]) -> int:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return min(len(a), len(b))


class Recorder(Provider):
    """The local provider, keeping every prompt and completion (as tokens) to find the minimum."""

    def __init__(self, inner: LocalProvider) -> None:
        self.inner, self.name, self.model, self.price = inner, inner.name, inner.model, inner.price
        self.calls: list[tuple[str, list[int], list[list[int]]]] = []

    def generate(self, request: GenerationRequest) -> list[Completion]:
        return self.generate_many([request])[0]

    def generate_many(self, requests: Sequence[GenerationRequest]) -> list[list[Completion]]:
        answers = self.inner.generate_many(requests)  # a tree level decodes together
        for request, out in zip(requests, answers, strict=True):
            role = "verify" if request.top_logprobs and request.max_tokens == 1 else "generate"
            prompt = self.inner.prompt(request)
            tokens = [self.tokens(prompt)] + [self.tokens(prompt + c.text) for c in out]
            self.calls.append((role, tokens[0], tokens[1:]))
        return answers

    def tokens(self, text: str) -> list[int]:
        return self.inner._llm.tokenize(text.encode(), add_bos=False, special=True)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def fresh_tokens(self) -> dict[str, int]:
        """Per role, the prompt tokens no cache could avoid: beyond the longest prefix shared
        with any earlier prompt or prompt + answer (one token at least, for its logits)."""
        fresh = {"generate": 0, "verify": 0}
        seen: list[list[int]] = []
        for role, prompt, answers in self.calls:
            best = max((shared_prefix(prompt, s) for s in seen), default=0)
            fresh[role] += len(prompt) - min(best, len(prompt) - 1)
            seen += [prompt, *answers]
        return fresh


def prefix_reuse(provider: LocalProvider, args: argparse.Namespace) -> None:
    """Prompt tokens evaluated vs re-reading every prompt, and vs the fewest any cache needs."""
    (problem,) = load_problem_set("gsm_symbolic", seed=args.seed, size=1)
    budget = Budget(n=8, width=2, seed=args.seed)
    print(
        "strategy     engine      role      calls   naive  prefilled  share  "
        "fresh  re-prefilled shared prefix"
    )
    for strategy in ("beam_search", "mcts"):
        for mode, label in (("0", "sequential"), ("1", "batched")):
            os.environ[BATCHED_ENV] = mode
            provider.forget()  # the minimum below counts only this run's prompts
            recorder = Recorder(provider)
            verifier = make_verifier("model_judge", recorder)
            events = list(STRATEGIES[strategy](problem, recorder, verifier, budget))
            usages = [e for e in events if isinstance(e, UsageRecorded)]
            fresh = recorder.fresh_tokens()
            fresh["all"] = sum(fresh.values())
            for role in ("generate", "verify", "all"):
                mine = [u for u in usages if role in ("all", u.role)]
                naive = sum(u.input_tokens for u in mine)
                done = sum(u.input_tokens - u.cached_tokens for u in mine)
                again = done - fresh[role]
                print(
                    f"{strategy:<12} {label:<11} {role:<8} {len(mine):>6}  {naive:>6,}  "
                    f"{done:>9,}  {done / max(naive, 1):>5.1%}  {fresh[role]:>5,}  "
                    f"{again:>7,} = {again / max(naive, 1):.1%} of naive",
                    flush=True,
                )


def end_to_end(provider: LocalProvider, args: argparse.Namespace) -> None:
    problems = load_problem_set("gsm_symbolic", seed=args.seed, size=args.problems)
    budget = Budget(n=8, width=2, seed=args.seed)
    verifier = make_verifier("arithmetic", provider)
    print(
        f"strategy     engine      s/problem  generated tokens/problem  ({len(problems)} problems)"
    )
    for strategy in ("best_of_n", "beam_search"):
        for mode, label in (("0", "sequential"), ("1", "batched")):
            os.environ[BATCHED_ENV] = mode
            start, generated = time.perf_counter(), 0
            for problem in problems:
                for event in STRATEGIES[strategy](problem, provider, verifier, budget):
                    if isinstance(event, UsageRecorded) and event.role == "generate":
                        generated += event.output_tokens
            seconds = (time.perf_counter() - start) / len(problems)
            print(
                f"{strategy:<12} {label:<11} {seconds:>9.1f}  {generated / len(problems):>24.0f}",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", default=",".join(m for m in MODELS if m in installed_models()))
    parser.add_argument(
        "--parts", default="1,2,3,4", help="1 throughput, 2 prefix reuse, 3 e2e, 4 raw decode"
    )
    parser.add_argument("--ns", default="1,4,8,16", type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--tokens", type=int, default=300, help="answer length for part 1")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--n-batch", type=int, default=512)
    parser.add_argument("--n-ubatch", type=int, default=512)
    parser.add_argument("--no-flash-attn", action="store_true")
    parser.add_argument("--problems", type=int, default=2, help="problems for part 3")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    parts = args.parts.split(",")

    print(f"load average at start: {os.getloadavg()[0]:.2f}, {args.threads} threads")
    for name in args.models.split(","):
        provider = LocalProvider(model_path(name), MODELS[name].label, threads=args.threads)
        model = provider._llm.model
        size = plan_size(model, DEFAULT_KV_MB * 2**20, PARALLEL, N_CTX)
        print(f"\n== {MODELS[name].label}: {size}")
        if "1" in parts:
            engine = BatchedEngine(
                model, size, args.threads, args.n_batch, args.n_ubatch, not args.no_flash_attn
            )
            print(
                f"-- 1. aggregate generation speed (n_batch {args.n_batch}, "
                f"n_ubatch {args.n_ubatch}, flash attention {not args.no_flash_attn})"
            )
            throughput(provider, engine, args)
            engine.close()
        if "4" in parts:
            engine = BatchedEngine(
                model, size, args.threads, args.n_batch, args.n_ubatch, not args.no_flash_attn
            )
            print("-- 4. raw decode step by rows (what batched sampling can reach)")
            decode_steps(provider, engine)
            engine.close()
        if "2" in parts:
            print("-- 2. prefix reuse: prompt tokens evaluated (model-as-PRM verifier)")
            prefix_reuse(provider, args)
        if "3" in parts:
            print("-- 3. end to end (arithmetic verifier)")
            end_to_end(provider, args)
    print(f"\nload average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
