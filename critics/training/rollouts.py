"""Base-LM rollouts for critic and cost-model training: sampled answers with the chosen layer's hidden state at
every block end, generated in batches across prompts and cached shard by shard so an interrupted run resumes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from inferenceguard.service.engine.lm import FINAL_LAYER, LanguageModel


@dataclass(frozen=True)
class RolloutPlan:
    samples: int = 2  # R answers per prompt
    block_tokens: int = 16
    max_new_tokens: int = 64
    batch_size: int = 16
    seed: int = 0


@dataclass(frozen=True)
class Rollout:
    prompt_id: str
    sample: int
    token_ids: list[int]  # the answer, without its end-of-sequence token
    block_ends: list[int]  # answer lengths (in tokens) at which a block ended and a state was recorded
    states: np.ndarray  # [len(block_ends), H] float16 hidden states at those block ends


def generate_rollouts(
    lm: LanguageModel, prompts: Sequence[tuple[str, str]], plan: RolloutPlan, folder: Path
) -> list[Rollout]:
    """R rollouts per (id, text) prompt; shards already in `folder` are reused."""
    folder.mkdir(parents=True, exist_ok=True)
    jobs = [(pid, text, s) for pid, text in prompts for s in range(plan.samples)]
    batches = [jobs[i : i + plan.batch_size] for i in range(0, len(jobs), plan.batch_size)]
    out: list[Rollout] = []
    for index, batch in enumerate(tqdm(batches, desc="rollouts", unit="batch")):
        shard = folder / f"shard-{index:05d}.npz"
        if not shard.exists():
            _save(shard, _sample_batch(lm, batch, plan, seed=plan.seed * 1_000_003 + index))
        out.extend(_load(shard))
    return out


def _sample_batch(lm: LanguageModel, batch: list[tuple[str, str, int]], plan: RolloutPlan, seed: int) -> list[Rollout]:
    input_ids, mask = left_padded(lm, [lm.encode_prompt(text) for _, text, _ in batch])
    width, pad = input_ids.shape[1], pad_id(lm)
    torch.manual_seed(seed)
    with torch.inference_mode():
        out = lm.model.generate(
            input_ids=input_ids.to(lm.device),
            attention_mask=mask.to(lm.device),
            do_sample=True,
            temperature=1.0,
            top_k=0,
            top_p=1.0,
            max_new_tokens=plan.max_new_tokens,
            pad_token_id=pad,
            eos_token_id=sorted(lm.eos_token_ids),
            output_hidden_states=True,
            return_dict_in_generate=True,
        )
    layer = lm.model.config.num_hidden_layers if lm.hidden_layer == FINAL_LAYER else lm.hidden_layer
    answers = out.sequences[:, width:].tolist()
    return [
        _rollout(job, answer, out.hidden_states, layer, row, lm, plan)
        for row, (job, answer) in enumerate(zip(batch, answers, strict=True))
    ]


def pad_id(lm: LanguageModel) -> int:
    return int(lm.tokenizer.pad_token_id if lm.tokenizer.pad_token_id is not None else sorted(lm.eos_token_ids)[0])


def left_padded(lm: LanguageModel, encoded: Sequence[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Input ids and attention mask of a batch, left-padded so that every answer starts at the same step."""
    width = max(len(ids) for ids in encoded)
    input_ids = torch.full((len(encoded), width), pad_id(lm), dtype=torch.long)
    mask = torch.zeros((len(encoded), width), dtype=torch.long)
    for row, ids in enumerate(encoded):
        input_ids[row, width - len(ids) :] = torch.tensor(ids)
        mask[row, width - len(ids) :] = 1
    return input_ids, mask


def _rollout(
    job: tuple[str, str, int],
    answer: list[int],
    steps: tuple[Any, ...],
    layer: int,
    row: int,
    lm: LanguageModel,
    plan: RolloutPlan,
) -> Rollout:
    tokens = []
    for token in answer:
        if token in lm.eos_token_ids:
            break
        tokens.append(token)
    # The state after feeding answer token j is computed at generation step j + 1.
    ends = [end for end in range(plan.block_tokens, len(tokens) + 1, plan.block_tokens) if end < len(steps)]
    states = (
        np.stack([steps[end][layer][row, -1].float().cpu().numpy() for end in ends])
        if ends
        else np.zeros((0, lm.hidden_size), dtype=np.float32)
    )
    return Rollout(job[0], job[2], tokens, ends, states.astype(np.float16))


def _save(path: Path, rollouts: list[Rollout]) -> None:
    meta = [
        {"prompt_id": r.prompt_id, "sample": r.sample, "token_ids": r.token_ids, "block_ends": r.block_ends}
        for r in rollouts
    ]
    states = {f"states_{i}": r.states for i, r in enumerate(rollouts)}
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, meta=np.array(json.dumps(meta)), **states)  # type: ignore[arg-type]
    tmp.rename(path)


def _load(path: Path) -> list[Rollout]:
    with np.load(path) as data:
        meta = json.loads(str(data["meta"]))
        return [
            Rollout(m["prompt_id"], m["sample"], m["token_ids"], m["block_ends"], data[f"states_{i}"])
            for i, m in enumerate(meta)
        ]
