"""A tiny random-init Llama with a word-level tokenizer, built offline in a fraction of a second.

Words are "w0".."w{n-1}", so a response's text maps back to its token ids exactly, which lets scripted
scorers reason about tokens.
"""

from __future__ import annotations

import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from inferenceguard.service.engine import LanguageModel

WORDS = 96
EOS, PAD = "<eos>", "<pad>"


def tiny_tokenizer() -> PreTrainedTokenizerFast:
    vocab = {PAD: 0, EOS: 1, **{f"w{i}": i + 2 for i in range(WORDS)}}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token=PAD))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=core, eos_token=EOS, pad_token=PAD)


def tiny_llama(seed: int = 0, context: int = 256, hidden_size: int = 32) -> LlamaForCausalLM:
    config = LlamaConfig(
        vocab_size=WORDS + 2,
        hidden_size=hidden_size,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=context,
        eos_token_id=1,
        pad_token_id=0,
        bos_token_id=None,
        tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    with torch.no_grad():  # sharper logits than the default init, so greedy and sampling differ visibly
        model.lm_head.weight.mul_(40.0)
    return model.eval()


def tiny_lm(seed: int = 0, context: int = 256, hidden_layer: int = -1) -> LanguageModel:
    return LanguageModel(tiny_llama(seed, context), tiny_tokenizer(), model_id="tiny-llama", hidden_layer=hidden_layer)


def ids_of(text: str) -> list[int]:
    return [int(w[1:]) + 2 for w in text.split()]
