"""`inferenceguard prompts write-benign`: the served LM writes benign requests (prompts/lm_written.py)."""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from inferenceguard.service.config import Settings

NEAR_DUPLICATE = 0.9  # MiniLM cosine at or above which a request repeats an earlier one
TEMPERATURE, TOP_P, MAX_TOKENS, BATCH = 0.7, 0.95, 48, 16


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    prompts = subparsers.add_parser("prompts", help="prompt sets")
    actions = prompts.add_subparsers(dest="action", required=True)
    write = actions.add_parser("write-benign", help="the served LM writes benign requests on many topics")
    write.add_argument("--out", type=Path, required=True, help="JSONL to write (id, prompt, category, topic, form)")
    write.add_argument("--samples", type=int, default=3, help="requests asked for per topic and form")
    write.add_argument("--seed", type=int, default=0)
    write.add_argument("--limit", type=int, help="only the first LIMIT commissions (a quick look)")
    write.set_defaults(handler=run_write)


def run_write(args: argparse.Namespace, settings: Settings) -> int:
    from inferenceguard.policies.builtin.minilm import shared_encoder
    from inferenceguard.prompts.catalog import load_prompts
    from inferenceguard.prompts.lm_written import commissions, requests
    from inferenceguard.prompts.splits import normalise
    from inferenceguard.service.runtime import load_language_model

    lm = load_language_model(settings)
    asked = [c for c in commissions()[: args.limit] for _ in range(args.samples)]
    answers = list(zip(asked, _written(lm, asked, args, settings.home), strict=True))
    known = {normalise(r.text) for r in load_prompts(settings.home) if r.source != "lm-written"}
    encoder = shared_encoder(settings.home)
    records = requests(answers, known, lambda texts: near_duplicates(encoder.embed(texts)))
    args.out.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    print(f"prompts: {len(records)} requests from {len(answers)} answers written to {args.out}", file=sys.stderr)
    return 0


def _written(lm: Any, asked: list[Any], args: argparse.Namespace, home: Path) -> list[str]:
    """The LM's raw answers, cached by what was asked, so the filters can change without sampling again."""
    key = hashlib.sha256(json.dumps([[c.topic, c.form] for c in asked] + [args.seed]).encode()).hexdigest()[:12]
    cache = home / "rollouts" / f"lm-written-{key}.json"
    if cache.exists():
        return list(json.loads(cache.read_text()))
    answers = write_requests(lm, [c.messages() for c in asked], args.seed)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(answers))
    return answers


def write_requests(lm: Any, chats: Sequence[list[dict[str, str]]], seed: int) -> list[str]:
    """The LM's answer to each chat, sampled in batches (seed per batch, so a run is reproducible)."""
    import torch
    from tqdm import tqdm

    from inferenceguard.critics.training.rollouts import left_padded, pad_id

    out: list[str] = []
    for start in tqdm(range(0, len(chats), BATCH), desc="writing", unit="batch"):
        encoded = [
            _ids(lm.tokenizer.apply_chat_template(c, add_generation_prompt=True)) for c in chats[start : start + BATCH]
        ]
        input_ids, mask = left_padded(lm, encoded)
        torch.manual_seed(seed * 1_000_003 + start)
        with torch.inference_mode():
            sequences = lm.model.generate(
                input_ids=input_ids.to(lm.device),
                attention_mask=mask.to(lm.device),
                do_sample=True,
                temperature=TEMPERATURE,
                top_p=TOP_P,
                max_new_tokens=MAX_TOKENS,
                pad_token_id=pad_id(lm),
                eos_token_id=sorted(lm.eos_token_ids),
            )
        out += [lm.decode(row) for row in sequences[:, input_ids.shape[1] :].tolist()]
    return out


def _ids(encoded: Any) -> list[int]:
    ids = encoded["input_ids"] if isinstance(encoded, dict) or hasattr(encoded, "input_ids") else encoded
    return [int(i) for i in ids]


def near_duplicates(embeddings: np.ndarray) -> list[int]:
    """Indices of rows whose cosine with an earlier kept row reaches NEAR_DUPLICATE (rows are L2-normalised)."""
    kept: list[int] = []
    dropped = []
    for index in range(len(embeddings)):
        if kept and float((embeddings[kept] @ embeddings[index]).max()) >= NEAR_DUPLICATE:
            dropped.append(index)
        else:
            kept.append(index)
    return dropped
