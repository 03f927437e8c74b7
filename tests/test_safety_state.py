import numpy as np
import pytest

from inferenceguard.service.engine.safety_state import BudgetedCost, SafetyStates
from tests.scripted import WordCost


def states(*budgets: float, rows: int = 1) -> SafetyStates:
    return SafetyStates.start([BudgetedCost(WordCost(set()), b) for b in budgets], rows)


def test_starts_at_the_budget_with_zero_cost() -> None:
    s = states(10.0, 2.0, rows=3)
    assert s.z.tolist() == [[10.0, 2.0]] * 3
    assert not s.violating.any()
    assert s.normalised_z().tolist() == [1.0, 1.0, 1.0]


def test_prefix_cost_replaces_and_additive_cost_accumulates() -> None:
    s = states(10.0, 10.0).advance(np.array([[3.0, 3.0]]), additive=[False, True])
    s = s.advance(np.array([[4.0, 4.0]]), additive=[False, True])
    assert s.cumulative.tolist() == [[4.0, 7.0]]
    assert s.z.tolist() == [[6.0, 3.0]]


def test_running_minimum_keeps_a_past_violation_even_if_the_prefix_score_falls() -> None:
    s = states(1.0).advance(np.array([[1.5]]), [False]).advance(np.array([[0.2]]), [False])
    assert s.z[0, 0] == pytest.approx(0.8)
    assert s.min_z[0, 0] == pytest.approx(-0.5)
    assert s.violating.tolist() == [True]


def test_safe_only_if_safe_under_every_cost_function() -> None:
    s = states(1.0, 1.0, rows=2).advance(np.array([[0.5, 1.2], [0.9, 0.9]]), [False, False])
    assert s.violating.tolist() == [True, False]


def test_exactly_at_the_budget_is_within_it() -> None:
    assert not states(1.0).advance(np.array([[1.0]]), [False]).violating[0]


def test_normalised_z_is_the_tightest_ratio() -> None:
    s = states(10.0, 2.0).advance(np.array([[5.0, 1.5]]), [False, False])
    assert s.normalised_z()[0] == pytest.approx(0.25)
    assert s.normalised_z([0])[0] == pytest.approx(0.5)


def test_take_and_concat_select_rows() -> None:
    s = states(1.0, rows=3).advance(np.array([[0.1], [0.2], [0.3]]), [False])
    picked = SafetyStates.concat([s.take([2]), s.take([0, 0])])
    assert picked.cumulative[:, 0].tolist() == [0.3, 0.1, 0.1]
