"""Manifests: the JSON file next to every ONNX model that says what it is, what it expects and where it came
from. Loading checks the file against its manifest, field by field; a mismatch names the file and the field."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inferenceguard.critics.artifacts import sha256_of

KINDS = ("cost_function", "critic")
_ONNX_TYPES = {"tensor(float)": "float32", "tensor(int64)": "int64", "tensor(string)": "string"}


class ManifestError(ValueError):
    """An ONNX model or its manifest is unusable; `path` and `field` say where."""

    def __init__(self, path: Path, field: str, message: str) -> None:
        super().__init__(f"{path}: {field}: {message}")
        self.path, self.field = path, field


@dataclass(frozen=True)
class TensorSpec:
    name: str
    dtype: str
    shape: list[int | str]  # strings are dynamic axes


@dataclass(frozen=True)
class Manifest:
    path: Path  # the manifest file
    name: str
    version: str
    kind: str
    onnx: str  # file name, relative to the manifest
    sha256: str
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    details: dict[str, Any] = field(default_factory=dict)  # kind-specific fields, e.g. lm, policy, metrics

    @property
    def onnx_path(self) -> Path:
        return self.path.parent / self.onnx

    def require(self, key: str) -> Any:
        if key not in self.details:
            raise ManifestError(self.path, key, "is required for a " + self.kind)
        return self.details[key]


def read_manifest(path: Path) -> Manifest:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ManifestError(path, "manifest", f"cannot be read as JSON ({exc})") from exc
    missing = [k for k in ("name", "version", "kind", "onnx", "sha256", "inputs", "outputs") if k not in data]
    if missing:
        raise ManifestError(path, missing[0], "is missing")
    if data["kind"] not in KINDS:
        raise ManifestError(path, "kind", f"must be one of {', '.join(KINDS)}, got {data['kind']!r}")
    specs = {
        key: [TensorSpec(t["name"], t["dtype"], list(t["shape"])) for t in data[key]] for key in ("inputs", "outputs")
    }
    details = {
        k: v for k, v in data.items() if k not in ("name", "version", "kind", "onnx", "sha256", "inputs", "outputs")
    }
    return Manifest(
        path,
        data["name"],
        str(data["version"]),
        data["kind"],
        data["onnx"],
        data["sha256"],
        specs["inputs"],
        specs["outputs"],
        details,
    )


def verify(manifest: Manifest) -> Any:
    """Check the ONNX file against the manifest and return an onnxruntime session for it."""
    from inferenceguard.critics.onnx_runtime import open_session

    path = manifest.onnx_path
    if not path.exists():
        raise ManifestError(manifest.path, "onnx", f"{path.name} does not exist")
    digest = sha256_of(path)
    if digest != manifest.sha256:
        raise ManifestError(
            manifest.path, "sha256", f"{path.name} has sha256 {digest}, the manifest says {manifest.sha256}"
        )
    try:
        session = open_session(path)
    except Exception as exc:
        raise ManifestError(manifest.path, "onnx", f"{path.name} cannot be loaded by onnxruntime ({exc})") from exc
    _match(manifest, "inputs", manifest.inputs, session.get_inputs())
    _match(manifest, "outputs", manifest.outputs, session.get_outputs())
    return session


def _match(manifest: Manifest, key: str, declared: list[TensorSpec], actual: list[Any]) -> None:
    found = {a.name: a for a in actual}
    if [s.name for s in declared] != [a.name for a in actual]:
        raise ManifestError(manifest.path, key, f"declares {[s.name for s in declared]}, the model has {sorted(found)}")
    for spec in declared:
        node = found[spec.name]
        dtype = _ONNX_TYPES.get(node.type, node.type)
        if dtype != spec.dtype:
            raise ManifestError(
                manifest.path, f"{key}.{spec.name}.dtype", f"declares {spec.dtype}, the model has {dtype}"
            )
        fixed = [d if isinstance(d, int) else None for d in node.shape]
        wanted = [d if isinstance(d, int) else None for d in spec.shape]
        if fixed != wanted:
            raise ManifestError(
                manifest.path, f"{key}.{spec.name}.shape", f"declares {spec.shape}, the model has {list(node.shape)}"
            )


def write_manifest(path: Path, **fields: Any) -> None:
    path.write_text(json.dumps(fields, indent=2, sort_keys=True) + "\n")


def tensor_specs(session: Any, key: str) -> list[dict[str, Any]]:
    """The inputs or outputs of a session in manifest form (for exporters)."""
    nodes = session.get_inputs() if key == "inputs" else session.get_outputs()
    return [
        {
            "name": n.name,
            "dtype": _ONNX_TYPES.get(n.type, n.type),
            "shape": [d if isinstance(d, int) else "batch" for d in n.shape],
        }
        for n in nodes
    ]
