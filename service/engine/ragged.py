"""One decoding step for the rows of many requests in one forward pass, each row reading its own request's cache.

A request's cache is a `SharedPrefixCache`: the prompt's keys and values held once ([1, heads, P, d]) and read by
every row, the tokens generated before the current block held once per parent, and each row's own tokens of the
block. For a step, the rows of every request are stacked into one batch for all that is the same for every row
(embeddings, projections, MLPs, the norm, lm_head: the weights are read once a step for all requests); attention
alone runs per request, over that request's cache. So no request is padded to another's length.

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


Pair = tuple[torch.Tensor, torch.Tensor]  # (keys, values) of one layer


class SharedPrefixCache:
    """One request's KV cache in three parts: the prompt, held once for every row; the tokens generated before this
    block, held once per parent and read by each row through `parents`; and each row's own tokens of this block."""

    def __init__(
        self, prefix: list[Pair], history: list[Pair] | None = None, parents: torch.Tensor | None = None, batch: int = 1
    ) -> None:
        self.prefix = prefix  # per layer [1, heads, P, d]; shared, never written
        self.history = history  # per layer [S, heads, H, d]: what S distinct parents generated before this block
        self.parents = parents  # [B]: each row's parent in `history`
        self.rows: list[Pair | None] = [None] * len(prefix)  # per layer [B, heads, G, d]: this block's own tokens
        self.batch = batch

    @classmethod
    def of_prompt(cls, cache: Any) -> SharedPrefixCache:
        """The prompt's cache after a prefill (transformers' DynamicCache of one row)."""
        return cls([(layer.keys, layer.values) for layer in cache.layers])

    @property
    def length(self) -> int:
        """Tokens each row has seen: the prompt and its generated tokens (the next one's position)."""
        length = int(self.prefix[0][0].shape[2])
        if self.history is not None:
            length += int(self.history[0][0].shape[2])
        if (own := self.rows[0]) is not None:
            length += int(own[0].shape[2])
        return length

    def select(self, index: torch.Tensor) -> SharedPrefixCache:
        """Rows `index` (repeats allowed) as the parents of a new block. Each distinct parent's generated tokens are
        copied once into the new history, which all its children read; the prompt is shared as it is. This cache
        stays valid (a block is resampled from it)."""
        parents, children = torch.unique(index, return_inverse=True)
        history = [self._generated(layer, parents) for layer in range(len(self.prefix))]
        if history[0] is None:  # nothing generated yet: the rows differ only by what they draw next
            return SharedPrefixCache(self.prefix, batch=int(index.shape[0]))
        return SharedPrefixCache(self.prefix, history, children, int(index.shape[0]))  # type: ignore[arg-type]

    def _generated(self, layer: int, rows: torch.Tensor) -> Pair | None:
        pieces = []
        if self.history is not None and self.parents is not None:
            keys, values = self.history[layer]
            before = self.parents.index_select(0, rows)
            pieces.append((keys.index_select(0, before), values.index_select(0, before)))
        if (own := self.rows[layer]) is not None:
            pieces.append((own[0].index_select(0, rows), own[1].index_select(0, rows)))
        if len(pieces) < 2:
            return pieces[0] if pieces else None
        return torch.cat([pieces[0][0], pieces[1][0]], 2), torch.cat([pieces[0][1], pieces[1][1]], 2)

    def append(self, layer: int, keys: torch.Tensor, values: torch.Tensor) -> None:
        part = self.rows[layer]
        self.rows[layer] = (
            (keys, values) if part is None else (torch.cat([part[0], keys], 2), torch.cat([part[1], values], 2))
        )

    def pairs(self) -> list[Pair]:
        """Every (keys, values) tensor pair this cache holds."""
        return [*self.prefix, *(self.history or []), *(pair for pair in self.rows if pair is not None)]

    def layer(self, layer: int) -> Pair:
        """The keys and values every row attends to at `layer`: prompt, its parent's history, its own tokens."""
        batch = self.batch
        keys, values = (
            [self.prefix[layer][0].expand(batch, -1, -1, -1)],
            [self.prefix[layer][1].expand(batch, -1, -1, -1)],
        )
        if self.history is not None and self.parents is not None:
            keys.append(self.history[layer][0].index_select(0, self.parents))
            values.append(self.history[layer][1].index_select(0, self.parents))
        if (own := self.rows[layer]) is not None:
            keys.append(own[0])
            values.append(own[1])
        return torch.cat(keys, 2), torch.cat(values, 2)


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
        lengths = torch.tensor([cache.length for cache in self.caches], dtype=torch.long)
        counts = torch.tensor([cache.batch for cache in self.caches])
        return lengths.repeat_interleave(counts).to(device).unsqueeze(1)


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
    """Attention of one new token per row ([B, Hq, 1, d]) over the row's context, assembled for this layer's call
    only (the cache holds each part once); returns [B, 1, Hq, d], the layout transformers' attention functions
    return."""
    keys, values = cache.layer(layer)
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
