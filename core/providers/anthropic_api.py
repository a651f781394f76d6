"""Anthropic's Messages API, with assistant prefill and extended thinking.

- `assistant_prefix`: sent as a final assistant turn (prefill), so the model continues the very
  text. The API refuses trailing whitespace there, and the prefix ends with the blank line that
  closes a step, so the whitespace is stripped and the reply's leading whitespace dropped. A model
  that refuses prefill (400) gets the continuation turn OpenAI gets, from then on.
- `stop`: the API refuses whitespace-only stop sequences such as the step separator "\\n\\n", so
  those are applied to the reply here; the tokens past the cut are billed (at most max_tokens).
- `n`: no native n; n concurrent requests.
- Sampling: this SDK's Messages API has no temperature, top_p or seed; samples differ by the
  model's own sampling.
- No logprobs: the model-as-PRM judge reads a rating from the text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import anthropic

from core.providers.api import ApiProvider, Cut
from core.providers.api_errors import error_body, error_details
from core.providers.api_text import continuation, cut_at_stops
from core.providers.base import (
    Completion,
    Finished,
    GenerationRequest,
    Message,
    Price,
    Thinking,
    Usage,
)
from core.providers.keys import require_key

MIN_THINKING_TOKENS = 1024  # the API's least budget_tokens
# Thinking budgets in tokens as effort levels, for models that take only an effort.
EFFORTS = ((2_048, "low"), (8_192, "medium"), (24_576, "high"))
THINKING_REFUSED = re.compile(r"thinking|budget_tokens|adaptive|effort", re.IGNORECASE)


def takes_adaptive_thinking(model: str) -> bool:
    """Claude 4.6 and later take adaptive thinking with an effort level (Opus 4.7 refuses the
    manual budget); older models take only the manual budget (providers-2026 reference)."""
    match = re.search(r"claude-(?:opus|sonnet|haiku)-(\d+)-(\d{1,2})(?!\d)", model)
    if not match:
        return False
    major, minor = int(match.group(1)), int(match.group(2))
    return (major, minor) >= (4, 6)


def effort_for(thinking_tokens: int) -> str:
    """The effort level nearest to a thinking budget in tokens."""
    return next((level for limit, level in EFFORTS if thinking_tokens <= limit), "max")


FINISH = {"max_tokens": "length", "model_context_window_exceeded": "length"}


class AnthropicProvider(ApiProvider):
    name = "anthropic"
    service = "Anthropic"
    sdk = anthropic
    native_thinking = True
    streams = True  # server-sent message events; see _post_streaming
    droppable = ("prefill", "stream", "thinking_form")
    key_variable = "ANTHROPIC_API_KEY"
    price_id = "anthropic"

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
        super().__init__(model, key, self.quote(model, override=price), **options)
        # The key is passed explicitly, so the SDK reads no credentials from the environment or disk.
        self._client = anthropic.Anthropic(
            api_key=key.value,
            base_url=base_url or self.default_url,
            max_retries=self.max_retries,
        )

    def _body(
        self, request: GenerationRequest, n: int, index: int, dropped: frozenset[str]
    ) -> dict:
        system = "\n\n".join(m.content for m in request.messages if m.role == "system")
        turns = [m for m in request.messages if m.role != "system"]
        if prefill := request.assistant_prefix.rstrip():
            if "prefill" in dropped:
                turns += continuation(prefill)
            else:
                turns.append(Message("assistant", prefill))
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": request.max_tokens,
            "messages": [{"role": m.role, "content": m.content} for m in turns],
        }
        if system:
            body["system"] = system
        if stops := [stop for stop in request.stop if stop.strip()]:
            body["stop_sequences"] = stops
        if request.thinking_tokens:
            # The form the model takes; a 400 naming thinking flips it, once, for good.
            adaptive = takes_adaptive_thinking(self.model) != ("thinking_form" in dropped)
            if adaptive:
                # Summarized: newer models hide the thinking text unless asked for it.
                body["thinking"] = {"type": "adaptive", "display": "summarized"}
                body["output_config"] = {"effort": effort_for(request.thinking_tokens)}
            else:
                budget = self._thinking_budget(request)
                body["thinking"] = {"type": "enabled", "budget_tokens": budget}
        return body

    def _refused_field(self, exc: Exception, dropped: frozenset[str]) -> str | None:
        """Besides the shared cases: a 400 about the thinking form means the other form."""
        status = getattr(exc, "status_code", None)
        if status == 400 and "thinking_form" not in dropped:
            message, _, _ = error_details(error_body(exc))
            if THINKING_REFUSED.search(message):
                return "thinking_form"
        return super()._refused_field(exc, dropped)

    def _thinking_budget(self, request: GenerationRequest) -> int:
        """The thinking budget, below max_tokens as the API requires (thinking counts within it)."""
        budget = min(request.thinking_tokens, request.max_tokens - 1)
        if budget < MIN_THINKING_TOKENS:
            raise self.error(
                f"extended thinking needs at least {MIN_THINKING_TOKENS:,} thinking tokens, and "
                f"this call may write only {request.max_tokens:,} tokens in all: raise the run's "
                f"token cap"
            )
        return budget

    def _post(self, body: dict, timeout: float) -> str:
        return self._client.messages.with_raw_response.create(**body, timeout=timeout).text()

    def _post_streaming(
        self, body: dict, timeout: float, piece: Callable[[int, str], None], cut: Cut = None
    ) -> str:
        """The Messages API's event stream (message_start with input usage, content block
        deltas of text and thinking, message_delta with the stop reason and output usage),
        assembled into the message `_post` returns (Anthropic API reference, streaming). The
        API gives no logprobs, so `cut` (DeepConf's early stop) cannot apply: the replies come
        back without confidence, which is how a strategy learns it."""
        raw = self._client.messages.with_raw_response.create(**body, stream=True, timeout=timeout)
        if "text/event-stream" not in raw.headers.get("content-type", ""):
            self.dropped.add("stream")  # it answers a stream request with a plain reply
            return raw.http_response.read().decode()
        message: dict[str, Any] = {"content": [], "usage": {}, "stop_reason": None}
        complete = False
        for event in raw.parse():
            data = event.model_dump()
            kind = data.get("type")
            if kind == "message_start":
                message["usage"].update(data["message"].get("usage") or {})
            elif kind == "content_block_start":
                message["content"].append(dict(data["content_block"]))
            elif kind == "content_block_delta":
                block, delta = message["content"][data["index"]], data["delta"]
                for field in ("text", "thinking"):
                    if isinstance(text := delta.get(field), str):
                        block[field] = (block.get(field) or "") + text
                        piece(0, text if field == "text" else Thinking(text))
            elif kind == "message_delta":
                message["stop_reason"] = data["delta"].get("stop_reason")
                usage = {k: v for k, v in (data.get("usage") or {}).items() if v is not None}
                message["usage"].update(usage)
            elif kind == "message_stop":
                complete = True
                piece(0, Finished())
        if not complete:
            raise self.error(f"the stream from {self.service} ended before the reply was complete")
        return json.dumps(message)

    def no_confidence_reason(self) -> str:
        return "Anthropic's Messages API returns no token logprobs"

    def _completions(
        self, data: dict, request: GenerationRequest, seconds: float
    ) -> list[Completion]:
        reason = data.get("stop_reason")
        if reason == "refusal":
            details = data.get("stop_details") or {}
            why = details.get("explanation") or details.get("category") or "no reason given"
            raise self.error(f"{self.model} declined to answer ({why})")
        blocks = data["content"]
        text = "".join(block["text"] for block in blocks if block["type"] == "text")
        thinking = "\n\n".join(
            block["thinking"] if block["type"] == "thinking" else "[redacted thinking]"
            for block in blocks
            if block["type"] in ("thinking", "redacted_thinking")
        )
        # After a stripped prefill the reply opens with the whitespace we removed.
        text, cut = cut_at_stops(text.lstrip(), request.stop)
        finish = "stop" if cut else FINISH.get(reason or "", "stop")
        usage = data["usage"]
        cache_read = usage.get("cache_read_input_tokens") or 0
        cache_write = usage.get("cache_creation_input_tokens") or 0
        details = usage.get("output_tokens_details") or {}
        counted = Usage(
            # The API counts cached and cache-writing input apart from input_tokens.
            input_tokens=usage["input_tokens"] + cache_read + cache_write,
            output_tokens=usage["output_tokens"],
            cached_tokens=cache_read,
            reasoning_tokens=details.get("thinking_tokens") or 0,
        )
        return [Completion(text, finish, counted, seconds, None, thinking)]
