"""Assembles an Engine from Settings: the LM, the built-in cost and reward functions, an optional critic."""

from __future__ import annotations

import logging
from pathlib import Path

import torch
import transformers

from inferenceguard.critics.onnx_critic import OnnxCritic
from inferenceguard.policies.builtin.relevance import RelevanceReward
from inferenceguard.policies.builtin.toxicity import ToxicityCost, toxicity_folder
from inferenceguard.service.config import Settings
from inferenceguard.service.engine import BudgetedCost, Engine, LanguageModel
from inferenceguard.service.engine.lm import pick_device
from inferenceguard.service.engine.model_store import default_model_dir

log = logging.getLogger(__name__)


def model_path(settings: Settings) -> Path:
    return default_model_dir(settings.home) if settings.model == "default" else Path(settings.model)


def load_language_model(settings: Settings) -> LanguageModel:
    path = model_path(settings)  # converts the default model on first use, with its own progress bar
    transformers.utils.logging.disable_progress_bar()  # a plain load takes about a second
    if settings.threads > 0:
        torch.set_num_threads(settings.threads)
    device = pick_device(settings.device)
    log.info("device %s, torch %s, %d CPU threads", device, torch.__version__, torch.get_num_threads())
    return LanguageModel.load(path, device=str(device), dtype=settings.dtype,
                              hidden_layer=settings.hidden_layer)


def build_engine(settings: Settings, lm: LanguageModel | None = None) -> Engine:
    lm = lm or load_language_model(settings)
    toxicity = ToxicityCost(toxicity_folder(settings.home))
    critic = OnnxCritic(Path(settings.critic)) if settings.critic else None
    return Engine(lm, [BudgetedCost(toxicity, toxicity.default_budget)], RelevanceReward(lm.device), critic)
