"""A latent critic exported to ONNX: inputs `hidden` [B, H] and `budget_state` [B, 1] (z/d), outputs `p_safe` [B]
and `value` [B] (method.md §3). A critic belongs to one LM and one layer; loading checks both."""

from __future__ import annotations

import copy
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from inferenceguard.critics.manifest import Manifest, ManifestError, read_manifest, verify
from inferenceguard.critics.onnx_runtime import open_session

if TYPE_CHECKING:
    import torch


class CriticLoadError(ValueError):
    def __init__(self, path: Path, field: str, message: str) -> None:
        super().__init__(f"{path}: {field}: {message}")
        self.field = field


class OnnxCritic:
    def __init__(self, path: Path, name: str | None = None, session: Any = None) -> None:
        self.name = name or path.stem
        self.path = path
        try:
            self.session = session or open_session(path)
        except Exception as exc:
            raise CriticLoadError(path, "onnx", f"cannot be loaded by onnxruntime ({exc})") from exc
        inputs = {i.name: i.shape for i in self.session.get_inputs()}
        outputs = {o.name for o in self.session.get_outputs()}
        if set(inputs) != {"hidden", "budget_state"} or not {"p_safe", "value"} <= outputs:
            raise CriticLoadError(
                path,
                "signature",
                f"needs inputs hidden, budget_state and outputs p_safe, value; "
                f"has inputs {sorted(inputs)} and outputs {sorted(outputs)}",
            )
        width = inputs["hidden"][-1]
        if not isinstance(width, int):
            raise CriticLoadError(path, "hidden", "the hidden size must be a fixed dimension")
        self.hidden_size = width
        self.manifest: Manifest | None = None
        self._copies: dict[str, torch.nn.Module] = {}  # differentiable copies by device, built on first use
        self._copies_lock = threading.Lock()

    @classmethod
    def from_manifest(
        cls, manifest_path: Path, lm_id: str, hidden_size: int, layer: int, name: str | None = None
    ) -> OnnxCritic:
        """The critic of `manifest_path`, refused unless it was trained for this LM, layer and hidden size."""
        manifest = read_manifest(manifest_path)
        lm = manifest.require("lm")
        for key, actual in (("id", lm_id), ("layer", layer), ("hidden_size", hidden_size)):
            if lm.get(key) != actual:
                raise ManifestError(
                    manifest_path,
                    f"lm.{key}",
                    f"the critic was trained for {lm.get(key)!r}; the served model has {actual!r}",
                )
        critic = cls(manifest.onnx_path, name or manifest.name, session=verify(manifest))
        critic.manifest = manifest
        return critic

    def __call__(self, hidden: np.ndarray, budget_state: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p_safe, value = self.session.run(
            ["p_safe", "value"],
            {"hidden": hidden.astype(np.float32), "budget_state": budget_state.reshape(-1, 1).astype(np.float32)},
        )
        return np.asarray(p_safe).reshape(-1), np.asarray(value).reshape(-1)

    def differentiable(self, device: str | torch.device = "cpu") -> torch.nn.Module:
        """A frozen PyTorch copy on `device` that gradients can flow through (see critics/torch_critic.py).

        Built once, on the first strategy that needs it, so serving ONNX critics never loads the onnx package;
        CriticLoadError (a ValueError) when the file is not a `critics.training.critic.Critic` export.
        """
        with self._copies_lock:
            if "cpu" not in self._copies:
                from inferenceguard.critics.torch_critic import torch_critic

                self._copies["cpu"] = torch_critic(self.path, self.session)
            key = str(device)
            if key not in self._copies:
                self._copies[key] = copy.deepcopy(self._copies["cpu"]).to(device)
            return self._copies[key]
