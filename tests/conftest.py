from __future__ import annotations

import pytest

from tests.tiny_model import tiny_lm


@pytest.fixture(scope="session")
def lm():  # type: ignore[no-untyped-def]
    return tiny_lm()


@pytest.fixture(scope="session")
def training_critic(lm, tmp_path_factory):  # type: ignore[no-untyped-def]
    """An ONNX critic for the tiny model exported from critics.training.critic.Critic: RE-Control can steer by it."""
    from inferenceguard.critics.onnx_critic import OnnxCritic
    from tests.onnx_helpers import export_training_critic

    return OnnxCritic(export_training_critic(tmp_path_factory.mktemp("critic") / "critic.onnx", lm.hidden_size))
