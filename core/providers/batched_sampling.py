"""Per-sequence sampling for the batched engine: what to sample, how, and when a sequence stops.

The rules are create_completion's, so that the batched and the sequential paths sample alike: the
same sampler chain (top-k 40, top-p, min-p 0.05, temperature, then a draw seeded with seed + i;
greedy at temperature 0), the same text-level stop rule and the same token counts.
"""

from __future__ import annotations

import codecs
import ctypes
from collections.abc import Sequence
from dataclasses import dataclass, field

import llama_cpp as lc

from core.confidence import ConfidenceStop

TOP_K = 40
MIN_P = 0.05
PIECE_BYTES = 256  # longer than any token's text


@dataclass(frozen=True)
class Job:
    """`n` samples of one prompt, the i-th seeded with `seed + i`."""

    prompt: list[int]
    n: int
    max_tokens: int
    temperature: float
    top_p: float
    stop: Sequence[str] = ()
    seed: int | None = None
    confidence_k: int = 0  # >0: each generated token's DeepConf confidence over its top k
    stop_below: ConfidenceStop | None = None  # DeepConf online: cut a sample once it is unsure


@dataclass
class Sample:
    text: str
    finish_reason: str  # stop | length | low_confidence
    tokens: int  # generated tokens, as create_completion counts them (an end token is not)
    cached: int  # prompt tokens that were already in the KV cache
    confidence: tuple[float, ...] | None = None  # C_i per generated token, when asked


@dataclass
class Run:
    """One sequence being sampled: sample `index` of job `job`, decoding into sequence id `slot`."""

    job: int
    index: int
    slot: int
    start: int  # its prompt's length: the position of its first generated token
    max_tokens: int
    stops: list[bytes]
    sampler: lc.llama_sampler_p
    cached: int = 0
    confidence_k: int = 0
    confidence: list[float] = field(default_factory=list)  # C_i of each token in `tokens`
    stop_below: ConfidenceStop | None = None
    tokens: list[int] = field(default_factory=list)
    text: bytearray = field(default_factory=bytearray)
    cut: int | None = None
    finish: str = "length"
    done: bool = False
    streamed: int = 0  # bytes of `text` already handed out by `fresh_text`
    decoder: codecs.IncrementalDecoder = field(
        default_factory=lambda: codecs.getincrementaldecoder("utf-8")("ignore")
    )

    def fresh_text(self) -> str:
        """Text written since the last call that no stop sequence can still cut (a stop's first
        bytes are held back until it cannot match), ending on whole UTF-8 characters."""
        if self.done:
            end = len(self.text) if self.cut is None else self.cut
        else:
            end = len(self.text) - max((len(s) - 1 for s in self.stops), default=0)
        if end <= self.streamed:
            return ""
        piece = self.decoder.decode(bytes(self.text[self.streamed : end]), final=self.done)
        self.streamed = end
        return piece

    def sample(self) -> Sample:
        text = bytes(self.text[: self.cut]).decode(errors="ignore")
        confidence = tuple(self.confidence) if self.confidence_k else None
        return Sample(text, self.finish, len(self.tokens), self.cached, confidence)


def make_sampler(temperature: float, top_p: float, seed: int | None) -> lc.llama_sampler_p:
    chain = lc.llama_sampler_chain_init(lc.llama_sampler_chain_default_params())
    if temperature <= 0:
        links = [lc.llama_sampler_init_greedy()]
    else:
        # top-k first: the later links then sort 40 candidates, not the 151k-token vocabulary.
        links = [
            lc.llama_sampler_init_top_k(TOP_K),
            lc.llama_sampler_init_top_p(top_p, 1),
            lc.llama_sampler_init_min_p(MIN_P, 1),
            lc.llama_sampler_init_temp(temperature),
            lc.llama_sampler_init_dist(
                lc.LLAMA_DEFAULT_SEED if seed is None else seed & 0xFFFFFFFF
            ),
        ]
    for link in links:
        lc.llama_sampler_chain_add(chain, link)
    return chain


class Pieces:
    """Token id to its bytes, cached."""

    def __init__(self, vocab: lc.llama_vocab_p) -> None:
        self._vocab = vocab
        self._pieces: dict[int, bytes] = {}

    def __call__(self, token: int) -> bytes:
        piece = self._pieces.get(token)
        if piece is None:
            buf = ctypes.create_string_buffer(PIECE_BYTES)
            size = lc.llama_token_to_piece(self._vocab, token, buf, PIECE_BYTES, 0, False)
            piece = self._pieces[token] = buf.raw[: max(size, 0)]
        return piece

    def accept(self, run: Run, token: int) -> bool:
        """Add a sampled token to `run`; True (and `run.done`) when the run is finished."""
        if lc.llama_vocab_is_eog(self._vocab, token):
            run.finish, run.done = "stop", True
            return True
        run.tokens.append(token)
        seen = len(run.text)
        run.text += self(token)
        for stop in run.stops:  # in the caller's order, as create_completion picks the first listed
            at = run.text.find(stop, max(0, seen - len(stop) + 1))
            if at >= 0:
                run.cut, run.finish, run.done = at, "stop", True
                return True
        run.done = len(run.tokens) >= run.max_tokens
        return run.done
