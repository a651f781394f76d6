"""What streaming costs the embedded engine, and how soon and how often text arrives (issue 17).

.venv/bin/python benchmarks/streaming.py                      # both models, N = 1 and 16
.venv/bin/python benchmarks/streaming.py --models qwen2.5-coder-0.5b --ns 16 --tokens 200

The same batched generation runs with and without a text sink (one that queues every piece, as
the run context's does), alternating, on a warm engine; prints tokens/s both ways, the first
piece's delay and the longest gap between pieces. Run it on a quiet machine (check `uptime`).
"""

from __future__ import annotations

import argparse
import itertools
import queue
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.providers.base import GenerationRequest, Message
from core.providers.batched_sampling import Job
from core.providers.local import local_provider
from core.providers.local_model import MODELS, installed_models

ESSAY = (Message("user", "Write a long, detailed essay on the history of railways in Europe."),)


def one(engine, job: Job, stream: bool) -> tuple[float, float | None, float | None]:
    """(tokens/s, seconds to the first piece, longest gap between pieces)."""
    pieces: queue.SimpleQueue = queue.SimpleQueue()
    sink = (lambda j, i, text: pieces.put(time.perf_counter())) if stream else None
    start = time.perf_counter()
    samples = engine.generate_many([job], sink)[0]
    seconds = time.perf_counter() - start
    stamps = []
    while not pieces.empty():
        stamps.append(pieces.get())
    first = stamps[0] - start if stamps else None
    gap = max((b - a for a, b in itertools.pairwise(stamps)), default=None)
    return sum(s.tokens for s in samples) / seconds, first, gap


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(m for m in MODELS if m in installed_models()))
    parser.add_argument("--ns", default="1,16", type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    print("model                  N  plain tok/s  streamed tok/s  cost   first piece  max gap")
    for model in args.models.split(","):
        provider = local_provider(model)
        prompt = provider._llm.tokenize(
            provider.prompt(GenerationRequest(ESSAY)).encode(), add_bos=False, special=True
        )
        engine = provider.engine()
        for n in args.ns:
            job = Job(prompt, n, args.tokens, 0.7, 0.95, (), 1)
            one(engine, job, False)  # warm: the prompt is in the cache for both
            plain, streamed, first, gap = [], [], [], []
            for _ in range(args.repeats):
                plain.append(one(engine, job, False)[0])
                rate, delay, longest = one(engine, job, True)
                streamed.append(rate)
                first.append(delay or 0.0)
                gap.append(longest or 0.0)
            p, s = sum(plain) / len(plain), sum(streamed) / len(streamed)
            print(
                f"{model:<21}{n:>3}  {p:>11.1f}  {s:>14.1f}  {1 - s / p:>+5.1%}  "
                f"{max(first):>9.2f} s  {max(gap):>5.2f} s",
                flush=True,
            )


if __name__ == "__main__":
    main()
