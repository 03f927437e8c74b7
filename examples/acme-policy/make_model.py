"""Rebuild acme_policy/model/terms.onnx and its manifest: cost = counts @ weights."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
from acme_policy.terms import TERMS
from onnx import TensorProto, helper, numpy_helper

HERE = Path(__file__).parent / "acme_policy" / "model"


def main() -> None:
    HERE.mkdir(exist_ok=True)
    weights = numpy_helper.from_array(np.array(list(TERMS.values()), dtype=np.float32).reshape(-1, 1), "weights")
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["counts", "weights"], ["scores"]),
            helper.make_node("Squeeze", ["scores", "axis"], ["cost"]),
        ],
        "acme_terms",
        [helper.make_tensor_value_info("counts", TensorProto.FLOAT, ["batch", len(TERMS)])],
        [helper.make_tensor_value_info("cost", TensorProto.FLOAT, ["batch"])],
        initializer=[weights, numpy_helper.from_array(np.array([1], dtype=np.int64), "axis")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="acme-policy")
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = HERE / "terms.onnx"
    onnx.save(model, str(path))
    manifest = {
        "name": "acme-terms",
        "version": "1.2.0",
        "kind": "cost_function",
        "onnx": path.name,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "opset": 17,
        "cost_semantics": "prefix",
        "inputs": [{"name": "counts", "dtype": "float32", "shape": ["batch", len(TERMS)]}],
        "outputs": [{"name": "cost", "dtype": "float32", "shape": ["batch"]}],
        "terms": len(TERMS),
    }
    (HERE / "terms.manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


if __name__ == "__main__":
    main()
