"""Uncertainty in the eval report: Wilson intervals, exact McNemar tests and the paired comparison."""

from __future__ import annotations

import math

import pytest

from inferenceguard.evaluation.methods import Method
from inferenceguard.evaluation.report import paired_table
from inferenceguard.evaluation.stats import mcnemar_exact, wilson_interval
from inferenceguard.evaluation.summary import paired_against, summarise
from inferenceguard.service.engine import SearchOptions


def test_wilson_interval_matches_the_closed_form_and_stays_inside_zero_one() -> None:
    low, high = wilson_interval(5, 10)
    assert low == pytest.approx(0.2366, abs=1e-4) and high == pytest.approx(0.7634, abs=1e-4)
    assert wilson_interval(0, 10)[0] == 0.0 and 0.2 < wilson_interval(0, 10)[1] < 0.35  # not collapsed at 0%
    assert wilson_interval(10, 10)[1] == 1.0 and wilson_interval(10, 10)[0] < 1.0
    assert wilson_interval(50, 100)[1] - wilson_interval(50, 100)[0] < high - low  # more trials, narrower
    for bad in ((1, 0), (-1, 5), (6, 5)):
        with pytest.raises(ValueError):
            wilson_interval(*bad)


def test_mcnemar_exact_is_the_two_sided_binomial_tail_of_the_discordant_pairs() -> None:
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(10, 0) == pytest.approx(2 / 2**10)
    assert mcnemar_exact(0, 10) == mcnemar_exact(10, 0)  # symmetric
    assert mcnemar_exact(3, 5) == pytest.approx(2 * sum(math.comb(8, k) for k in range(4)) / 2**8)
    assert mcnemar_exact(4, 4) == 1.0
    with pytest.raises(ValueError):
        mcnemar_exact(-1, 2)


def row(method: str, prompt_id: str, kind: str, safe: bool, judge_safe: bool) -> dict[str, object]:
    judge = {"refused": judge_safe, "toxicity": None, "harm": None, "harmful_compliance": not judge_safe}
    return {
        "method": method, "prompt_id": prompt_id, "kind": kind, "category": "", "safe": safe, "cost": 0.0,
        "reward": 1.0, "seconds": 1.0, "finish_reason": "eos", "usage": {"tokens_sampled": 1}, "judge": judge,
    }  # fmt: skip


def test_paired_comparison_counts_only_the_prompts_where_the_two_disagree() -> None:
    rows = [
        row("ref", "h1", "harmful", safe=True, judge_safe=True),
        row("ref", "h2", "harmful", safe=True, judge_safe=False),
        row("ref", "t1", "toxic", safe=True, judge_safe=False),
        row("ref", "b1", "benign", safe=False, judge_safe=False),  # benign prompts are not paired
        row("base", "h1", "harmful", safe=False, judge_safe=False),
        row("base", "h2", "harmful", safe=True, judge_safe=True),
        row("base", "t1", "toxic", safe=False, judge_safe=True),  # toxic: guide only
        row("base", "b1", "benign", safe=True, judge_safe=True),
        row("other", "h1", "harmful", safe=True, judge_safe=True),  # answered one prompt only
        row("unchosen", "h1", "harmful", safe=True, judge_safe=True),  # in the folder, not asked for
    ]
    methods = {name: Method(name, f"title-{name}", SearchOptions(), False) for name in ("base", "other", "ref")}
    paired = paired_against(rows, "ref", methods)
    assert set(paired) == {"base", "other"}  # only the methods asked for
    assert paired["base"]["guide_safe"] | {"p_value": None} == {
        "pairs": 3, "reference_only": 2, "method_only": 0, "p_value": None,
    }  # fmt: skip
    judge = paired["base"]["judge_safe"]
    assert (judge["pairs"], judge["reference_only"], judge["method_only"]) == (2, 1, 1)
    assert judge["p_value"] == 1.0
    assert paired["other"]["judge_safe"]["pairs"] == 1

    markdown = paired_table(paired, methods, "ref")
    assert "| title-base | 2 | 0 | 0.5 | 1 | 1 | 1 |" in markdown
    assert "title-ref" in markdown.splitlines()[0]


def test_the_summary_carries_intervals_around_the_headline_rates() -> None:
    rows = [row("ref", f"h{i}", "harmful", safe=True, judge_safe=i < 3) for i in range(6)]
    metrics = summarise(rows, {"ref": Method("ref", "ref", SearchOptions(), False)})["ref"]
    low, high = metrics["judge_safety_rate_harmful_ci95"]
    assert low < metrics["judge_safety_rate_harmful"] == 0.5 < high
    assert metrics["safety_rate_ci95"][1] == 1.0 and metrics["over_refusal_rate_benign_ci95"] is None
