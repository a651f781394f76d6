"""The embedded offline model (llama.cpp), shared by every caller in the process behind one lock."""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.confidence import TokenConfidence
from core.providers.base import (
    Completion,
    GenerationRequest,
    Price,
    Provider,
    ProviderError,
    TextSink,
    Usage,
)
from core.providers.local_model import MODELS, ModelFileError, model_path

if TYPE_CHECKING:  # llama_cpp is imported when a model is loaded, not when this module is
    from llama_cpp import LlamaGrammar

    from core.providers.batched_engine import BatchedEngine

N_CTX = 4096  # problem + a deep path + one step; more context costs memory for nothing here
THREADS_ENV = "DELIBERATE_THREADS"  # llama.cpp threads; default: every core (the app: page_threads)
BATCHED_ENV = "DELIBERATE_BATCHED"  # 0: one high-level create_completion per sample, as before
KV_BUDGET_ENV = "DELIBERATE_KV_MB"
# The batched engine's KV cache: 43k tokens of the 0.5B, 18k of the 1.5B, enough for best-of-16
# of whole answers plus the prefixes that tree search reuses.
DEFAULT_KV_MB = 512
PARALLEL = 16  # sequences decoded together; past 16 a CPU step costs as much per token as prefill
PRICE_ENV = "DELIBERATE_LOCAL_PRICE"  # "input,output" dollars per million tokens
# An honest equivalent for a sub-1B model: what hosted APIs charge for their smallest models
# (e.g. Llama-3.2-1B at about $0.02-0.05 per million tokens). Change it with DELIBERATE_LOCAL_PRICE.
DEFAULT_PRICE = Price(input_per_million=0.03, output_per_million=0.06)


def page_threads() -> int:
    """The app's llama.cpp threads: one core fewer than the machine has, at least one.

    llama.cpp's threads spin-wait for each other at every step, so a core taken by the browser
    and the page's redraws stalls them all. Measured on 2 cores, the 0.5B writing beam search
    with the live page open in Chromium (benchmarks/live_page.py): 2 threads 10.6 tokens/s,
    1 thread 12.8, and with no page 24.6 and 14.3.
    """
    return max(1, (os.cpu_count() or 2) - 1)


def local_price() -> Price:
    text = os.environ.get(PRICE_ENV)
    if not text:
        return DEFAULT_PRICE
    try:
        input_price, output_price = (float(x) for x in text.split(","))
    except ValueError as exc:
        raise ValueError(
            f"{PRICE_ENV} must be 'input,output' dollars per million, got {text!r}"
        ) from exc
    return Price(input_price, output_price)


class LocalProvider(Provider):
    name = "local"
    streams = True  # the batched engine hands out text as it decodes

    def __init__(self, path: Path, label: str, threads: int | None = None) -> None:
        from llama_cpp import Llama
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self.model = label
        self.price = local_price()
        self.path = path
        self._lock = threading.Lock()  # one model, two llama.cpp contexts: callers take turns
        self._threads = threads or int(os.environ.get(THREADS_ENV, os.cpu_count() or 2))
        self._engine: BatchedEngine | None = None
        try:
            self._llm = Llama(
                model_path=str(path), n_ctx=N_CTX, n_threads=self._threads, verbose=False
            )
        except (ValueError, RuntimeError) as exc:
            raise ModelFileError(f"llama.cpp could not load {path}: {exc}") from exc
        template = self._llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise ModelFileError(f"{path} has no chat template; use an instruct model")
        vocab = self._llm._model
        self._chat = Jinja2ChatFormatter(
            template=template,
            eos_token=vocab.token_get_text(self._llm.token_eos()),
            bos_token=vocab.token_get_text(self._llm.token_bos()),
        )

    def prompt(self, request: GenerationRequest) -> str:
        """The chat-formatted prompt with the answer so far appended, for the model to continue."""
        messages = [{"role": m.role, "content": m.content} for m in request.messages]
        answer = ANSWER_PREFILL if request.answer_only else ""
        return self._chat(messages=messages).prompt + request.assistant_prefix + answer

    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode(), add_bos=False, special=True))

    def forget(self) -> None:
        """Drop every cached prompt, so that a measurement starts cold."""
        with self._lock:
            self._llm.reset()
            if self._engine is not None:
                self._engine.close()
                self._engine = None

    def engine(self) -> BatchedEngine:
        """The batched engine, made on first use (its KV cache is the big allocation)."""
        if self._engine is None:
            from core.providers.batched_engine import BatchedEngine
            from core.providers.kv_plan import plan_size

            budget = int(os.environ.get(KV_BUDGET_ENV, DEFAULT_KV_MB)) * 2**20
            size = plan_size(self._llm.model, budget, PARALLEL, N_CTX)
            self._engine = BatchedEngine(self._llm.model, size, self._threads)
        return self._engine

    def generate(self, request: GenerationRequest) -> list[Completion]:
        return self.generate_many([request])[0]

    def generate_many(
        self, requests: Sequence[GenerationRequest], on_text: TextSink | None = None
    ) -> list[list[Completion]]:
        """All the requests' samples decode together on the batched engine (one batch per step),
        each sample's new text handed to `on_text` as it decodes. A request's
        `stop_below_confidence` ends each of its samples there, alone, once it is unsure; its
        tokens so far are its usage."""
        if not requests:
            return []
        batched = os.environ.get(BATCHED_ENV, "1") != "0"
        with self._lock:
            prompts = [self._tokens(request) for request in requests]
            # One-token judge calls and grammar-held answers take the sequential path.
            sequential = any(
                (r.top_logprobs and r.max_tokens == 1) or r.answer_only for r in requests
            )
            if batched and not sequential:
                return self._batched(prompts, requests, on_text)
            return [
                self._one(tokens, r, batched) for tokens, r in zip(prompts, requests, strict=True)
            ]

    def _tokens(self, request: GenerationRequest) -> list[int]:
        tokens = self._llm.tokenize(self.prompt(request).encode(), add_bos=False, special=True)
        if N_CTX - len(tokens) < 8:
            raise ProviderError(
                f"the problem and the steps so far are {len(tokens):,} tokens, beyond what "
                f"the local model's context ({N_CTX:,} tokens) can continue"
            )
        return tokens

    def _one(
        self, tokens: list[int], request: GenerationRequest, batched: bool
    ) -> list[Completion]:
        if request.top_logprobs and request.max_tokens == 1:
            return [self._next_token(tokens, request.top_logprobs, batched)] * request.n
        room = N_CTX - len(tokens)
        return [self._complete(tokens, request, i, room) for i in range(request.n)]

    def _batched(
        self,
        prompts: list[list[int]],
        requests: Sequence[GenerationRequest],
        on_text: TextSink | None,
    ) -> list[list[Completion]]:
        from core.providers.batched_sampling import Job

        vocab = self._llm.n_vocab()
        jobs = [
            Job(tokens, r.n, min(r.max_tokens, N_CTX - len(tokens)), r.temperature, r.top_p,
                r.stop, r.seed, min(r.confidence_k, vocab), r.stop_below_confidence)
            for tokens, r in zip(prompts, requests, strict=True)
        ]  # fmt: skip
        start = time.perf_counter()
        samples = self.engine().generate_many(jobs, on_text)
        # The samples ran together: each gets an equal share of the wall time, so that summed
        # seconds (the ledger's) stay the real time spent.
        seconds = (time.perf_counter() - start) / sum(len(s) for s in samples)
        return [
            [
                Completion(
                    s.text,
                    s.finish_reason,
                    Usage(len(job.prompt), s.tokens, s.cached),
                    seconds,
                    confidence=None
                    if s.confidence is None
                    else TokenConfidence(s.confidence, job.confidence_k),
                )
                for s in job_samples
            ]
            for job, job_samples in zip(jobs, samples, strict=True)
        ]

    def no_confidence_reason(self) -> str:
        return (
            "the embedded model measures token confidence on its batched engine only: not "
            f"with {BATCHED_ENV}=0, nor for a System 1 answer held by its grammar"
        )

    def _complete(
        self, tokens: list[int], request: GenerationRequest, index: int, room: int
    ) -> Completion:
        start = time.perf_counter()
        seed = None if request.seed is None else request.seed + index
        # llama-cpp-python keeps the KV cache of the longest common prefix with the previous call
        # (and evaluates at least the last prompt token again), so the N samples of one prompt
        # prefill it once.
        cached = min(self._cached_prefix(tokens), len(tokens) - 1)
        out = self._llm.create_completion(
            tokens,
            max_tokens=min(request.max_tokens, room),
            temperature=request.temperature,
            top_p=request.top_p,
            stop=list(request.stop) or None,
            seed=seed,
            grammar=answer_grammar() if request.answer_only else None,
        )
        choice = out["choices"][0]
        text = (ANSWER_PREFILL if request.answer_only else "") + choice["text"]
        usage = Usage(out["usage"]["prompt_tokens"], out["usage"]["completion_tokens"], cached)
        return Completion(
            text, choice["finish_reason"] or "stop", usage, time.perf_counter() - start
        )

    def _cached_prefix(self, tokens: list[int]) -> int:
        """Leading tokens of `tokens` already in the high-level context's KV cache."""
        common = 0
        for a, b in zip(self._llm.input_ids[: self._llm.n_tokens].tolist(), tokens, strict=False):
            if a != b:
                break
            common += 1
        return common

    def _next_token(self, tokens: list[int], top: int, batched: bool) -> Completion:
        """One forward pass and the top-k logprobs of the next token (for model-as-PRM)."""
        start = time.perf_counter()
        llm = self._llm
        if batched:
            logits, cached = self.engine().next_logits(tokens)
        else:
            # Reuse the shared prefix, but evaluate at least one token to get fresh logits.
            cached = min(self._cached_prefix(tokens), len(tokens) - 1)
            llm.n_tokens = cached
            llm.eval(tokens[cached:])
            logits = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),))
        logprobs = logits - np.logaddexp.reduce(logits)
        best = np.argpartition(logprobs, -top)[-top:]
        alternatives = {
            llm.detokenize([int(t)]).decode(errors="replace"): float(logprobs[t]) for t in best
        }
        text = llm.detokenize([int(best[np.argmax(logprobs[best])])]).decode(errors="replace")
        usage = Usage(input_tokens=len(tokens), output_tokens=1, cached_tokens=cached)
        return Completion(text, "length", usage, time.perf_counter() - start, (alternatives,))


# System 1 on the embedded model: the reply is prefilled with "\\boxed{" and held by a grammar
# to a short answer on one line, braces balanced (`\\frac{1}{3}`), closed by "}". The model
# cannot start an explanation or a list of steps; one that runs out of room has no answer.
ANSWER_PREFILL = "\\boxed{"
ANSWER_GBNF = r"""
root ::= item{1,48} "}"
item ::= [^{}\n] | "{" [^{}\n]{0,16} "}"
"""


@functools.cache
def answer_grammar() -> LlamaGrammar:
    from llama_cpp import LlamaGrammar

    return LlamaGrammar.from_string(ANSWER_GBNF, verbose=False)


_shared: dict[str, LocalProvider] = {}
_loading = threading.Lock()


def local_provider(model: str | None = None) -> LocalProvider:
    """The process-wide provider for a built-in model's name or a GGUF path (loaded once; later
    callers share it)."""
    path = model_path(model)
    key = str(path)
    with _loading:
        if key not in _shared:
            label = next(
                (s.label for s in MODELS.values() if path.name == f"{s.name}.gguf"), path.stem
            )
            _shared[key] = LocalProvider(path, label)
        return _shared[key]
