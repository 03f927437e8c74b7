"""The all-unsafe fallback of method.md §2.2 step 4: penalise tokens that are frequent in unsafe blocks.

f(v) is the share of unsafe children whose new block contains token v (each token counted once per block);
penalties accumulate over retries, and special tokens are exempt so the model can still end its answer.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch


def unsafe_token_share(
    blocks: torch.Tensor, lengths: torch.Tensor, unsafe: torch.Tensor, vocab_size: int, exempt: Iterable[int]
) -> torch.Tensor:
    """f [V] from the block tokens [B, L], valid lengths [B] and the unsafe mask [B]."""
    share = torch.zeros(vocab_size, dtype=torch.float32)
    rows = torch.nonzero(unsafe, as_tuple=False).flatten().tolist()
    if not rows:
        return share
    for row in rows:
        tokens = blocks[row, : int(lengths[row])].unique().cpu()
        share[tokens] += 1.0
    share /= len(rows)
    exempt_ids = torch.tensor(sorted(set(exempt)), dtype=torch.long)
    if exempt_ids.numel():
        share[exempt_ids[exempt_ids < vocab_size]] = 0.0
    return share
