"""The one interface every model backend implements: n completions for a prompt, with usage."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

from core.confidence import ConfidenceStop, TokenConfidence

# Streaming: new text of sample `index` of request `request` (positions in the call's lists);
# a Thinking piece is the model's thinking, a Finished one the sample's end, any other str its
# answer.
TextSink = Callable[[int, int, str], None]


class Thinking(str):
    """A streamed piece of the model's thinking (not its answer), handed to the same TextSink."""


class Finished(str):
    """A sample's end, handed to the TextSink as an empty piece: the sample has written all it
    will (while the call's other samples may go on); its Completion comes when the call returns."""


STEP_STOP = "\n\n"  # a reasoning step ends at a blank line, as in search-and-learn


class ProviderError(RuntimeError):
    """A backend failed in a way the user should read about (bad key, timeout, garbage)."""

    def __init__(self, message: str, partial: Sequence[Completion] = ()) -> None:
        super().__init__(message)
        # Completions of the same request that succeeded (and were billed) before the failure.
        self.partial = tuple(partial)


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0  # input tokens served from a prompt cache (billed cheaper by APIs)
    reasoning_tokens: int = 0  # hidden thinking tokens, included in output_tokens


@dataclass(frozen=True)
class Price:
    """Dollars per million tokens."""

    input_per_million: float
    output_per_million: float
    cached_input_per_million: float | None = None

    def cost(self, usage: Usage) -> float:
        cached_rate = self.cached_input_per_million
        if cached_rate is None:
            cached_rate = self.input_per_million
        fresh = usage.input_tokens - usage.cached_tokens
        dollars = (
            fresh * self.input_per_million
            + usage.cached_tokens * cached_rate
            + usage.output_tokens * self.output_per_million
        )
        return dollars / 1_000_000


@dataclass(frozen=True)
class Message:
    role: str  # system | user | assistant
    content: str


@dataclass(frozen=True)
class GenerationRequest:
    """What to generate. `assistant_prefix` is the answer so far, which the model continues."""

    messages: tuple[Message, ...]
    n: int = 1
    max_tokens: int = 256
    temperature: float = 0.7
    top_p: float = 0.95
    stop: tuple[str, ...] = ()
    seed: int | None = None
    assistant_prefix: str = ""
    top_logprobs: int = 0  # >0 asks for the top-k alternatives of each generated token
    # >0 asks for each generated token's DeepConf confidence over its top-k logprobs
    # (Completion.confidence); backends that cannot give it return None and say why.
    confidence_k: int = 0
    # DeepConf online: stop each sample once its running group confidence falls below a
    # threshold (needs confidence_k). A backend that honours it ends that sample alone, its text
    # so far kept, with finish_reason "low_confidence"; one that cannot ignores it, and its
    # completions come back without confidence (the strategy's cue to fall back).
    stop_below_confidence: ConfidenceStop | None = None
    # Native thinking, for providers with `native_thinking`: OpenAI's reasoning effort
    # (low | medium | high) and Anthropic's extended-thinking budget, both within max_tokens.
    reasoning_effort: str | None = None
    thinking_tokens: int = 0
    # The reply is an answer only (System 1). Backends that can constrain decoding hold it to an
    # answer's shape and return it as written, e.g. `\\boxed{72}` (the embedded model: a prefill
    # and a llama.cpp grammar); the others rely on the prompt and a short max_tokens, and a reply
    # that states no answer is graded "no answer".
    answer_only: bool = False

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ValueError("n must be at least 1")
        if self.max_tokens < 1:
            raise ValueError("max_tokens must be at least 1")
        if self.stop_below_confidence is not None and self.confidence_k < 1:
            raise ValueError("stop_below_confidence needs confidence_k (the top k to measure)")


@dataclass(frozen=True)
class Completion:
    text: str
    finish_reason: str  # stop | length | low_confidence (cut by stop_below_confidence) | error
    usage: Usage
    seconds: float
    # Per generated token: {token text: logprob} of the top alternatives, when asked and available.
    logprobs: tuple[dict[str, float], ...] | None = field(default=None, compare=False)
    thinking: str = ""  # a thinking summary some APIs return alongside the answer
    # C_i per generated token (core.confidence), when asked with confidence_k and available.
    confidence: TokenConfidence | None = field(default=None, compare=False)


class Provider(ABC):
    """A model backend. Subclasses implement `generate`; everything else is shared."""

    name: str = "provider"
    model: str = "unknown"
    price: Price | None = None  # None: the price is unknown, so costs show "unknown", never $0
    native_thinking: bool = False  # honours reasoning_effort / thinking_tokens (hidden reasoning)
    streams: bool = False  # generate_many hands new text to `on_text` as it is written

    @abstractmethod
    def generate(self, request: GenerationRequest) -> list[Completion]:
        """Return exactly `request.n` completions, or raise ProviderError."""

    def generate_many(
        self, requests: Sequence[GenerationRequest], on_text: TextSink | None = None
    ) -> list[list[Completion]]:
        """Each request's completions; backends that can serve them together override this.

        Backends with `streams` call `on_text(request, index, new_text)` while they write, from
        any thread, several at once where requests go out concurrently (API providers), so the
        callback must be thread-safe; one sample's pieces come in order, all before this
        returns, and joined they are its text (before stop cuts the backend applies after the
        fact, which it holds back). A `Finished()` piece, last, says the sample has ended (when
        the backend streamed it: a plain call, or a stream that broke, sends none)."""
        done: list[list[Completion]] = []
        for r, request in enumerate(requests):
            sink = None if on_text is None else partial(on_text, r)
            try:
                done.append(self.generate_streamed(request, sink))
            except ProviderError as exc:
                billed = [c for completions in done for c in completions]
                raise ProviderError(str(exc), [*billed, *exc.partial]) from exc
        return done

    def generate_streamed(
        self, request: GenerationRequest, sink: Callable[[int, str], None] | None
    ) -> list[Completion]:
        """`generate`, handing each sample's new text to `sink(index, text)` where the backend
        streams; by default it does not, and the text arrives with the completion."""
        return self.generate(request)

    def no_confidence_reason(self) -> str:
        """Why a completion of this backend came back without token confidence, in words."""
        return f"the {self.name} provider returns no token logprobs"

    def count_tokens(self, text: str) -> int:
        """Token count of `text`; the byte length is a safe upper bound where no tokenizer is at hand."""
        return len(text.encode())

    def cost(self, usage: Usage) -> float | None:
        return None if self.price is None else self.price.cost(usage)

    def worst_case_cost(self, request: GenerationRequest, prompt_tokens: int) -> float | None:
        """Upper bound on a request's cost, for spending caps checked before the call."""
        if self.price is None:
            return None
        n = request.n
        return self.price.cost(Usage(prompt_tokens * n, request.max_tokens * n))
