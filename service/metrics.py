"""Prometheus metrics (prefix inferenceguard_): requests, queue, time to first chunk, and safety decisions.

Labels carry ids and outcomes only, never prompt or response text.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from inferenceguard.service.engine import GenerationResult

UNKNOWN_TENANT = "unknown"  # the label of a call whose credentials named no tenant
_SECONDS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r, p = self.registry, "inferenceguard_"
        self.duration = Histogram(
            p + "request_duration_seconds", "Time from request to final message", buckets=_SECONDS, registry=r
        )
        self.queue = Histogram(
            p + "request_queue_duration_seconds", "Time waiting for a worker", buckets=_SECONDS, registry=r
        )
        self.ttft = Histogram(
            p + "time_to_first_token_seconds", "Time to the first committed chunk", buckets=_SECONDS, registry=r
        )
        self.running = Gauge(p + "num_requests_running", "Searches running", registry=r)
        self.waiting = Gauge(p + "num_requests_waiting", "Requests waiting for a worker", registry=r)
        self.kv_reserved = Gauge(
            p + "kv_cache_reserved_bytes", "KV-cache bytes reserved by running searches (estimated)", registry=r
        )
        self.rejected = Counter(
            p + "requests_rejected_total", "Requests refused before running", ["reason", "tenant"], registry=r
        )
        self.failures = Counter(
            p + "request_failure_total", "Requests ended by an error status", ["code", "tenant"], registry=r
        )
        self.finished = Counter(
            p + "requests_finished_total", "Finished requests by finish reason", ["reason", "tenant"], registry=r
        )
        self.decisions = Counter(
            p + "safety_decisions_total", "Safety outcome per policy", ["policy", "action"], registry=r
        )
        self.reloads = Counter(p + "reloads_total", "Configuration reloads by result", ["result"], registry=r)
        self.retries = Counter(p + "retries_total", "All-unsafe fallback resamples", registry=r)
        self.blocks = Counter(p + "blocks_expanded_total", "Blocks expanded by the search", registry=r)
        self.critic_calls = Counter(p + "critic_evaluations_total", "Candidates scored by critics", registry=r)
        self.scoring = Histogram(
            p + "scoring_seconds", "Time in cost, reward and critic calls per request", buckets=_SECONDS, registry=r
        )
        self.critic_latency = Histogram(
            p + "critic_seconds", "Time in critic calls per request that used a critic", buckets=_SECONDS, registry=r
        )

    def record(self, result: GenerationResult, tenant: str) -> None:
        reason = result.finish_reason.value
        self.finished.labels(reason, tenant).inc()
        action = "budget_exhausted" if reason == "budget_exhausted" else ("allowed" if result.safe else "over_budget")
        for policy, _version in result.policies:
            self.decisions.labels(policy, action).inc()
        self.retries.inc(result.usage.retries)
        self.blocks.inc(result.usage.blocks)
        self.critic_calls.inc(result.usage.critic_evaluations)
        self.scoring.observe(result.usage.scoring_seconds)
        if result.usage.critic_evaluations:
            self.critic_latency.observe(result.usage.critic_seconds)
        self.duration.observe(result.seconds)
