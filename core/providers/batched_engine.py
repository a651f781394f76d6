"""Batched decoding on one llama.cpp context, as llama.cpp's server does it, on CPU.

N samples of a prompt decode together: one llama_decode per step for all of them, each sequence
with its own seed, stop strings and token limit. The KV cache is kept between calls, one llama.cpp
sequence id per "slot", so a call whose prompt extends an earlier prompt or an earlier answer (a
tree expansion continues a step the model just wrote; model-as-PRM prompts share the problem)
prefills only the tokens that are new.

Several prompts decode together too (`generate_many`): the expansions of all the beams of a tree
search level, each prompt prefilled into its own sequence ids, then one decode step for all.

Same seed, same sampling rules as the sequential path (create_completion, see batched_sampling).
The texts still differ sometimes, because llama.cpp's CPU kernels are not batch-invariant: a token's logits depend on
how many rows share its micro-batch (the matmul kernels change with the row count, at 4 rows for
repacked Q4_K weights and at 8 for the others) and on where its KV cells sit (flash attention
sums cells in cell order; a lone row over 512+ cells splits them across threads). Measured on the
0.5B: logits move by up to ~0.3-0.5 after a few tokens, for any change of batch shape, including
the sequential path's own prefix reuse. Greedy text is the same unless two tokens are within that
margin; a sampled text keeps its first tokens, then diverges once a draw falls near a boundary
between two tokens. Given the same calls from the same start, results are bit for bit the same.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import llama_cpp as lc
import numpy as np

from core.confidence import logits_confidence
from core.providers.base import Finished, ProviderError, TextSink
from core.providers.batched_sampling import Job, Pieces, Run, Sample, make_sampler
from core.providers.kv_plan import EngineSize


@dataclass
class _Slot:
    """What one sequence id holds in the KV cache: tokens[i] at position i."""

    tokens: list[int] = field(default_factory=list)
    cells: list[int] = field(default_factory=list)  # cell identities, shared after a copy
    tick: int = 0  # last use, for least-recently-used eviction
    scored: bool = False  # a scoring prompt, nothing generated: the first to give up


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
        self._on_text: TextSink | None = None
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
        self._pieces = Pieces(self._vocab)
        self._busy: set[int] = set()  # sequence ids decoding in this wave: never given up

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
        """`n` samples of `prompt`, the i-th seeded with `seed + i`."""
        job = Job(list(prompt), n, max_tokens, temperature, top_p, stop, seed)
        return self.generate_many([job])[0]

    def generate_many(
        self, jobs: Sequence[Job], on_text: TextSink | None = None
    ) -> list[list[Sample]]:
        """Every job's samples, decoded together in waves of at most `parallel` sequences;
        `on_text(job, index, text)` gets each sample's new text after every decode step."""
        self._on_text = on_text
        for job in jobs:
            if min(job.max_tokens, self.size.seq_limit - len(job.prompt)) < 1:
                raise ProviderError(
                    f"the prompt is {len(job.prompt):,} tokens: no room left in the local "
                    f"model's context of {self.size.seq_limit:,} tokens"
                )
        samples: list[list[Sample]] = [[] for _ in jobs]
        pending = [(j, i) for j, job in enumerate(jobs) for i in range(job.n)]
        while pending:
            runs: list[Run] = []
            try:
                self._start_wave(jobs, pending, runs)
                self._decode_runs(runs)
            finally:
                self._busy.clear()
                for run in runs:
                    lc.llama_sampler_free(run.sampler)
            for run in runs:
                samples[run.job].append(run.sample())
            started = {(run.job, run.index) for run in runs}
            pending = [p for p in pending if p not in started]
        return samples

    def _start_wave(
        self, jobs: Sequence[Job], pending: list[tuple[int, int]], runs: list[Run]
    ) -> None:
        """Prefill the next pending samples' prompts (as many as fit); draw each first token."""
        for j, job in enumerate(jobs):
            wanted = [i for jj, i in pending if jj == j][: self.size.parallel - len(runs)]
            if not wanted:
                continue
            max_tokens = min(job.max_tokens, self.size.seq_limit - len(job.prompt))
            reserved = sum(r.max_tokens - len(r.tokens) for r in runs if not r.done)
            targets, cached, row = self._start(job.prompt, len(wanted), max_tokens, reserved)
            if not targets:
                break  # the cache is full with this wave: the rest waits for the next one
            stops = [s.encode() for s in job.stop if s]
            for k, (index, slot) in enumerate(zip(wanted, targets, strict=False)):
                seed = None if job.seed is None else job.seed + index
                sampler = make_sampler(job.temperature, job.top_p, seed)
                # The others copy the prefilled prompt, so only the first read any of it from cache.
                reused = cached if k == 0 else len(job.prompt)
                run = Run(j, index, slot, len(job.prompt), max_tokens, stops, sampler, reused)
                run.confidence_k, run.stop_below = job.confidence_k, job.stop_below
                runs.append(run)
                self._busy.add(slot)
                # Now, before the next prompt's prefill overwrites these logits.
                self._accept(run, row)
                self._stream(run)
            if len(runs) >= self.size.parallel:
                break

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

    def _start(
        self, prompt: list[int], n: int, max_tokens: int, reserved: int = 0
    ) -> tuple[list[int], int, int]:
        """Prefill `prompt` once into up to `n` sequence ids that have room for `max_tokens` more.

        `reserved` cells are promised to the sequences already decoding in this wave. Returns
        the ids (none when this wave has taken the room), the prompt tokens reused from the
        cache and the batch row of the prompt's last logits.
        """
        source, common = self._best_source(prompt)
        src = self._slots[source] if source is not None else None
        free = self.size.sequences - len(self._busy)
        wave = min(n, self.size.parallel, free)
        # Extend the source itself when that loses nothing (it holds no more than this prompt)
        # or when every id is needed; never a sequence this wave is decoding (only copy from it).
        in_place = (
            src is not None
            and source not in self._busy
            and (src.tokens == prompt[: len(src.tokens)] or wave >= free)
        )
        targets = [source] if in_place else []
        targets += self._claim(wave - len(targets), keep=source)
        suffix = len(prompt) - common
        for s in self._by_eviction(keep=source):  # old prefixes beyond `keep` cost every step
            if self.used_cells() + suffix + wave * max_tokens + reserved <= self.size.keep:
                break
            if s not in targets and self._slots[s].tokens:
                self._drop(s)
        while self.used_cells() + suffix + wave * max_tokens + reserved > self.size.cells:
            spare = [s for s in self._by_eviction(keep=source) if s not in targets]
            spare = [s for s in spare if self._slots[s].tokens]
            if spare:
                self._drop(spare[0])
            elif wave > 1:
                wave -= 1
                targets.pop()
            elif source is not None and source not in self._busy:
                self._drop(source)  # nothing else to free: start over without the prefix
                source, common, suffix = None, 0, len(prompt)
            elif self._busy:
                return [], 0, 0
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

        ids = (s for s in range(self.size.sequences) if s != keep and s not in self._busy)
        return sorted(ids, key=rank)

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

    def _decode_runs(self, runs: list[Run]) -> None:
        """Decode every unfinished run one token per step, all in one batch, until all are done."""
        active = [run for run in runs if not run.done]
        while active:
            self._fill([(r.tokens[-1], r.start + len(r.tokens) - 1, r.slot) for r in active])
            self._decode(protect={run.slot for run in active})
            for row, run in enumerate(active):
                self._slots[run.slot].tokens.append(run.tokens[-1])
                self._slots[run.slot].cells.append(next(self._cell_ids))
                self._accept(run, row)
                self._stream(run)
            active = [run for run in active if not run.done]

    def _accept(self, run: Run, row: int) -> None:
        """Sample `run`'s next token from the logits of batch row `row`. Asked for confidence,
        first read C_i from the same logits (before the sampler sees them); an end token is not
        text, so it gets none. A run with `stop_below` ends, alone, once its running group
        confidence falls below the threshold (finish "low_confidence"); the others go on."""
        confidence = None
        if run.confidence_k:
            logits = lc.llama_get_logits_ith(self.ctx, row)
            row_logits = np.ctypeslib.as_array(logits, shape=(self._n_vocab,))
            confidence = logits_confidence(row_logits, run.confidence_k)
        token = lc.llama_sampler_sample(run.sampler, self.ctx, row)
        if confidence is not None and not lc.llama_vocab_is_eog(self._vocab, token):
            run.confidence.append(confidence)
        self._pieces.accept(run, token)
        if not run.done and run.stop_below is not None and run.stop_below.fires(run.confidence):
            run.finish, run.done = "low_confidence", True

    def _stream(self, run: Run) -> None:
        if self._on_text is None:
            return
        if piece := run.fresh_text():
            self._on_text(run.job, run.index, piece)
        if run.done:  # called once at its end: a finished run leaves the decoding batch
            self._on_text(run.job, run.index, Finished())

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
