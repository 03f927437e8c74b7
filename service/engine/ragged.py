"""One decoding step for the rows of many requests in one forward pass, each row reading its own request's cache.

A request's cache is a `SharedPrefixCache`: the prompt's keys and values held once ([1, heads, P, d]) and read by
every row, and each row's own generated tokens ([B, heads, G, d]). For a step, the rows of every request are
stacked into one batch for all that is the same for every row (embeddings, projections, MLPs, the norm, lm_head:
the weights are read once a step for all requests); attention alone runs per request, over its prefix and its rows.
So no request is padded to another's length and no cache is copied to line them up.

The model's own forward does the work: transformers lets a model's attention implementation be replaced by name,
and passes keyword arguments of the forward through to it. `ATTENTION` is registered as that implementation; given
a `stacked=` batch it attends per request, and otherwise it is exactly transformers' SDPA (the prefill, and every
pass when batching is off, which never registers it).
"""

from __future__ import annotations

from typing import Any

import torch

ATTENTION = "inferenceguard_ragged"
NO_MASK = torch.zeros((0, 0, 0, 0))  # a 4-D mask is taken as given: the model builds none for a stacked step


class SharedPrefixCache:
    """One request's KV cache: the prompt once, then each row's generated tokens."""

    def __init__(self, prefix: list[tuple[torch.Tensor, torch.Tensor]], rows: list[Any], batch: int) -> None:
        self.prefix = prefix  # per layer (keys, values) [1, heads, P, d]; shared, never written
        self.rows: list[tuple[torch.Tensor, torch.Tensor] | None] = rows  # per layer [B, heads, G, d], or None
        self.batch = batch

    @classmethod
    def of_prompt(cls, cache: Any) -> SharedPrefixCache:
        """The prompt's cache after a prefill (transformers' DynamicCache of one row)."""
        prefix = [(layer.keys, layer.values) for layer in cache.layers]
        return cls(prefix, [None] * len(prefix), 1)

    @property
    def length(self) -> int:
        """Tokens each row has seen: the prompt and its generated tokens (the next one's position)."""
        first = self.rows[0]
        return int(self.prefix[0][0].shape[2]) + (0 if first is None else int(first[0].shape[2]))

    def select(self, index: torch.Tensor) -> SharedPrefixCache:
        """The cache of rows `index` (repeats allowed): the prefix is shared, the generated part copied."""
        rows = [
            None if part is None else (part[0].index_select(0, index), part[1].index_select(0, index))
            for part in self.rows
        ]
        return SharedPrefixCache(self.prefix, rows, int(index.shape[0]))

    def append(self, layer: int, keys: torch.Tensor, values: torch.Tensor) -> None:
        part = self.rows[layer]
        self.rows[layer] = (
            (keys, values) if part is None else (torch.cat([part[0], keys], 2), torch.cat([part[1], values], 2))
        )


class StackedCache:
    """What the model's forward sees during a stacked step: routes each request's new keys to its own cache.

    Deliberately not a transformers `Cache`: mask building then treats it as an opaque object, and the attention
    below reads the per-request caches itself.
    """

    def __init__(self, caches: list[SharedPrefixCache]) -> None:
        self.caches = caches
        bounds, start = [], 0
        for cache in caches:
            bounds.append((start, start + cache.batch))
            start += cache.batch
        self.bounds = bounds

    def update(self, keys: torch.Tensor, values: torch.Tensor, layer_idx: int, **_: Any) -> tuple[Any, Any]:
        for cache, (start, end) in zip(self.caches, self.bounds, strict=True):
            cache.append(layer_idx, keys[start:end], values[start:end])
        return keys, values  # unused: the attention reads each request's cache

    def positions(self, device: torch.device) -> torch.Tensor:
        """[B, 1] position of the token each row is fed."""
        lengths = [cache.length for cache in self.caches for _ in range(cache.batch)]
        return torch.tensor(lengths, dtype=torch.long, device=device).unsqueeze(1)


def attention(module: Any, query: torch.Tensor, key: Any, value: Any, mask: Any, **kwargs: Any) -> Any:
    stacked: StackedCache | None = kwargs.pop("stacked", None)
    if stacked is None:
        from transformers.integrations.sdpa_attention import sdpa_attention_forward

        return sdpa_attention_forward(module, query, key, value, mask, **kwargs)
    scaling = kwargs.get("scaling") or query.shape[-1] ** -0.5
    parts = [
        _attend(query[start:end], cache, module.layer_idx, scaling)
        for cache, (start, end) in zip(stacked.caches, stacked.bounds, strict=True)
    ]
    return torch.cat(parts), None


def _attend(query: torch.Tensor, cache: SharedPrefixCache, layer: int, scaling: float) -> torch.Tensor:
    """Attention of one new token per row ([B, Hq, 1, d]) over the shared prefix and the row's own tokens.

    The prefix is broadcast to the rows only for this layer's call (the cache holds it once); returns [B, 1, Hq, d],
    the layout transformers' attention functions return.
    """
    prefix_keys, prefix_values = cache.prefix[layer]
    batch = query.shape[0]
    keys, values = prefix_keys.expand(batch, -1, -1, -1), prefix_values.expand(batch, -1, -1, -1)
    own = cache.rows[layer]
    if own is not None:
        keys, values = torch.cat([keys, own[0]], 2), torch.cat([values, own[1]], 2)
    out = torch.nn.functional.scaled_dot_product_attention(query, keys, values, scale=scaling, enable_gqa=True)
    return out.transpose(1, 2)


def register() -> None:
    """Make ATTENTION a name transformers resolves (its mask builder is SDPA's, used by the prefill)."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(ATTENTION, attention)
    AttentionMaskInterface.register(ATTENTION, sdpa_mask)


def supports(config: Any) -> str | None:
    """Why this model cannot be stepped stacked (None: it can)."""
    window = getattr(config, "sliding_window", None) if getattr(config, "use_sliding_window", True) else None
    if getattr(config, "attn_logit_softcapping", None) or window:
        return "its attention uses soft-capping or a sliding window"
    if not getattr(config, "is_decoder", True) or getattr(config, "is_encoder_decoder", False):
        return "it is not a decoder-only model"
    return None
