"""The causal LM runtime: prompt encoding, batched forward passes over a KV cache, block-end hidden states.

The engine works on token ids; this module is the only one that touches the transformers model. Every forward
pass returns next-token logits and the hidden state of one chosen layer at the token just fed, so a block's
end state comes from the pass that was run anyway to continue decoding (never a second pass).
"""

from __future__ import annotations

import copy
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from inferenceguard.service.engine import ragged
from inferenceguard.service.engine.errors import InvalidOptionError

log = logging.getLogger(__name__)

FINAL_LAYER = -1  # the last layer's output after the final norm

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


@dataclass(frozen=True)
class StepOutput:
    logits: torch.Tensor  # [B, V] float32 logits for the next token
    hidden: torch.Tensor  # [B, H] float32 state of the chosen layer at the last token fed


def pick_device(device: str) -> torch.device:
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InvalidOptionError("device", f"{device!r} was requested but CUDA is not available")
    return torch.device(device)


class LanguageModel:
    """A frozen causal LM with its tokenizer, driven one token at a time for a batch of sequences."""

    def __init__(self, model: Any, tokenizer: Any, *, model_id: str, hidden_layer: int = FINAL_LAYER) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.model_id = model_id
        self.device = next(model.parameters()).device
        self._base = model.base_model
        self._lm_head = model.get_output_embeddings()
        num_layers = int(model.config.num_hidden_layers)
        if not FINAL_LAYER <= hidden_layer <= num_layers:
            raise InvalidOptionError("hidden_layer", f"must be -1 (final) or 0..{num_layers}, got {hidden_layer}")
        self.hidden_layer = hidden_layer
        self._captured = threading.local()  # per thread: worker threads run passes on the same model at once
        # -1 and num_layers both name the final layer after the norm, which the forward pass returns directly
        self.reads_final_layer = hidden_layer in (FINAL_LAYER, num_layers)
        if not self.reads_final_layer:
            self._hook_layer(hidden_layer)
        self.eos_token_ids = _eos_ids(model, tokenizer)
        self.special_token_ids = frozenset(int(i) for i in tokenizer.all_special_ids)

    @classmethod
    def load(
        cls, path: str | Path, *, device: str = "auto", dtype: str = "float32", model_id: str = "", **kwargs: Any
    ) -> LanguageModel:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if dtype not in _DTYPES:
            raise InvalidOptionError("dtype", f"must be one of {sorted(_DTYPES)}, got {dtype!r}")
        target = pick_device(device)
        tokenizer = AutoTokenizer.from_pretrained(path)
        model: Any = AutoModelForCausalLM.from_pretrained(path, dtype=_DTYPES[dtype])
        model = model.to(target)
        log.info("language model %s loaded on %s (%s)", Path(str(path)).name, target, dtype)
        return cls(model, tokenizer, model_id=model_id or Path(str(path)).name, **kwargs)

    # -- facts about the model ------------------------------------------------------------------------------
    @property
    def hidden_size(self) -> int:
        return int(self.model.config.hidden_size)

    @property
    def vocab_size(self) -> int:
        return int(self._lm_head.weight.shape[0])

    @property
    def context_length(self) -> int:
        return int(getattr(self.model.config, "max_position_embeddings", 2048))

    @property
    def kv_bytes_per_token(self) -> int:
        """KV-cache bytes one sequence holds per token: keys and values of every layer's key-value heads."""
        config = self.model.config
        heads = int(getattr(config, "num_key_value_heads", None) or config.num_attention_heads)
        head_dim = int(getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads)
        element = next(self.model.parameters()).element_size()
        return 2 * int(config.num_hidden_layers) * heads * head_dim * element

    # -- text <-> ids ----------------------------------------------------------------------------------------
    def encode_prompt(self, prompt: str, *, chat: bool | None = None) -> list[int]:
        """Token ids of the prompt, wrapped in the model's chat template when it has one (or `chat` says so).

        The prompt is the user's text only: special-token strings in it (e.g. "<|im_start|>system") are encoded as
        plain text, so a prompt cannot forge a turn of the conversation."""
        use_chat = chat if chat is not None else bool(getattr(self.tokenizer, "chat_template", None))
        forged = any(token in prompt for token in self.tokenizer.all_special_tokens)
        if not use_chat:
            return self._plain_ids(prompt) if forged else [int(i) for i in self.tokenizer(prompt)["input_ids"]]
        if not forged:
            return self._chat_ids(prompt)
        marker = "\u2063prompt\u2063"  # a string no template adds; the template around it keeps its tokens
        before, _, after = self.tokenizer.decode(self._chat_ids(marker)).partition(marker)
        ids = [self.tokenizer(part, add_special_tokens=False)["input_ids"] for part in (before, after)]
        return [int(i) for i in (*ids[0], *self._plain_ids(prompt, special=False), *ids[1])]

    def _chat_ids(self, content: str) -> list[int]:
        ids = self.tokenizer.apply_chat_template(
            [{"role": "user", "content": content}], add_generation_prompt=True, tokenize=True
        )
        if isinstance(ids, dict) or hasattr(ids, "input_ids"):
            ids = ids["input_ids"]
        return [int(i) for i in ids]

    def _plain_ids(self, text: str, special: bool = True) -> list[int]:
        """`text` with any special-token string in it split into ordinary tokens."""
        encoded = self.tokenizer(text, add_special_tokens=special, split_special_tokens=True)
        return [int(i) for i in encoded["input_ids"]]

    def decode(self, ids: list[int]) -> str:
        return str(self.tokenizer.decode(ids, skip_special_tokens=True))

    # -- forward passes --------------------------------------------------------------------------------------
    @torch.inference_mode()
    def prefill(self, prompt_ids: list[int]) -> tuple[Any, StepOutput]:
        """Encode the prompt once; the returned cache is shared by every candidate through `select_rows`."""
        from transformers import DynamicCache

        cache = DynamicCache(config=self.model.config)
        ids = torch.tensor([prompt_ids], dtype=torch.long, device=self.device)
        return cache, self._forward(ids, cache)

    @torch.inference_mode()
    def step(self, cache: Any, tokens: torch.Tensor) -> StepOutput:
        """Feed one token per row ([B] ids) and grow `cache` by one position."""
        return self._forward(tokens.to(self.device).view(-1, 1), cache)

    @torch.inference_mode()
    def step_final(self, cache: Any, tokens: torch.Tensor) -> torch.Tensor:
        """Like `step`, but only the final layer's state [B, H] (float32, the input of lm_head), without logits.

        For callers that edit that state before lm_head (RE-Control), so the vocabulary-sized lm_head product
        (12 ms a token for the default model on a CPU) is not computed for nothing.
        """
        return self._final_state(tokens.to(self.device).view(-1, 1), cache).float()

    @torch.inference_mode()
    def logits_of(self, hidden: torch.Tensor) -> torch.Tensor:
        """[B, V] float32 next-token logits of a final-layer state [B, H], e.g. one edited by RE-Control."""
        return self._lm_head(hidden.to(self.device, self._lm_head.weight.dtype)).float()

    def enable_stacking(self) -> None:
        """Let `step_stacked` run: the model's attention becomes ragged.ATTENTION (SDPA unless a step is stacked).

        Chosen once at start; InvalidOptionError when the model's attention is not one the stacked step handles."""
        if (reason := ragged.supports(self.model.config)) is not None:
            raise InvalidOptionError("batching", f"cannot batch requests on this model: {reason}")
        ragged.register()
        self.model.set_attn_implementation(ragged.ATTENTION)

    @torch.inference_mode()
    def prefill_shared(self, prompt_ids: list[int]) -> tuple[ragged.SharedPrefixCache, StepOutput]:
        """`prefill`, its cache kept as one shared prompt prefix for every row that reads it."""
        cache, out = self.prefill(prompt_ids)
        return ragged.SharedPrefixCache.of_prompt(cache), out

    @torch.inference_mode()
    def step_stacked(self, caches: list[ragged.SharedPrefixCache], tokens: list[torch.Tensor]) -> list[StepOutput]:
        """`step` for many requests in one forward pass: `tokens[i]` ([B_i]) feeds the rows of `caches[i]`."""
        stacked = ragged.StackedCache(caches)
        ids = torch.cat([t.to(self.device) for t in tokens]).view(-1, 1)
        self._captured.state = None
        final = self._base(
            input_ids=ids, position_ids=stacked.positions(self.device), cache=stacked, use_cache=True,
            attention_mask=ragged.NO_MASK, stacked=stacked,
        ).last_hidden_state[:, -1, :]  # fmt: skip
        out = self._output(final)
        return [StepOutput(out.logits[start:end], out.hidden[start:end]) for start, end in stacked.bounds]

    @staticmethod
    def select_rows(cache: Any, rows: torch.Tensor) -> Any:
        """A new cache holding `rows` of `cache` (repeats allowed); `cache` itself is left untouched.

        Cache layers rebind (never mutate) their tensors on update, so a shallow copy with indexed tensors is
        independent of the original: a parent cache stays valid for resampling its children.
        """
        if isinstance(cache, ragged.SharedPrefixCache):
            return cache.select(rows)
        selected = copy.copy(cache)
        selected.layers = []
        for layer in cache.layers:
            clone = copy.copy(layer)
            if getattr(layer, "is_initialized", True) and getattr(layer, "keys", None) is not None:
                index = rows.to(layer.keys.device)
                clone.keys = layer.keys.index_select(0, index)
                clone.values = layer.values.index_select(0, index)
            selected.layers.append(clone)
        return selected

    def _forward(self, ids: torch.Tensor, cache: Any) -> StepOutput:
        return self._output(self._final_state(ids, cache))

    def _output(self, final: torch.Tensor) -> StepOutput:
        logits = self._lm_head(final).float()
        state = getattr(self._captured, "state", None)
        hidden = final if state is None else state[:, -1, :]
        return StepOutput(logits=logits, hidden=hidden.float())

    def _final_state(self, ids: torch.Tensor, cache: Any) -> torch.Tensor:
        self._captured.state = None
        return self._base(input_ids=ids, cache=cache, use_cache=True).last_hidden_state[:, -1, :]

    def _hook_layer(self, layer: int) -> None:
        # hidden_layer counts like transformers' hidden_states: 0 = embeddings, i = output of decoder layer i.
        blocks = getattr(self._base, "layers", None)
        if blocks is None:
            raise InvalidOptionError("hidden_layer", "this model exposes no decoder layers; use -1 (final)")
        if layer == 0:
            target, pick = self._base.get_input_embeddings(), lambda output: output
        else:
            target, pick = blocks[layer - 1], lambda output: output[0] if isinstance(output, tuple) else output
        # the hook runs on the thread that runs the pass, so each thread keeps the state of its own pass
        target.register_forward_hook(lambda _module, _args, output: setattr(self._captured, "state", pick(output)))


def kv_bytes(caches: list[Any]) -> int:
    """Bytes of keys and values held by `caches` together, each tensor counted once (a shared prefix once)."""
    tensors: dict[int, torch.Tensor] = {}
    for cache in caches:
        if isinstance(cache, ragged.SharedPrefixCache):
            pairs = cache.pairs()
        else:
            pairs = [(layer.keys, layer.values) for layer in cache.layers if getattr(layer, "keys", None) is not None]
        tensors.update((id(t), t) for pair in pairs for t in pair)
    return sum(t.numel() * t.element_size() for t in tensors.values())


def _eos_ids(model: Any, tokenizer: Any) -> frozenset[int]:
    ids: set[int] = set()
    for source in (getattr(model, "generation_config", None), model.config):
        value = getattr(source, "eos_token_id", None) if source is not None else None
        if isinstance(value, int):
            ids.add(value)
        elif isinstance(value, (list, tuple)):
            ids.update(int(v) for v in value)
    if tokenizer.eos_token_id is not None:
        ids.add(int(tokenizer.eos_token_id))
    return frozenset(ids)
