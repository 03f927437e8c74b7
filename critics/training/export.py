"""PyTorch -> ONNX for trained heads and critics, with the manifest, accepted only after a parity check."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from inferenceguard.critics.artifacts import sha256_of
from inferenceguard.critics.manifest import read_manifest, tensor_specs, verify, write_manifest

PARITY_TOLERANCE = 1e-5
OPSET = 17


class ParityError(RuntimeError):
    pass


def export_onnx(
    model: torch.nn.Module,
    examples: dict[str, torch.Tensor],
    outputs: list[str],
    folder: Path,
    name: str,
    kind: str,
    version: str,
    **details: Any,
) -> Path:
    """Write NAME.onnx and NAME.manifest.json into `folder`; returns the manifest path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.onnx"
    axes = {key: {0: "batch"} for key in [*examples, *outputs]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            tuple(examples.values()),
            str(path),
            input_names=list(examples),
            output_names=outputs,
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
        )
    from inferenceguard.critics.onnx_runtime import open_session

    session = open_session(path)
    manifest = folder / f"{name}.manifest.json"
    write_manifest(
        manifest,
        name=name,
        version=version,
        kind=kind,
        onnx=path.name,
        sha256=sha256_of(path),
        inputs=tensor_specs(session, "inputs"),
        outputs=tensor_specs(session, "outputs"),
        opset=OPSET,
        **details,
    )
    check_parity(model, manifest, examples, outputs)
    return manifest


def check_parity(
    model: torch.nn.Module, manifest: Path, examples: dict[str, torch.Tensor], outputs: list[str]
) -> float:
    """Largest |torch - onnxruntime| over the outputs on `examples`; ParityError above the tolerance."""
    session = verify(read_manifest(manifest))
    with torch.no_grad():
        expected = model(*examples.values())
    expected = expected if isinstance(expected, tuple) else (expected,)
    got = session.run(outputs, {k: v.numpy() for k, v in examples.items()})
    difference = max(float(np.abs(g - e.numpy()).max()) for g, e in zip(got, expected, strict=True))
    if difference > PARITY_TOLERANCE:
        raise ParityError(f"{manifest}: ONNX differs from PyTorch by {difference:.2e}")
    return difference
