"""OpenAI's chat completions, and any server that speaks them (vLLM, SGLang, Ollama, llama.cpp...).

- `n`: sent natively; a model that refuses it (400) or a server that ignores it (fewer choices
  back) gets one request per missing sample, concurrently, and never `n` again.
- `assistant_prefix`: chat completions have no assistant prefill. The answer so far goes into the
  conversation as an assistant turn, followed by a user turn asking the model to continue from
  where it stops (see `continuation`). The model writes the next step in a new turn; it has read
  the earlier steps but is not literally continuing the same text.
- `stop`: at most 4 go to the API (its limit); all of them are also applied to the reply here,
  which covers the rest and models that refuse `stop` (o3, o4-mini).
- Native `n` bills the prompt once for all choices and reports one usage for the whole request:
  it is shared out across the choices (prompt evenly, output by text length) so the ledger's
  totals equal the bill.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import openai

from core.confidence import ConfidenceStop, TokenConfidence, token_confidence
from core.providers.api import ApiProvider, Cut
from core.providers.api_text import continuation, cut_at_stops
from core.providers.base import (
    Completion,
    Finished,
    GenerationRequest,
    Price,
    ProviderError,
    Thinking,
    Usage,
)
from core.providers.keys import ApiKey, find_key, require_key
from core.providers.prices import PriceQuote, lookup_price

MAX_STOPS = 4  # the API's limit
THINKING_BUDGET_FIELDS = ("thinking_budget_tokens", "thinking_token_budget")  # llama.cpp, vLLM
MAX_TOP_LOGPROBS = 20  # likewise
NO_KEY = "no-key"  # servers without auth still need some bearer token from the SDK


def is_reasoning_model(model: str) -> bool:
    """OpenAI's reasoning models (o-series, gpt-5 family): the ones that take reasoning_effort."""
    return re.match(r"(?:openai/)?(?:o\d|gpt-5)", model.strip().lower()) is not None


def split(total: int, weights: Sequence[int]) -> list[int]:
    """`total` shared in proportion to `weights`, in whole numbers that add up to `total`."""
    whole = sum(weights) or 1
    shares = [total * w // whole for w in weights]
    for i in range(total - sum(shares)):  # the rounding remainder, fewer than len(weights)
        shares[i] += 1
    return shares


class OpenAIProvider(ApiProvider):
    name = "openai"
    service = "OpenAI"
    sdk = openai
    native_n = True
    native_thinking = False  # per model: see thinks
    streams = True  # stream=True with usage in the final chunk; see _post_streaming
    droppable = (
        "n", "stop", "temperature", "top_p", "seed", "logprobs", "max_completion_tokens", "max_tokens",
        "stream",
    )  # fmt: skip
    # max_completion_tokens also bounds hidden reasoning, and every OpenAI model takes it;
    # many compatible servers know only max_tokens.
    token_fields = ("max_completion_tokens", "max_tokens")
    key_variable = "OPENAI_API_KEY"
    price_id = "openai"

    @classmethod
    def thinks(cls, model: str, reasoning: bool = False) -> bool:
        # Reasoning models take reasoning_effort; gpt-4o, gpt-4o-mini, gpt-4.1 refuse it (400).
        return is_reasoning_model(model)

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        price: Price | None = None,
        **options: Any,
    ) -> None:
        key = require_key(self.key_variable, api_key, self.service)
        base_url = base_url or self.default_url
        self._connect(model, key, self.quote(model, override=price), base_url, **options)
        self.native_thinking = self.thinks(model)

    def _connect(
        self, model: str, key: ApiKey, quote: PriceQuote, base_url: str | None, **options: Any
    ) -> None:
        super().__init__(model, key, quote, **options)
        self._client = openai.OpenAI(
            api_key=key.value or NO_KEY,
            base_url=base_url,
            max_retries=self.max_retries,
        )

    def _body(
        self, request: GenerationRequest, n: int, index: int, dropped: frozenset[str]
    ) -> dict:
        messages = list(request.messages)
        if request.assistant_prefix.strip():
            messages += continuation(request.assistant_prefix)
        first, second = self.token_fields
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            (second if first in dropped else first): request.max_tokens,
        }
        if n > 1:
            body["n"] = n
        if request.reasoning_effort and self.native_thinking:
            # Reasoning models take none of the sampling fields below: not even worth a 400.
            body["reasoning_effort"] = request.reasoning_effort
        else:
            for field in ("temperature", "top_p"):
                if field not in dropped:
                    body[field] = getattr(request, field)
            top = max(request.top_logprobs, request.confidence_k)
            if top and "logprobs" not in dropped:
                body["logprobs"] = True
                body["top_logprobs"] = min(top, MAX_TOP_LOGPROBS)
        if request.stop and "stop" not in dropped:
            body["stop"] = list(request.stop[:MAX_STOPS])
        if request.seed is not None and "seed" not in dropped:
            body["seed"] = request.seed + index  # each separate request its own sample
        return body

    def _post(self, body: dict, timeout: float) -> str:
        return self._client.chat.completions.with_raw_response.create(**body, timeout=timeout).text

    def _post_streaming(
        self, body: dict, timeout: float, piece: Callable[[int, str], None], cut: Cut = None
    ) -> str:
        """Server-sent chunks (choices told apart by `index`), usage in the final chunk as
        `stream_options.include_usage` asks (OpenAI API reference, chat streaming). A server
        that sends no usage is remembered: its later calls are plain, and this one's tokens are
        counted from the text (an upper bound, never an undercount). A server that ignores
        `stream` and answers in one piece is read as that piece, and not asked to stream again.

        `cut` (DeepConf online's early stop; such requests ask one choice per call): each
        token's C_i is read from its top logprobs as it arrives, and once the rule fires the
        stream is closed; the text so far is the reply, finish reason "low_confidence" (a chunk
        of several tokens is kept whole). Usage of a cut stream: its final usage chunk never
        comes, so its output is the tokens received (one logprobs entry each) and its prompt is
        counted from the text (an upper bound); tokens the server wrote after the last one
        received, before it saw the connection close, are not seen here."""
        raw = self._client.chat.completions.with_raw_response.create(
            **body, stream=True, stream_options={"include_usage": True}, timeout=timeout
        )
        if "text/event-stream" not in raw.headers.get("content-type", ""):
            self.dropped.add("stream")  # it answers a stream request with a plain reply
            return raw.http_response.read().decode()
        chunks = raw.parse()
        choices: dict[int, dict] = {}
        usage = None
        measured: dict[int, list[float] | None] = {}  # C_i so far per choice; None: unmeasurable
        for chunk in chunks:
            data = chunk.model_dump()
            usage = data.get("usage") or usage
            for part in data.get("choices") or []:
                i = part.get("index") or 0
                choice = choices.setdefault(
                    i, {"index": i, "message": {"content": ""}, "finish_reason": None}
                )
                delta = part.get("delta") or {}
                thought = False  # a server filling both reasoning fields shows it once
                for field in ("content", "reasoning_content", "reasoning", "refusal"):
                    if isinstance(text := delta.get(field), str) and text:
                        message = choice["message"]
                        message[field] = (message.get(field) or "") + text
                        if field == "content":
                            piece(i, text)
                        elif field != "refusal" and not thought:
                            piece(i, Thinking(text))
                            thought = True
                if logprobs := (part.get("logprobs") or {}).get("content"):
                    choice.setdefault("logprobs", {"content": []})["content"] += logprobs
                ended = choice["finish_reason"]
                choice["finish_reason"] = part.get("finish_reason") or choice["finish_reason"]
                if (
                    cut
                    and logprobs
                    and not choice["finish_reason"]
                    and _falls(cut, measured, i, logprobs)
                ):
                    choice["finish_reason"] = "low_confidence"
                if choice["finish_reason"] and not ended:
                    piece(i, Finished())
            if any(c["finish_reason"] == "low_confidence" for c in choices.values()):
                chunks.close()
                received = sum(len(c["logprobs"]["content"]) for c in choices.values())
                usage = {"completion_tokens": received}
                break
        if not choices or any(c["finish_reason"] is None for c in choices.values()):
            raise self.error(f"the stream from {self.service} ended before the reply was complete")
        if usage is None:
            self.dropped.add("stream")
        return json.dumps({"choices": [choices[i] for i in sorted(choices)], "usage": usage})

    def _completions(
        self, data: dict, request: GenerationRequest, seconds: float
    ) -> list[Completion]:
        choices = sorted(data["choices"], key=lambda choice: choice.get("index", 0))
        if not choices:
            raise self.error(f"{self.service} sent a reply with no answer in it")
        for choice in choices:
            if refusal := choice["message"].get("refusal"):
                raise self.error(f"{self.model} refused to answer: {str(refusal)[:300]}")
            if choice.get("finish_reason") == "content_filter":
                raise self.error(f"{self.service}'s content filter withheld the answer")
        texts = [choice["message"].get("content") or "" for choice in choices]
        thoughts = [_thinking(choice["message"]) for choice in choices]
        usages = self._usages(
            data.get("usage"), request, [t + h for t, h in zip(texts, thoughts, strict=True)]
        )
        completions = []
        for choice, text, thinking, usage in zip(choices, texts, thoughts, usages, strict=True):
            text, cut = cut_at_stops(text, request.stop)
            reason = choice.get("finish_reason")
            finish = reason if reason in ("length", "low_confidence") and not cut else "stop"
            logprobs = _logprobs(choice.get("logprobs"))
            confidence = _confidence(choice.get("logprobs")) if request.confidence_k else None
            share = seconds / len(choices)  # one call's time, shared like its bill
            completions.append(
                Completion(text, finish, usage, share, logprobs, thinking, confidence)
            )
        return completions

    def no_confidence_reason(self) -> str:
        if self.native_thinking:
            return f"{self.model} is a reasoning model, and reasoning models return no logprobs"
        if "logprobs" in self.dropped:
            return f"{self.service} refused the logprobs field"
        return f"{self.service} returned no top logprobs for this call"

    def _usages(
        self, reported: dict | None, request: GenerationRequest, outputs: list[str]
    ) -> list[Usage]:
        """One Usage per choice, adding up to the request's bill."""
        # Some servers report nothing: count bytes, which never undercounts. A cut stream
        # reports only the tokens received (see _post_streaming).
        if not reported or "prompt_tokens" not in reported:
            prompt = "".join(m.content for m in request.messages) + request.assistant_prefix
            reported = {
                "prompt_tokens": self.count_tokens(prompt),
                "completion_tokens": sum(self.count_tokens(text) for text in outputs),
                **(reported or {}),
            }
        prompt_details = reported.get("prompt_tokens_details") or {}
        output_details = reported.get("completion_tokens_details") or {}
        completion = reported["completion_tokens"]
        reasoning = output_details.get("reasoning_tokens") or 0
        # OpenAI counts reasoning inside completion_tokens; some servers (xAI) count it on top,
        # which the total shows. Reasoning never exceeds output in the ledger.
        total = reported.get("total_tokens")
        if reasoning and (
            reasoning > completion or total == reported["prompt_tokens"] + completion + reasoning
        ):
            completion += reasoning
        even = [1] * len(outputs)
        by_length = [len(text) + 1 for text in outputs]
        columns = zip(
            split(reported["prompt_tokens"], even),
            split(completion, by_length),
            split(prompt_details.get("cached_tokens") or 0, even),
            split(reasoning, by_length),
            strict=True,
        )
        return [Usage(*column) for column in columns]


class OpenAICompatibleProvider(OpenAIProvider):
    """Any server with OpenAI's chat completions: base URL, optional key, model name.

    A reasoning model's thinking budget goes in the fields the servers take: llama.cpp's
    `thinking_budget_tokens`, vLLM's `thinking_token_budget` (a server that refuses one has it
    dropped, as any refused field)."""

    name = "openai_compatible"
    token_fields = ("max_tokens", "max_completion_tokens")
    droppable = (*OpenAIProvider.droppable, *THINKING_BUDGET_FIELDS)
    key_variable = "DELIBERATE_COMPAT_API_KEY"
    key_optional = True
    asks_url = True
    asks_reasoning = True  # a served reasoning model (DeepSeek-R1, gpt-oss, QwQ) has any name

    @classmethod
    def quote(cls, model: str, base_url: str = "", override: Price | None = None) -> PriceQuote:
        # Hosted endpoints the price database knows (DeepSeek, Together...) are priced by their
        # URL; anything else only by the user's price.
        return lookup_price(model, api_url=base_url.strip() or None, override=override)

    @classmethod
    def thinks(cls, model: str, reasoning: bool = False) -> bool:
        return reasoning

    def _body(
        self, request: GenerationRequest, n: int, index: int, dropped: frozenset[str]
    ) -> dict:
        body = super()._body(request, n, index, dropped)
        if request.thinking_tokens and self.native_thinking:
            extra = {f: request.thinking_tokens for f in THINKING_BUDGET_FIELDS if f not in dropped}
            if extra:
                body["extra_body"] = extra
        return body

    def __init__(
        self,
        model: str,
        base_url: str,
        *,
        api_key: str | None = None,
        price: Price | None = None,
        reasoning: bool = False,
        **options: Any,
    ) -> None:
        parts = urlsplit(base_url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ProviderError(
                f"the server's base URL must start with http:// or https://, e.g. "
                f"http://localhost:8000/v1 (got {base_url!r})"
            )
        self.service = f"the server at {parts.netloc}"
        self.native_thinking = self.thinks(model, reasoning)
        quote = self.quote(model, base_url, price)
        self._connect(
            model, find_key(self.key_variable, api_key), quote, base_url.strip(), **options
        )


def _thinking(message: dict) -> str:
    # DeepSeek and vLLM's reasoning parsers return the visible reasoning beside the answer.
    for field in ("reasoning_content", "reasoning"):
        if isinstance(value := message.get(field), str) and value:
            return value
    return ""


def _falls(
    cut: ConfidenceStop, measured: dict[int, list[float] | None], choice: int, entries: list
) -> bool:
    """Add streamed tokens' C_i to choice `choice`'s; True once `cut` fires. A token without
    alternatives makes the choice unmeasurable: never cut (its reply has no confidence)."""
    values = measured.setdefault(choice, [])
    for entry in entries:
        top = [alt["logprob"] for alt in entry.get("top_logprobs") or []]
        if values is None or not top:
            measured[choice] = None
            return False
        values.append(token_confidence(top))
        if cut.fires(values):
            return True
    return False


def _confidence(logprobs: dict | None) -> TokenConfidence | None:
    """DeepConf C_i per generated token from the top logprobs as the server listed them (the
    sampled token counts only if it is among them); k is the fewest alternatives any token got.
    None if a token came without alternatives (the server ignored top_logprobs)."""
    content = (logprobs or {}).get("content")
    if not content:
        return None
    tops = [[alt["logprob"] for alt in entry.get("top_logprobs") or []] for entry in content]
    if not all(tops):
        return None
    return TokenConfidence(tuple(token_confidence(top) for top in tops), min(map(len, tops)))


def _logprobs(logprobs: dict | None) -> tuple[dict[str, float], ...] | None:
    """Per generated token, {token: logprob} of its top alternatives (itself included)."""
    content = (logprobs or {}).get("content")
    if not content:
        return None
    tokens = []
    for entry in content:
        alternatives = {alt["token"]: alt["logprob"] for alt in entry.get("top_logprobs") or []}
        alternatives.setdefault(entry["token"], entry["logprob"])
        tokens.append(alternatives)
    return tuple(tokens)
