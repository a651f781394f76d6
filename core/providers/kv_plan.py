"""How big the batched engine's KV cache is: cells, sequence ids and parallel samples."""

from __future__ import annotations

from dataclasses import dataclass

import llama_cpp as lc

from core.providers.base import ProviderError

# Measured on the 0.5B, 16 x 200-token samples: 72 tokens/s from an empty cache, 52-55 over 3-9k
# kept cells, 60-66 with this bound (the most recently used prefixes are the ones kept).
KEEP_CELLS_PER_SEQUENCE = 256


@dataclass(frozen=True)
class EngineSize:
    cells: int  # KV cells shared by all sequences (one unified cache)
    sequences: int  # llama.cpp sequence ids: samples being decoded plus prefixes kept for reuse
    parallel: int  # sequences decoded together in one batch
    seq_limit: int  # positions one sequence may reach: prompt plus answer
    # Cells worth keeping between calls for prefix reuse. Attention scans every cell up to the
    # highest in use, whichever sequence owns it, so stale prefixes slow every decode step.
    keep: int = 0

    def __post_init__(self) -> None:
        if not self.keep:
            object.__setattr__(self, "keep", self.cells)


def kv_bytes_per_token(model: lc.llama_model_p) -> int:
    """K and V in f16 for every layer: what one cached token costs."""
    head_dim = lc.llama_model_n_embd(model) // lc.llama_model_n_head(model)
    return 2 * 2 * lc.llama_model_n_layer(model) * lc.llama_model_n_head_kv(model) * head_dim


def plan_size(
    model: lc.llama_model_p, kv_budget_bytes: int, parallel: int, seq_limit: int
) -> EngineSize:
    """As many cells as the memory budget buys, no more than `parallel` sequences at full length;
    parallel sequences get at least 256 cells each; four times as many ids keep prefixes."""
    seq_limit = min(seq_limit, lc.llama_model_n_ctx_train(model))
    affordable = kv_budget_bytes // kv_bytes_per_token(model)
    cells = min(affordable, parallel * seq_limit) // 256 * 256  # llama.cpp pads to 256
    if cells < 512:
        raise ProviderError(
            f"a KV budget of {kv_budget_bytes / 2**20:.0f} MB holds only {affordable} tokens of "
            "this model; raise DELIBERATE_KV_MB"
        )
    parallel = min(parallel, cells // 256)
    keep = min(cells, parallel * KEEP_CELLS_PER_SEQUENCE)
    return EngineSize(cells, 4 * parallel, parallel, min(seq_limit, cells), keep)
