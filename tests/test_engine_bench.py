"""`bench engine` on the tiny model: any prompt mix can be timed, and the report counts it."""

from __future__ import annotations

from inferenceguard.bench.engine_bench import run_engine_bench
from inferenceguard.service.engine import LanguageModel
from tests.engine_helpers import make_engine


def test_a_prompt_mix_is_timed_for_every_method(lm: LanguageModel) -> None:
    report = run_engine_bench(make_engine(lm), 4, 2, 2, 6, rounds=1, seed=0, prompts=["w1 w2", "w3 w4 w5"])
    assert report["config"]["prompts"] == 2
    assert set(report["methods"]) == {"sample", "floor", "beam", "inferenceguard_no_fallback", "inferenceguard"}
    assert all(row["seconds_per_response"] > 0 for row in report["methods"].values())
    assert report["ratio_ig_over_floor"] > 0
