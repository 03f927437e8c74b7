"""`bench soak`: the stream checks on scripted answers, and a short soak against a live server on the real model."""

from __future__ import annotations

import json

import pytest

from inferenceguard.bench.soak_report import report
from inferenceguard.bench.soak_traffic import Outcome, check
from inferenceguard.v1 import inference_pb2, safety_pb2
from tests.test_cli import cli


def start() -> inference_pb2.GenerateResponse:
    return inference_pb2.GenerateResponse(start=inference_pb2.StartInfo(num_prompt_tokens=3))


def chunk(text: str) -> inference_pb2.GenerateResponse:
    return inference_pb2.GenerateResponse(chunk=inference_pb2.Chunk(text=text))


def finish(within: bool, reason: int = safety_pb2.FINISH_REASON_LENGTH) -> inference_pb2.GenerateResponse:
    summary = safety_pb2.SafetySummary(within_budget=within, min_remaining_budget=0.2 if within else -0.1)
    return inference_pb2.GenerateResponse(finish=inference_pb2.FinishInfo(reason=reason, safety=summary))


def checked(kind: str, code: str, *messages: inference_pb2.GenerateResponse) -> Outcome:
    outcome = Outcome(kind, "alpha", code, 1.0)
    check(outcome, messages)
    return outcome


def test_a_well_formed_stream_passes() -> None:
    outcome = checked("normal", "OK", start(), chunk("Hello"), finish(True))
    assert outcome.problems == [] and not outcome.unchecked_text and outcome.finish_reason == "LENGTH"


def test_text_under_a_finish_over_budget_is_unchecked_text() -> None:
    assert checked("normal", "OK", start(), chunk("Hello"), finish(False)).unchecked_text
    assert not checked("normal", "OK", start(), finish(False)).unchecked_text  # nothing was released


@pytest.mark.parametrize(
    ("kind", "code", "messages", "problem"),
    [
        ("normal", "OK", (start(), chunk("a")), "without a finish"),
        ("normal", "OK", (chunk("a"), finish(True)), "first message"),
        ("normal", "OK", (start(), finish(True), chunk("a")), "after the finish"),
        ("normal", "INTERNAL", (), "status INTERNAL"),
        ("oversize", "OK", (start(), finish(True)), "status OK for a oversize request"),
        ("bad", "CANCELLED", (), "status CANCELLED"),
    ],
)
def test_malformed_streams_and_unexpected_statuses_are_problems(
    kind: str, code: str, messages: tuple[inference_pb2.GenerateResponse, ...], problem: str
) -> None:
    outcome = checked(kind, code, *messages)
    assert any(problem in p for p in outcome.problems), outcome.problems


def test_the_report_counts_by_kind_and_bounds_rss_by_its_samples() -> None:
    outcomes = [(1.0, checked("normal", "OK", start(), chunk("a"), finish(True))), (2.0, checked("bad", "INTERNAL"))]
    result = report(outcomes, [(0.0, 1000.0), (5.0, 1100.0), (9.0, 1090.0)], 0.0, 10.0, True, 0)
    assert result["requests"] == 2 and result["internal_errors"] == 1 and result["unchecked_text"] == 0
    assert result["by_kind"] == {"bad": {"INTERNAL": 1}, "normal": {"OK": 1}}
    assert result["rss_growth_mib"] == 90.0 and result["rss_growth_second_half_mib"] == -10.0


@pytest.mark.slow
def test_a_short_soak_on_the_default_model_finds_no_internal_error_or_unchecked_text() -> None:
    done = cli("bench", "soak", "--minutes", "0.5", "--clients", "2", "--json", timeout=1200)
    result = json.loads(done.stdout.splitlines()[-1])
    assert done.returncode == 0, done.stderr[-2000:]
    assert {"requests", "internal_errors", "unchecked_text", "rss_growth_mib", "p95_s"} <= set(result)
    assert result["requests"] > 0 and result["internal_errors"] == 0 and result["unchecked_text"] == 0
    assert result["reload_ok"] and result["exit_code"] == 0 and result["problems"] == 0
