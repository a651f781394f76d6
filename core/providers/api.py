"""What the API providers share: calls at once, fields a server refuses, faults in plain words.

Retries are the SDKs' own (both retry 408/409/429/5xx, timeouts and connection resets with
exponential backoff, and honour `retry-after`); we set their count and timeout explicitly. What the
SDKs leave to us: sending a tree level's requests, a judge's paths and n samples (where the API
has no native `n`) concurrently, dropping a request field a model or server refuses (remembered
per provider), replies that are not JSON, and turning every failure into a ProviderError whose
message a user can act on and that holds no key.
"""

from __future__ import annotations

import json
import re
import threading
import time
from abc import abstractmethod
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from functools import partial
from typing import Any, ClassVar

from core.confidence import ConfidenceStop
from core.providers.api_errors import (
    CONTEXT_FULL,
    NO_PREFILL,
    REFUSED_FIELD,
    error_body,
    error_details,
)
from core.providers.api_text import CONTINUE_PROMPT, stop_filtered
from core.providers.base import (
    Completion,
    GenerationRequest,
    Price,
    Provider,
    ProviderError,
    TextSink,
    Usage,
)
from core.providers.keys import ApiKey, redact
from core.providers.prices import PriceQuote, lookup_price

# A request may take a minute before its first token (queues, long prompts), then generate at
# no less than 10 tokens/s (a CPU server): max_tokens=96 gets 70 s, 12,000 thinking tokens 21 min.
DEFAULT_TIMEOUT = 60.0
SLOWEST_TOKENS_PER_SECOND = 10.0
MAX_RETRIES = 3
DEFAULT_CONCURRENCY = 16  # best-of-16 in the time of one call
Cut = ConfidenceStop | None  # DeepConf online's early stop, for a stream that reads confidence
# Chat formatting adds role markers around each message; 16 tokens each is a generous bound, so
# the spending cap's worst case stays above the real bill.
MESSAGE_OVERHEAD_TOKENS = 16


def fan_out(
    call: Callable[[int], list[Completion]], count: int, limit: int
) -> list[list[Completion]]:
    """`call(i)` for every i in range(count), at most `limit` at once: each call's completions,
    in index order whatever order the calls finish in.

    If calls fail, those not yet started are cancelled and those under way finish; the error
    (the message of the failure with the lowest index, as a sequential run would have met it
    first) carries every completion that came back, failed calls' partial ones included: they
    were billed, so their usage must still reach the ledger.
    """
    if count == 1:
        return [call(0)]
    results: dict[int, list[Completion]] = {}
    failures: dict[int, ProviderError] = {}
    with ThreadPoolExecutor(max_workers=max(1, min(limit, count))) as pool:
        futures = {pool.submit(call, i): i for i in range(count)}
        for future in as_completed(futures):
            if future.cancelled():
                continue
            try:
                results[futures[future]] = future.result()
            except ProviderError as exc:
                failures[futures[future]] = exc
                for pending in futures:
                    pending.cancel()
    if failures:
        billed = [
            c
            for i in sorted(results.keys() | failures.keys())
            for c in (results[i] if i in results else failures[i].partial)
        ]
        raise ProviderError(str(failures[min(failures)]), billed) from None
    return [results[i] for i in range(count)]


class ApiProvider(Provider):
    """A hosted or self-hosted API model. Subclasses build the body, post it and read the reply."""

    sdk: ClassVar[Any]  # the SDK module, for its exception classes
    service: str = "the API"  # how messages name the other end
    native_n: ClassVar[bool] = False  # one request can return n samples
    droppable: ClassVar[tuple[str, ...]] = ()  # request fields we can do without if refused
    # What the page asks for and says, read from the class before any provider is built.
    key_variable: ClassVar[str]  # the environment variable or Streamlit secret with its key
    key_optional: ClassVar[bool] = False  # a self-hosted server may take no key
    asks_url: ClassVar[bool] = False  # the page asks for the server's base URL
    default_url: ClassVar[str | None] = None  # a hosted service's API address (None: the SDK's)
    asks_reasoning: ClassVar[bool] = False  # the page asks whether the model thinks natively
    price_id: ClassVar[str | None] = None  # the provider's name in genai-prices

    @classmethod
    def quote(cls, model: str, base_url: str = "", override: Price | None = None) -> PriceQuote:
        """What `model` costs here: the user's price, else genai-prices' entry for `price_id`."""
        return lookup_price(model, provider_id=cls.price_id, override=override)

    @classmethod
    def thinks(cls, model: str, reasoning: bool = False) -> bool:
        """Whether `model` thinks natively here (`reasoning`: what the user said, if asked)."""
        return cls.native_thinking

    def __init__(
        self,
        model: str,
        key: ApiKey,
        quote: PriceQuote,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = MAX_RETRIES,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        if not model.strip():
            raise ValueError("name the model to use")
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1 (got {concurrency})")
        self.model = model.strip()
        self.key = key
        self.price = quote.price
        self.price_source = quote.source
        self.timeout = timeout  # to the first token; each request adds time for its max_tokens
        self.max_retries = max_retries
        self.concurrency = concurrency
        self.dropped: set[str] = set()  # fields this model refused; not sent again

    @abstractmethod
    def _body(
        self, request: GenerationRequest, n: int, index: int, dropped: frozenset[str]
    ) -> dict:
        """The request's JSON body (SDK keyword arguments), without the fields in `dropped`."""

    @abstractmethod
    def _post(self, body: dict, timeout: float) -> str:
        """Send one request through the SDK (with its retries); the raw reply text."""

    def _streamed(
        self, body: dict, timeout: float, feed: Callable[[int, str], None], cut: Cut = None
    ) -> str:
        """`_post_streaming`, with what can go wrong mid-stream turned into a ProviderError: an
        error event (some SDKs raise it as a status error on a 200), a dropped connection (some
        SDKs pass the HTTP library's own errors through), a chunk that is not JSON."""
        try:
            return self._post_streaming(body, timeout, feed, cut)
        except self.sdk.APIStatusError as exc:
            if exc.status_code < 400:  # an error event inside a 200 stream
                raise self.error(f"{self.service} failed mid-answer: {exc.message}") from None
            raise
        except (self.sdk.APIError, ProviderError):
            raise
        except Exception as exc:  # the stream broke: a read error, a garbled chunk
            message = f"the stream from {self.service} broke off ({type(exc).__name__}: {exc})"
            raise self.error(message) from None

    def _post_streaming(
        self, body: dict, timeout: float, piece: Callable[[int, str], None], cut: Cut = None
    ) -> str:
        """Send one request as a stream, `piece(choice, text)` as text arrives; the whole reply
        assembled into the shape `_post` returns. Only backends with `streams` implement it;
        those that read token confidence from the stream end it early by the rule `cut`."""
        raise NotImplementedError

    @abstractmethod
    def _completions(
        self, data: dict, request: GenerationRequest, seconds: float
    ) -> list[Completion]:
        """The completions in a parsed reply."""

    def generate(self, request: GenerationRequest) -> list[Completion]:
        return self.generate_streamed(request, None)

    def generate_many(
        self, requests: Sequence[GenerationRequest], on_text: TextSink | None = None
    ) -> list[list[Completion]]:
        """Each request's completions, in request order; the requests (a tree level, a judge's
        paths) go out concurrently, at most `concurrency` calls in flight counting the samples
        sent one by one. `on_text` is called from those calls' threads (see Provider)."""
        slots = threading.BoundedSemaphore(self.concurrency)

        def one(r: int) -> list[Completion]:
            sink = None if on_text is None else partial(on_text, r)
            return self._generate(requests[r], sink, slots)

        return fan_out(one, len(requests), self.concurrency)

    def generate_streamed(
        self, request: GenerationRequest, sink: Callable[[int, str], None] | None
    ) -> list[Completion]:
        return self._generate(request, sink, threading.BoundedSemaphore(self.concurrency))

    def _generate(
        self,
        request: GenerationRequest,
        sink: Callable[[int, str], None] | None,
        slots: threading.BoundedSemaphore,
    ) -> list[Completion]:
        """One request's n completions, each call to the server holding one of `slots`."""
        got: list[Completion] = []
        # A stream of n choices cannot be closed for one alone: an early stop asks one by one.
        one_by_one = "n" in self.dropped or request.stop_below_confidence is not None
        if request.n > 1 and self.native_n and not one_by_one:
            got = self._call(request, request.n, 0, sink, slots)
            if len(got) < request.n:  # the server ignores n: one request per sample from now on
                self.dropped.add("n")
        if len(got) < request.n:
            first = len(got)
            try:
                got += [
                    c
                    for completions in fan_out(
                        lambda i: self._call(request, 1, first + i, sink, slots),
                        request.n - first,
                        self.concurrency,
                    )
                    for c in completions
                ]
            except ProviderError as exc:
                raise ProviderError(str(exc), [*got, *exc.partial]) from None
        return got[: request.n]

    def _call(
        self,
        request: GenerationRequest,
        n: int,
        index: int,
        sink: Callable[[int, str], None] | None,
        slots: threading.BoundedSemaphore,
    ) -> list[Completion]:
        """One request; a field the server refuses is dropped and the request sent again.

        Each send holds one of `slots`. With a `sink` and a backend that streams, choice c's new
        text goes to `sink(index + c)`."""
        timeout = self.timeout + request.max_tokens / SLOWEST_TOKENS_PER_SECOND
        while True:
            dropped = frozenset(self.dropped)
            start = time.perf_counter()
            body = self._body(request, n, index, dropped)
            try:
                with slots:
                    cut = request.stop_below_confidence  # read from a stream, sink or not
                    if (sink or cut) and self.streams and "stream" not in dropped:
                        feed = stop_filtered(lambda c, t: sink and sink(index + c, t), request.stop)
                        text = self._streamed(body, timeout, feed, cut)
                    else:
                        text = self._post(body, timeout)
            except self.sdk.APIError as exc:
                field = self._refused_field(exc, dropped)
                if field is None:
                    raise self._fault(exc, timeout) from None
                self.dropped.add(field)
                if field == "n":
                    return []
                continue
            seconds = time.perf_counter() - start
            try:
                data = json.loads(text)
            except ValueError:
                data = None
            if not isinstance(data, dict):
                raise self.error(
                    f"{self.service} sent a reply that is not valid JSON (cut short or garbled): "
                    f"{text[:80]!r}"
                )
            try:
                return self._completions(data, request, seconds)
            except (KeyError, TypeError, IndexError, AttributeError) as exc:
                raise self.error(
                    f"{self.service} sent a reply without the expected fields ({exc!r} is "
                    f"missing or malformed)"
                ) from None

    def error(self, message: str) -> ProviderError:
        """A ProviderError whose message holds no key, whatever the server put in it."""
        return ProviderError(redact(message, self.key.value))

    def _refused_field(self, exc: Exception, dropped: frozenset[str]) -> str | None:
        """The request field a 400 says this model does not take, if we can do without it."""
        if not isinstance(exc, self.sdk.APIStatusError) or exc.status_code not in (400, 422):
            return None
        message, code, param = error_details(error_body(exc))
        if "prefill" in self.droppable and NO_PREFILL.search(message):
            field = "prefill"
        elif code in ("unsupported_parameter", "unsupported_value") or REFUSED_FIELD.search(
            message
        ):
            quoted = (
                f for f in self.droppable if re.search(rf"['\"`]{f}(?:_options)?['\"`]", message)
            )
            field = param if param in self.droppable else next(quoted, None)
        else:
            return None
        return field if field is not None and field not in dropped else None

    def _fault(self, exc: Exception, timeout: float) -> ProviderError:
        """An SDK exception (after the SDK's retries) in words a user can act on."""
        attempts = self.max_retries + 1
        tries = f"{attempts} {'try' if attempts == 1 else 'tries'}"
        if isinstance(exc, self.sdk.APITimeoutError):
            return self.error(
                f"{self.service} did not answer within {timeout:g} s ({tries}); it may be "
                f"overloaded, or the timeout is too short for this model"
            )
        if isinstance(exc, self.sdk.APIConnectionError):
            return self.error(
                f"could not reach {self.service}: the connection was refused, reset or cut ({tries})"
            )
        if not isinstance(exc, self.sdk.APIStatusError):
            return self.error(f"{self.service} sent a reply that could not be read ({exc})")
        status = exc.status_code
        message, code, _ = error_details(error_body(exc))
        said = f" It said: {message}" if message else ""
        if status == 401:  # the server's words are left out: some echo part of the key
            source = self.key.source or "the key field"
            return self.error(
                f"{self.service} rejected the API key (401). Check the key from {source}."
            )
        if status == 403:
            return self.error(
                f"{self.service} does not let this key use {self.model!r} (403).{said}"
            )
        if status == 404:
            return self.error(
                f"{self.service} does not know the model {self.model!r} (404): check the model "
                f"name{' and the base URL' if self.asks_url else ''}.{said}"
            )
        if status == 429:
            wait = exc.response.headers.get("retry-after")
            asks = f"; it asks to wait {wait} s" if wait else ""
            return self.error(
                f"{self.service} is rate-limiting this key (429, {tries}){asks}. Wait, or lower "
                f"the number of parallel requests.{said}"
            )
        if status >= 500:
            return self.error(f"{self.service} failed with error {status} ({tries}).{said}")
        if code == "context_length_exceeded" or CONTEXT_FULL.search(message):
            return self.error(
                f"the problem and the steps so far do not fit in {self.model}'s context window "
                f"({status}).{said}"
            )
        return self.error(f"{self.service} refused the request ({status}).{said}")

    def worst_case_cost(self, request: GenerationRequest, prompt_tokens: int) -> float | None:
        """Every sample billed its own prompt (with our continuation turn) and max_tokens in full.

        max_tokens bounds hidden reasoning too: OpenAI's max_completion_tokens and Anthropic's
        max_tokens both include thinking.
        """
        if self.price is None:
            return None
        framing = MESSAGE_OVERHEAD_TOKENS * (len(request.messages) + 2)
        prompt = prompt_tokens + self.count_tokens(CONTINUE_PROMPT) + framing
        return self.price.cost(Usage(prompt * request.n, request.max_tokens * request.n))
