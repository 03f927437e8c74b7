"""With batching off, a seed gives exactly the outputs the engine gave before the scheduler existed.

tests/data/unbatched_golden.json was written by this file's `main` run against the engine as it was before
searches yielded their calls (commit e361237): `python -m tests.test_unbatched_golden OUT.json`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.engine_helpers import make_engine, run
from tests.scripted import WordCost
from tests.tiny_model import tiny_lm

GOLDEN = Path(__file__).parent / "data" / "unbatched_golden.json"
BANNED = {f"w{i}" for i in range(0, 96, 3)}  # a third of the vocabulary: the fallback fires often

CASES: dict[str, dict[str, Any]] = {
    "sample": {"strategy": "sample", "max_new_tokens": 24, "block_tokens": 8},
    "best_of_n": {"strategy": "best_of_n", "num_candidates": 4, "max_new_tokens": 24, "block_tokens": 8},
    "beam": {"strategy": "beam", "num_candidates": 4, "num_beams": 2, "max_new_tokens": 24, "block_tokens": 8},
    "inferenceguard": {"num_candidates": 4, "num_beams": 2, "max_new_tokens": 24, "block_tokens": 8},
    "inferenceguard_seed7": {"num_candidates": 6, "num_beams": 3, "max_new_tokens": 32, "block_tokens": 4, "seed": 7},
    "args": {"strategy": "args", "args_top_k": 4, "max_new_tokens": 12},
}


def outputs() -> dict[str, Any]:
    lm = tiny_lm()
    found = {}
    for name, options in CASES.items():
        engine = make_engine(lm, WordCost(BANNED), budget=2.0)
        out = run(engine, **options)
        assert out.result is not None
        found[name] = {
            "token_ids": list(out.result.token_ids),
            "finish_reason": out.result.finish_reason.value,
            "chunks": [list(c.token_ids) for c in out.chunks],
            "blocks": len(out.traces),
            "retries": out.result.usage.retries,
            "reward": out.result.reward,
        }
    return found


@pytest.mark.parametrize("name", sorted(CASES))
def test_batching_off_gives_the_outputs_of_before(name: str) -> None:
    golden = json.loads(GOLDEN.read_text())
    assert outputs_once()[name] == golden[name]


_CACHE: dict[str, Any] = {}


def outputs_once() -> dict[str, Any]:
    if not _CACHE:
        _CACHE.update(outputs())
    return _CACHE


def test_the_golden_cases_exercise_the_fallback() -> None:
    golden = json.loads(GOLDEN.read_text())
    assert golden["inferenceguard"]["retries"] + golden["inferenceguard_seed7"]["retries"] > 0


if __name__ == "__main__":
    Path(sys.argv[1]).write_text(json.dumps(outputs(), indent=1) + "\n")
