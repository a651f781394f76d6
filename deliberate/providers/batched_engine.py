"""Batched decoding on one llama.cpp context, as llama.cpp's server does it, on CPU.

N samples of a prompt decode together: one llama_decode per step for all of them, each sequence
with its own seed, stop strings and token limit. The KV cache is kept between calls, one llama.cpp
sequence id per "slot", so a call whose prompt extends an earlier prompt or an earlier answer (a
tree expansion continues a step the model just wrote; model-as-PRM prompts share the problem)
prefills only the tokens that are new.

Same seed, same sampling rules as the sequential path (create_completion): the same sampler chain
(top-k 40, top-p, min-p 0.05, temperature, then a draw seeded with seed + i; greedy at
temperature 0), the same text-level stop rule and token counts. The texts still differ
sometimes, because llama.cpp's CPU kernels are not batch-invariant: a token's logits depend on
how many rows share its micro-batch (the matmul kernels change with the row count, at 4 rows for
repacked Q4_K weights and at 8 for the others) and on where its KV cells sit (flash attention
sums cells in cell order; a lone row over 512+ cells splits them across threads). Measured on the
0.5B: logits move by up to ~0.3-0.5 after a few tokens, for any change of batch shape, including
the sequential path's own prefix reuse. Greedy text is the same unless two tokens are within that
margin; a sampled text keeps its first tokens, then diverges once a draw falls near a boundary
between two tokens. Given the same calls from the same start, results are bit for bit the same.
"""

from __future__ import annotations

import ctypes
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import llama_cpp as lc
import numpy as np

from deliberate.providers.base import ProviderError
from deliberate.providers.kv_plan import EngineSize

# create_completion's defaults, so that the batched and the sequential paths sample alike.
TOP_K = 40
MIN_P = 0.05
PIECE_BYTES = 256  # longer than any token's text


@dataclass
class Sample:
    text: str
    finish_reason: str  # stop | length
    tokens: int  # generated tokens, as create_completion counts them (an end token is not)
    cached: int  # prompt tokens that were already in the KV cache


@dataclass
class _Slot:
    """What one sequence id holds in the KV cache: tokens[i] at position i."""

    tokens: list[int] = field(default_factory=list)
    cells: list[int] = field(default_factory=list)  # cell identities, shared after a copy
    tick: int = 0  # last use, for least-recently-used eviction
    scored: bool = False  # a scoring prompt, nothing generated: the first to give up


@dataclass
class _Run:
    """One sequence being sampled."""

    slot: int
    sampler: lc.llama_sampler_p
    tokens: list[int] = field(default_factory=list)
    text: bytearray = field(default_factory=bytearray)
    cut: int | None = None
    finish: str = "length"


class BatchedEngine:
    def __init__(
        self,
        model: lc.llama_model_p,
        size: EngineSize,
        threads: int,
        n_batch: int = 512,
        n_ubatch: int = 512,
        flash_attn: bool = True,
    ) -> None:
        params = lc.llama_context_default_params()
        params.n_ctx = size.cells
        params.n_batch = n_batch
        params.n_ubatch = n_ubatch
        params.n_seq_max = size.sequences
        params.n_threads = params.n_threads_batch = threads
        # One cache for all sequences: a copied prefix shares cells instead of duplicating them,
        # and any sequence may grow to seq_limit.
        params.kv_unified = True
        # The CPU flash-attention kernel skips other sequences' cells instead of multiplying
        # them by a mask, which matters when 16 sequences share one cache.
        params.flash_attn_type = (
            lc.LLAMA_FLASH_ATTN_TYPE_ENABLED if flash_attn else lc.LLAMA_FLASH_ATTN_TYPE_DISABLED
        )
        self.size = size
        self.ctx = lc.llama_init_from_model(model, params)
        if not self.ctx:
            raise ProviderError(
                f"llama.cpp could not make a context of {size.cells:,} tokens for "
                f"{size.sequences} sequences (out of memory?)"
            )
        self.memory = lc.llama_get_memory(self.ctx)
        self._vocab = lc.llama_model_get_vocab(model)
        self._n_vocab = lc.llama_vocab_n_tokens(self._vocab)
        self._n_batch = n_batch
        self._batch = lc.llama_batch_init(n_batch, 0, 1)
        self._slots = [_Slot() for _ in range(size.sequences)]
        self._cell_ids = itertools.count()
        self._ticks = itertools.count(1)
        self._pieces: dict[int, bytes] = {}

    def close(self) -> None:
        if self.ctx:
            lc.llama_batch_free(self._batch)
            lc.llama_free(self.ctx)
            self.ctx = None

    def __del__(self) -> None:
        self.close()

    def used_cells(self) -> int:
        """KV cells in use: a prefix shared by copies counts once."""
        return len(set(itertools.chain.from_iterable(s.cells for s in self._slots)))

    def slot_lengths(self) -> list[int]:
        """Tokens each sequence id holds, by this engine's bookkeeping."""
        return [len(s.tokens) for s in self._slots]

    def generate(
        self,
        prompt: Sequence[int],
        n: int,
        max_tokens: int,
        *,
        temperature: float,
        top_p: float,
        stop: Sequence[str] = (),
        seed: int | None = None,
    ) -> list[Sample]:
        """`n` samples of `prompt`, the i-th seeded with `seed + i`, in waves of what fits."""
        prompt = list(prompt)
        max_tokens = min(max_tokens, self.size.seq_limit - len(prompt))
        if max_tokens < 1:
            raise ProviderError(
                f"the prompt is {len(prompt):,} tokens: no room left in the local model's "
                f"context of {self.size.seq_limit:,} tokens"
            )
        stops = [s.encode() for s in stop if s]
        samples: list[Sample] = []
        while len(samples) < n:
            first = len(samples)
            targets, cached, row = self._start(prompt, n - first, max_tokens)
            runs = [
                _Run(slot, self._sampler(temperature, top_p, seed, first + i))
                for i, slot in enumerate(targets)
            ]
            try:
                self._decode_runs(runs, len(prompt), row, max_tokens, stops)
            finally:
                for run in runs:
                    lc.llama_sampler_free(run.sampler)
            for i, run in enumerate(runs):
                text = bytes(run.text[: run.cut]).decode(errors="ignore")
                reused = cached if i == 0 else len(prompt)  # the others copy the prefilled prompt
                samples.append(Sample(text, run.finish, len(run.tokens), reused))
        return samples

    def next_logits(self, prompt: Sequence[int]) -> tuple[np.ndarray, int]:
        """Logits of the token after `prompt` and how many prompt tokens came from the cache."""
        if len(prompt) > self.size.seq_limit:
            raise ProviderError(
                f"the prompt is {len(prompt):,} tokens, beyond the local model's context of "
                f"{self.size.seq_limit:,} tokens"
            )
        targets, cached, row = self._start(list(prompt), 1, 0)
        self._slots[targets[0]].scored = True
        logits = lc.llama_get_logits_ith(self.ctx, row)
        return np.ctypeslib.as_array(logits, shape=(self._n_vocab,)).copy(), cached

    # -- KV bookkeeping -------------------------------------------------------------------------

    def _start(self, prompt: list[int], n: int, max_tokens: int) -> tuple[list[int], int, int]:
        """Prefill `prompt` once into up to `n` sequence ids that have room for `max_tokens` more.

        Returns those ids, the prompt tokens reused from the cache and the batch row of the
        prompt's last logits.
        """
        source, common = self._best_source(prompt)
        src = self._slots[source] if source is not None else None
        wave = min(n, self.size.parallel)
        # Extend the source itself when that loses nothing (it holds no more than this prompt)
        # or when every id is needed.
        in_place = src is not None and (
            src.tokens == prompt[: len(src.tokens)] or wave >= self.size.sequences
        )
        targets = [source] if in_place else []
        targets += self._claim(wave - len(targets), keep=source)
        suffix = len(prompt) - common
        for s in self._by_eviction(keep=source):  # old prefixes beyond `keep` cost every step
            if self.used_cells() + suffix + wave * max_tokens <= self.size.keep:
                break
            if s not in targets and self._slots[s].tokens:
                self._drop(s)
        while self.used_cells() + suffix + wave * max_tokens > self.size.cells:
            spare = [s for s in self._by_eviction(keep=source) if s not in targets]
            spare = [s for s in spare if self._slots[s].tokens]
            if spare:
                self._drop(spare[0])
            elif wave > 1:
                wave -= 1
                targets.pop()
            elif source is not None:  # nothing else to free: start over without the prefix
                self._drop(source)
                source, common, suffix = None, 0, len(prompt)
            else:
                raise ProviderError(
                    f"{len(prompt):,} prompt tokens and {max_tokens:,} more do not fit in the "
                    f"local model's KV cache of {self.size.cells:,} tokens"
                )
        head = targets[0]
        if source is None:
            self._drop(head)
        elif source == head:
            self._truncate(head, common)
        else:
            self._drop(head)
            lc.llama_memory_seq_cp(self.memory, source, head, 0, common)
            self._slots[source].tick = next(self._ticks)
            self._slots[head].tokens = prompt[:common]
            self._slots[head].cells = self._slots[source].cells[:common]
        row = self._prefill(head, prompt, common)
        for target in targets[1:]:
            lc.llama_memory_seq_cp(self.memory, head, target, -1, -1)
            self._slots[target].tokens = list(prompt)
            self._slots[target].cells = list(self._slots[head].cells)
        tick = next(self._ticks)
        for target in targets:
            self._slots[target].tick = tick
            self._slots[target].scored = False
        return targets, common, row

    def _best_source(self, prompt: list[int]) -> tuple[int | None, int]:
        """The sequence id sharing the longest prefix with `prompt`, and that length."""
        best, best_len = None, 0
        wanted = np.asarray(prompt)
        for s, slot in enumerate(self._slots):
            size = min(len(slot.tokens), len(prompt))
            differ = np.flatnonzero(np.asarray(slot.tokens[:size]) != wanted[:size])
            common = int(differ[0]) if differ.size else size
            if common > best_len:
                best, best_len = s, common
        # At least the last prompt token is evaluated: its logits are what we sample from.
        best_len = min(best_len, len(prompt) - 1)
        return (best, best_len) if best_len > 0 else (None, 0)

    def _by_eviction(self, keep: int | None) -> list[int]:
        """Sequence ids, cheapest to give up first: empty, then redundant, then least recently used."""

        def rank(s: int) -> tuple[int, int]:
            slot = self._slots[s]
            if not slot.tokens:
                return (0, 0)
            # Redundant: another sequence holds the same tokens and more (or the same, and comes
            # first), so dropping this one frees nothing that a later prompt could reuse.
            size = len(slot.tokens)
            redundant = (
                slot.scored
                or any(
                    (len(o.tokens) > size or (len(o.tokens) == size and i < s))
                    and o.tokens[size - 1] == slot.tokens[-1]  # cheap test first
                    and o.tokens[:size] == slot.tokens
                    for i, o in enumerate(self._slots)
                    if i != s
                )
            )
            return (1 if redundant else 2, slot.tick)

        return sorted((s for s in range(self.size.sequences) if s != keep), key=rank)

    def _claim(self, count: int, keep: int | None) -> list[int]:
        chosen = self._by_eviction(keep)[:count]
        for s in chosen:
            self._drop(s)
        return chosen

    def _drop(self, s: int) -> None:
        lc.llama_memory_seq_rm(self.memory, s, -1, -1)
        self._slots[s] = _Slot()

    def _truncate(self, s: int, length: int) -> None:
        lc.llama_memory_seq_rm(self.memory, s, length, -1)
        del self._slots[s].tokens[length:], self._slots[s].cells[length:]

    # -- decoding -------------------------------------------------------------------------------

    def _prefill(self, s: int, prompt: list[int], start: int) -> int:
        """Evaluate prompt[start:] into sequence `s`; returns the batch row of the last logits."""
        slot = self._slots[s]
        row = 0
        for begin in range(start, len(prompt), self._n_batch):
            chunk = prompt[begin : begin + self._n_batch]
            self._fill([(t, begin + i, s) for i, t in enumerate(chunk)], logits_last_only=True)
            if begin + len(chunk) < len(prompt):
                self._batch.logits[len(chunk) - 1] = 0
            self._decode(protect={s})
            slot.tokens += chunk
            slot.cells += [next(self._cell_ids) for _ in chunk]
            row = len(chunk) - 1
        return row

    def _decode_runs(
        self, runs: list[_Run], position: int, row: int, max_tokens: int, stops: list[bytes]
    ) -> None:
        rows = [row] * len(runs)  # every run samples its first token from the prompt's logits
        active = runs
        while active:
            going = []
            for run, r in zip(active, rows, strict=True):
                token = lc.llama_sampler_sample(run.sampler, self.ctx, r)
                if not self._accept(run, token, max_tokens, stops):
                    going.append(run)
            if not going:
                break
            self._fill([(run.tokens[-1], position, run.slot) for run in going])
            self._decode(protect={run.slot for run in going})
            for run in going:
                self._slots[run.slot].tokens.append(run.tokens[-1])
                self._slots[run.slot].cells.append(next(self._cell_ids))
            active, rows, position = going, range(len(going)), position + 1

    def _accept(self, run: _Run, token: int, max_tokens: int, stops: list[bytes]) -> bool:
        """Add a sampled token; True when the run is finished (create_completion's rules)."""
        if lc.llama_vocab_is_eog(self._vocab, token):
            run.finish = "stop"
            return True
        run.tokens.append(token)
        seen = len(run.text)
        run.text += self._piece(token)
        for stop in stops:  # in the caller's order, as create_completion picks the first listed
            at = run.text.find(stop, max(0, seen - len(stop) + 1))
            if at >= 0:
                run.cut, run.finish = at, "stop"
                return True
        return len(run.tokens) >= max_tokens

    def _fill(self, rows: list[tuple[int, int, int]], logits_last_only: bool = False) -> None:
        batch = self._batch
        batch.n_tokens = len(rows)
        for i, (token, pos, seq) in enumerate(rows):
            batch.token[i] = token
            batch.pos[i] = pos
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = seq
            batch.logits[i] = not logits_last_only
        batch.logits[len(rows) - 1] = 1

    def _decode(self, protect: set[int]) -> None:
        code = lc.llama_decode(self.ctx, self._batch)
        while code == 1:  # no room in the cache (fragmentation): give up cached prefixes, retry
            spare = [
                s
                for s in self._by_eviction(keep=None)
                if self._slots[s].tokens and s not in protect
            ]
            if not spare:
                break
            self._drop(spare[0])
            code = lc.llama_decode(self.ctx, self._batch)
        if code != 0:
            raise ProviderError(f"llama.cpp could not decode a batch (error {code})")

    def _sampler(
        self, temperature: float, top_p: float, seed: int | None, index: int
    ) -> lc.llama_sampler_p:
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
                    lc.LLAMA_DEFAULT_SEED if seed is None else (seed + index) & 0xFFFFFFFF
                ),
            ]
        for link in links:
            lc.llama_sampler_chain_add(chain, link)
        return chain

    def _piece(self, token: int) -> bytes:
        piece = self._pieces.get(token)
        if piece is None:
            buf = ctypes.create_string_buffer(PIECE_BYTES)
            size = lc.llama_token_to_piece(self._vocab, token, buf, PIECE_BYTES, 0, False)
            piece = self._pieces[token] = buf.raw[: max(size, 0)]
        return piece
