"""The soak's report: answers by kind and status, what went wrong, latency, and RSS over the run."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from inferenceguard.bench.soak_traffic import Outcome

NEVER = ("INTERNAL", "UNKNOWN")


def percentile(values: Sequence[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def report(
    outcomes: Sequence[tuple[float, Outcome]],
    rss: Sequence[tuple[float, float]],
    started: float,
    terminated_at: float,
    reloaded: bool,
    exit_code: int,
) -> dict[str, Any]:
    answers = [o for _, o in outcomes]
    drained = [o for at, o in outcomes if at >= terminated_at]
    normal = [o for o in answers if o.kind == "normal" and o.code == "OK"]
    first_chunks = [o.first_chunk_s for o in normal if o.first_chunk_s is not None]
    half = [mib for at, mib in rss if at >= started + (terminated_at - started) / 2]
    problems = [p for o in answers for p in o.problems]
    return {
        "minutes": round((terminated_at - started) / 60, 2),
        "requests": len(answers),
        "internal_errors": sum(o.code in NEVER for o in answers),
        "unchecked_text": sum(o.unchecked_text for o in answers),
        "problems": len(problems),
        "problem_examples": sorted(set(problems))[:5],
        "by_kind": {
            kind: dict(Counter(o.code for o in answers if o.kind == kind)) for kind in sorted({o.kind for o in answers})
        },
        "codes": dict(Counter(o.code for o in answers)),
        "finish_reasons": dict(Counter(o.finish_reason for o in answers if o.finish_reason)),
        "tenants": dict(Counter(o.tenant for o in answers)),
        "p50_s": round(percentile([o.seconds for o in normal], 50), 2),
        "p95_s": round(percentile([o.seconds for o in normal], 95), 2),
        "first_chunk_p50_s": round(percentile(first_chunks, 50), 2),
        "first_chunk_p95_s": round(percentile(first_chunks, 95), 2),
        "rss_start_mib": round(rss[0][1], 1),
        "rss_end_mib": round(rss[-1][1], 1),
        "rss_max_mib": round(max(mib for _, mib in rss), 1),
        "rss_growth_mib": round(rss[-1][1] - rss[0][1], 1),
        "rss_growth_second_half_mib": round(half[-1] - half[0], 1) if half else 0.0,
        "reload_ok": reloaded,
        "during_drain": dict(Counter(o.finish_reason or o.code for o in drained)),
        "exit_code": exit_code,
    }


def format_report(result: dict[str, Any], out: Callable[[str], None]) -> None:
    out(f"soak: {result['requests']} answers in {result['minutes']} min; exit code {result['exit_code']}")
    out(f"  INTERNAL/UNKNOWN: {result['internal_errors']}   unchecked text: {result['unchecked_text']}   "
        f"malformed or unexpected: {result['problems']} {result['problem_examples']}")  # fmt: skip
    out("  | kind | " + " | ".join(sorted(result["codes"])) + " |")
    out("  |---|" + "---|" * len(result["codes"]))
    for kind, codes in result["by_kind"].items():
        out(f"  | {kind} | " + " | ".join(str(codes.get(c, 0)) for c in sorted(result["codes"])) + " |")
    out(f"  finish reasons: {result['finish_reasons']}; during the drain: {result['during_drain']}")
    out(f"  normal streams: p50 {result['p50_s']} s, p95 {result['p95_s']} s; first chunk p50 "
        f"{result['first_chunk_p50_s']} s, p95 {result['first_chunk_p95_s']} s")  # fmt: skip
    reload = "ok" if result["reload_ok"] else "FAILED"
    out(f"  RSS: {result['rss_start_mib']} -> {result['rss_end_mib']} MiB (max {result['rss_max_mib']}; second half "
        f"{result['rss_growth_second_half_mib']:+} MiB); reload: {reload}")  # fmt: skip
