"""The built-in plugin: InferenceGuard's own scorers and policies, registered through the same hooks that
third-party plugins use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from inferenceguard.critics.artifacts import package_version
from inferenceguard.policies.hookspecs import hookimpl
from inferenceguard.policies.types import LoadContext

MODELS = Path(__file__).parent / "models"
CRITICS = MODELS / "critics"
EXHAUSTED = " [The rest of this answer was withheld by the safety policy.]"
HARM_CURRENT = "2.1.0"
HARM_PREVIOUS = "1.0.0"  # models/harm-1.0.0 and critics/harm-1.0.0 keep it loadable as policy harm@1.0.0


def _toxicity(context: LoadContext) -> Any:
    from inferenceguard.policies.builtin.toxicity import ToxicityCost, toxicity_folder

    return ToxicityCost(toxicity_folder(context.home))


def _harm(context: LoadContext) -> Any:
    folder = context.plugin_settings.get("harm", {}).get("model")
    return _harm_from(Path(folder) if folder else MODELS / "harm", context)


def _harm_from(folder: Path, context: LoadContext) -> Any:
    from inferenceguard.policies.builtin.harm import HarmCost
    from inferenceguard.policies.builtin.minilm import shared_encoder

    return HarmCost(shared_encoder(context.home), folder / "harm.manifest.json", context.home)


def _lexicon(context: LoadContext) -> Any:
    from inferenceguard.policies.builtin.lexicon import DEFAULT_LIST, LexiconCost

    path = context.plugin_settings.get("lexicon", {}).get("path") or DEFAULT_LIST
    return LexiconCost.from_file(Path(path))


def _relevance(context: LoadContext) -> Any:
    from inferenceguard.policies.builtin.minilm import shared_encoder
    from inferenceguard.policies.builtin.relevance import RelevanceReward

    return RelevanceReward(shared_encoder(context.home))


@hookimpl
def register_cost_functions(register: Any) -> None:
    register(
        "toxicity",
        _toxicity,
        version=package_version("toxic-comment-classifier"),
        description="Jigsaw toxic-comment BiLSTM (ONNX): highest of six label probabilities",
    )
    register(
        "harm",
        _harm,
        version=HARM_CURRENT,
        description="P(harmful request) x P(the answer does not refuse outright): fine-tuned MiniLM gate, head (ONNX)"
        " and a refusal rule",
    )
    register(
        f"harm@{HARM_PREVIOUS}",
        lambda context: _harm_from(MODELS / f"harm-{HARM_PREVIOUS}", context),
        version=HARM_PREVIOUS,
        description="the previous harm model, kept for comparison",
    )
    register("lexicon", _lexicon, version="1.0.0", description="organisation word/regex list with per-entry costs")


@hookimpl
def register_reward_functions(register: Any) -> None:
    register("relevance", _relevance, version="1.0.0", description="cosine of MiniLM prompt/response embeddings")


@hookimpl
def register_critics(register: Any) -> None:
    for manifest in sorted(CRITICS.glob("*.manifest.json")):
        register(
            manifest.name.removesuffix(".manifest.json"),
            manifest,
            description="two-head latent critic (p_safe, value) for SmolLM2-135M-Instruct",
        )
    register(
        f"harm-smollm2-135m@{HARM_PREVIOUS}",
        CRITICS / f"harm-{HARM_PREVIOUS}" / "harm-smollm2-135m.manifest.json",
        description="the critic of the previous harm model",
    )


def _critic_for(policy: str) -> str | None:
    name = f"{policy}-smollm2-135m"
    return name if (CRITICS / f"{name}.manifest.json").exists() else None


@hookimpl
def register_policies(register: Any) -> None:
    register(
        "harm",
        cost_functions={"harm": 0.5},
        critic=_critic_for("harm"),
        version=HARM_CURRENT,
        description="no compliance with harmful requests (budget 0.5 on P(harmful compliance))",
        exhausted_message=EXHAUSTED,
    )
    register(
        f"harm@{HARM_PREVIOUS}",
        cost_functions={f"harm@{HARM_PREVIOUS}": 0.5},
        critic=f"harm-smollm2-135m@{HARM_PREVIOUS}",
        version=HARM_PREVIOUS,
        description="the harm policy with its previous cost model and critic, kept for comparison",
        exhausted_message=EXHAUSTED,
    )
    register(
        "toxicity",
        cost_functions={"toxicity": 0.5},
        critic=_critic_for("toxicity"),
        version="1.0.0",
        description="no toxic language (budget 0.5 on the highest Jigsaw label probability)",
        exhausted_message=EXHAUSTED,
    )
    register(
        "lexicon",
        cost_functions={"lexicon": 0.5},
        version="1.0.0",
        description="no entry of the organisation's word list (any match costs its entry's cost)",
        exhausted_message=EXHAUSTED,
    )
