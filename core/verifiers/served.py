"""Process reward models served over HTTP: where they run, and what every one of them shares.

A served PRM reads the question and the steps and returns one reward per step. Its calls are
real model calls on another server: their prompt tokens go in the ledger as verification, costed
at the PRM's price when one is given (else "unknown", never $0). A call that times out, gets an
HTTP error or a reply that is not what the API promises leaves that step's score unavailable,
with the reason as its detail; the run goes on. After `MAX_FAILURES` failed calls in a row the
server is taken as down and not called again by this verifier.

Rewards of a causal PRM at a step depend only on the text before it, so the rewards one call
returns for earlier steps are kept and reused: scoring every step of a sample costs one call
with a pooling PRM.
"""

from __future__ import annotations

import os
import time
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import requests

from core.providers.base import Completion, Price, Usage
from core.providers.keys import redact
from core.verifiers.base import StepScores, Verifier

KEY_VARIABLE = "DELIBERATE_PRM_API_KEY"  # the PRM server's key comes from the environment only
MAX_FAILURES = 3


@dataclass(frozen=True)
class PrmServer:
    """A PRM server: its base URL (`http://host:8000` or `http://host:8000/v1`), the served model's
    name, an optional price (dollars per million tokens) and a timeout in seconds per call."""

    url: str
    model: str
    price: Price | None = None
    timeout: float = 30.0
    api_key: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.url.strip().startswith(("http://", "https://")):
            raise ValueError(
                f"the PRM server URL must start with http:// or https://, e.g. "
                f"http://localhost:8000 (got {self.url!r})"
            )
        if not self.model.strip():
            raise ValueError("name the served PRM model, e.g. Qwen/Qwen2.5-Math-PRM-7B")
        if self.timeout <= 0:
            raise ValueError("the PRM timeout must be positive")

    @classmethod
    def from_env(
        cls, url: str, model: str, price: Price | None = None, timeout: float = 30.0
    ) -> PrmServer:
        """The server, with its key (if any) from DELIBERATE_PRM_API_KEY."""
        key = os.environ.get(KEY_VARIABLE, "").strip() or None
        return cls(url.strip(), model.strip(), price, timeout, key)

    @property
    def root(self) -> str:
        """The URL without a trailing `/v1`: vLLM serves `/pooling` at the root."""
        root = self.url.strip().rstrip("/")
        return root.removesuffix("/v1")


class PrmUnavailable(Exception):
    """A PRM call gave no usable reward; `call` is its usage when the server did answer."""

    def __init__(self, reason: str, call: Completion | None = None) -> None:
        super().__init__(reason)
        self.call = call


class ServedPrm(Verifier):
    """Shared by served PRMs: HTTP, errors, the failure count, reuse of earlier steps' rewards."""

    api = "served PRM"  # how the detail names the kind of server

    def __init__(self, server: PrmServer) -> None:
        self.server = server
        self.model = server.model
        self._rewards: dict[tuple[str, tuple[str, ...]], float] = {}  # (question, steps) → reward
        self._failures = 0
        self._down = ""  # why the server is no longer called, once it failed MAX_FAILURES times

    @abstractmethod
    def read(self, question: str, steps: Sequence[str]) -> tuple[list[float], Completion]:
        """Rewards of the last len(rewards) steps of one path, from one call; raises
        PrmUnavailable."""

    def cost(self, call: Completion) -> float | None:
        return None if self.server.price is None else self.server.price.cost(call.usage)

    def worst_case_cost(self, question: str, paths: Sequence[Sequence[str]]) -> float | None:
        """Every path's text counted in bytes (an upper bound on its tokens), plus one token."""
        if self.server.price is None:
            return None
        prompt = sum(len(question.encode()) + len("".join(s).encode()) for s in paths)
        return self.server.price.cost(Usage(prompt + 64 * len(paths), len(paths)))

    def score(self, question: str, paths: Sequence[Sequence[str]]) -> StepScores:
        """Each path's last step; longest paths first, so that shorter ones reuse their rewards."""
        scores: list[float | None] = [None] * len(paths)
        details = [""] * len(paths)
        calls: list[Completion] = []
        for i in sorted(range(len(paths)), key=lambda i: -len(paths[i])):
            steps = tuple(paths[i])
            known = self._rewards.get((question, steps))
            if known is None and steps and not self._down:
                try:
                    rewards, call = self.read(question, steps)
                except PrmUnavailable as failure:
                    calls += [failure.call] if failure.call is not None else []
                    details[i] = f"score unavailable: {failure}"
                    self._failed(str(failure))
                    continue
                self._failures = 0
                calls.append(call)
                first = len(steps) - len(rewards)
                for k, reward in enumerate(rewards):
                    self._rewards[(question, steps[: first + k + 1])] = reward
                known = rewards[-1]
            if known is not None:
                scores[i] = known
                details[i] = f"{self.model}: P(step right) = {known:.2f}"
            elif not steps:
                details[i] = "score unavailable: no step to score"
            else:
                details[i] = f"score unavailable: {self._down}"
        return StepScores(scores, details, calls)

    def _failed(self, reason: str) -> None:
        self._failures += 1
        if self._failures >= MAX_FAILURES:
            self._down = (
                f"the {self.api} at {self.server.url} failed {MAX_FAILURES} times in a row and "
                f"is no longer called (last: {reason})"
            )

    def post(self, url: str, payload: dict[str, Any]) -> tuple[dict[str, Any], float]:
        """POST JSON; the reply's JSON object and the seconds taken, or PrmUnavailable."""
        headers = {"Authorization": f"Bearer {self.server.api_key}"} if self.server.api_key else {}
        started = time.perf_counter()
        try:
            reply = requests.post(url, json=payload, headers=headers, timeout=self.server.timeout)
        except requests.Timeout:
            raise PrmUnavailable(f"no reply from {url} within {self.server.timeout:g} s") from None
        except requests.RequestException as exc:
            raise PrmUnavailable(f"cannot reach {url}: {self._clean(str(exc))}") from None
        seconds = time.perf_counter() - started
        try:
            body = reply.json()
        except ValueError:
            body = None
        if reply.status_code >= 400:
            message = body.get("error", body) if isinstance(body, dict) else reply.text
            if isinstance(message, dict):
                message = message.get("message", message)
            raise PrmUnavailable(
                f"HTTP {reply.status_code} from {url}: {self._clean(str(message))}"
            )
        if not isinstance(body, dict):
            raise PrmUnavailable(f"the reply from {url} is not a JSON object: {reply.text[:80]!r}")
        return body, seconds

    def _clean(self, text: str) -> str:
        return redact(text, self.server.api_key)[:200]


def prompt_tokens(body: dict[str, Any], fallback: str) -> int:
    """The reply's usage.prompt_tokens; the prompt's byte count (an upper bound) if it has none."""
    usage = body.get("usage")
    tokens = usage.get("prompt_tokens") if isinstance(usage, dict) else None
    return tokens if isinstance(tokens, int) and tokens >= 0 else len(fallback.encode())
