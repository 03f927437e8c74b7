"""Build the toxicity cost model once: the Jigsaw BiLSTM of `toxic-comment-classifier`, rebuilt in PyTorch from
its Keras weights (no TensorFlow), exported to ONNX, with its vocabulary written as JSON.

The package's tokenizer is a pickle; it is read with an unpickler that only admits the four classes the file
refers to, so no code from it can run. The service itself never unpickles anything.
"""

from __future__ import annotations

import collections
import json
import pickle
import sys
import warnings
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from inferenceguard.critics.artifacts import packaged_file

DISTRIBUTION = "toxic-comment-classifier"
LABELS = ("toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate")  # LIST_CLASSES of the package
SEQUENCE_LENGTH, VOCABULARY, EMBEDDING, UNITS = 100, 20000, 50, 50


class BiLstmToxicity(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(VOCABULARY, EMBEDDING)
        self.lstm = nn.LSTM(EMBEDDING, UNITS, batch_first=True, bidirectional=True)
        self.hidden = nn.Linear(2 * UNITS, 50)
        self.out = nn.Linear(50, len(LABELS))

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        states, _ = self.lstm(self.embedding(input_ids))
        pooled = states.max(dim=1).values
        return torch.sigmoid(self.out(torch.relu(self.hidden(pooled))))


def load_keras_weights(model: BiLstmToxicity, weights: Path) -> None:
    import h5py

    def tensor(handle: Any, path: str, transpose: bool = False) -> torch.Tensor:
        array = np.asarray(handle[path])
        return torch.from_numpy(array.T.copy() if transpose else array)

    with h5py.File(weights, "r") as h5, torch.no_grad():
        model.embedding.weight.copy_(tensor(h5, "layers/embedding/vars/0"))
        for keras_dir, suffix in (("forward_layer", ""), ("backward_layer", "_reverse")):
            cell = f"layers/bidirectional/{keras_dir}/cell/vars"
            # Keras kernels are (in, out); gate order i, f, c, o matches PyTorch's i, f, g, o.
            getattr(model.lstm, f"weight_ih_l0{suffix}").copy_(tensor(h5, f"{cell}/0", transpose=True))
            getattr(model.lstm, f"weight_hh_l0{suffix}").copy_(tensor(h5, f"{cell}/1", transpose=True))
            getattr(model.lstm, f"bias_ih_l0{suffix}").copy_(tensor(h5, f"{cell}/2"))
            getattr(model.lstm, f"bias_hh_l0{suffix}").zero_()  # Keras keeps one bias per direction
        model.hidden.weight.copy_(tensor(h5, "layers/dense/vars/0", transpose=True))
        model.hidden.bias.copy_(tensor(h5, "layers/dense/vars/1"))
        model.out.weight.copy_(tensor(h5, "layers/dense_1/vars/0", transpose=True))
        model.out.bias.copy_(tensor(h5, "layers/dense_1/vars/1"))


class _TokenizerState:
    """Receives the pickled Keras Tokenizer's attributes."""

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


class _VocabularyUnpickler(pickle.Unpickler):
    _ALLOWED: ClassVar[dict[tuple[str, str], Any]] = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("collections", "defaultdict"): collections.defaultdict,
        ("builtins", "int"): int,
    }

    def find_class(self, module: str, name: str) -> Any:
        if name == "Tokenizer" and module.startswith("keras"):
            return _TokenizerState
        if (module, name) in self._ALLOWED:
            return self._ALLOWED[(module, name)]
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from the tokenizer pickle")


def read_vocabulary(pickle_path: Path) -> dict[str, Any]:
    with pickle_path.open("rb") as handle:
        state = _VocabularyUnpickler(handle).load()
    words = {w: int(i) for w, i in state.word_index.items() if int(i) < VOCABULARY}
    return {"filters": state.filters, "lower": bool(state.lower), "split": state.split, "word_index": words}


def build(target: Path) -> None:
    """Write toxicity.onnx, its manifest and vocabulary.json into `target`."""
    print(f"inferenceguard: building the toxicity cost model into {target}...", file=sys.stderr, flush=True)
    target.mkdir(parents=True, exist_ok=True)
    model = BiLstmToxicity().eval()
    load_keras_weights(model, packaged_file(DISTRIBUTION, "toxic_classifier/model/model.weights.h5"))
    vocabulary = read_vocabulary(packaged_file(DISTRIBUTION, "toxic_classifier/model/tokenizer.pickle"))
    (target / "vocabulary.json").write_text(json.dumps(vocabulary, sort_keys=True))
    example = torch.zeros((1, SEQUENCE_LENGTH), dtype=torch.long)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes on the LSTM's shape checks; parity is tested instead
        torch.onnx.export(
            model,
            (example,),
            str(target / "toxicity.onnx"),
            input_names=["input_ids"],
            output_names=["probs"],
            dynamic_axes={"input_ids": {0: "batch"}, "probs": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
    _write_manifest(target)


def _write_manifest(target: Path) -> None:
    from inferenceguard.critics.artifacts import package_version, sha256_of
    from inferenceguard.critics.manifest import tensor_specs, write_manifest
    from inferenceguard.critics.onnx_runtime import open_session

    session = open_session(target / "toxicity.onnx")
    write_manifest(
        target / "toxicity.manifest.json",
        name="toxicity",
        version=package_version(DISTRIBUTION),
        kind="cost_function",
        onnx="toxicity.onnx",
        sha256=sha256_of(target / "toxicity.onnx"),
        inputs=tensor_specs(session, "inputs"),
        outputs=tensor_specs(session, "outputs"),
        opset=17,
        cost_semantics="prefix",
        labels=list(LABELS),
        cost="max over the label probabilities",
        source=f"{DISTRIBUTION}=={package_version(DISTRIBUTION)} (MIT), Keras weights rebuilt in PyTorch",
    )
