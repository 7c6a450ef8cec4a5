"""Prometheus metrics: requests by route and status, latency, answers by decision and reason, answer latency and
confidence, feedback, agent tool usage, queue sizes and the helpdesk KPIs of a recent window.

Counters and histograms are per worker process (scrape each worker, or run one); gauges are read from the
database at scrape time, so they agree across workers.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.responses import Response

from deskpilot.ops.period import since


class ServiceMetrics:
    """The registry of one app."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("deskpilot_http_requests_total", "HTTP requests", ["route", "method", "status"],
                                registry=self.registry)
        self.latency = Histogram("deskpilot_http_request_seconds", "HTTP request latency", ["route", "method"],
                                 buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
                                 registry=self.registry)
        self.answers = Counter("deskpilot_answers_total", "Answers by decision", ["decision"], registry=self.registry)
        self.reasons = Counter("deskpilot_escalation_reasons_total", "Escalation reasons", ["reason"],
                               registry=self.registry)
        self.answer_seconds = Histogram("deskpilot_answer_seconds", "Time to a complete answer",
                                        buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60), registry=self.registry)
        self.confidence = Histogram("deskpilot_answer_confidence", "Confidence of answers",
                                    buckets=tuple(i / 10 for i in range(1, 11)), registry=self.registry)
        self.conversations = Counter("deskpilot_conversations_started_total", "Conversations started",
                                     registry=self.registry)
        self.feedback = Counter("deskpilot_feedback_total", "Feedback by target and rating", ["target", "rating"],
                                registry=self.registry)
        self.agent_outputs = Counter("deskpilot_agent_outputs_total", "Agent tool outputs shown and copied",
                                     ["target", "action"], registry=self.registry)
        self.kpi = Gauge("deskpilot_kpi", "Helpdesk KPIs over the last ops.metrics_window_hours, from the database",
                         ["kpi"], registry=self.registry)
        self.open_escalations = Gauge("deskpilot_open_escalations", "Escalations waiting for an agent",
                                      registry=self.registry)
        self.index_chunks = Gauge("deskpilot_index_chunks", "Chunks in the index", registry=self.registry)

    def record(self, scope: MutableMapping[str, Any], status: int, seconds: float) -> None:
        """Count and time one request by its route template (not its raw path)."""
        name = getattr(scope.get("route"), "path", None) or "unmatched"
        method = scope.get("method", "")
        self.requests.labels(name, method, str(status)).inc()
        self.latency.labels(name, method).observe(seconds)

    def answered(self, response: Any, started: bool = False) -> None:
        """Record one answer: routing, confidence, time, and whether it started a conversation."""
        self.answers.labels(response.decision).inc()
        for reason in response.reasons:
            self.reasons.labels(reason).inc()
        self.confidence.observe(response.confidence)
        if "total_ms" in response.timings:
            self.answer_seconds.observe(response.timings["total_ms"] / 1000)
        if started:
            self.conversations.inc()

    def render(self, container: Any) -> Response:
        """The exposition text, with gauges refreshed from the database and the index."""
        try:
            self.open_escalations.set(len(container.helpdesk.escalations("open", 500)))
            self.index_chunks.set(container.store.count())
            container.events.flush()
            kpis = container.analytics.kpis(since(f"{container.settings.ops.metrics_window_hours}h"))
            values = {"conversations_started": kpis["conversations"]["started"],
                      "automation_rate": kpis["conversations"]["automation_rate"],
                      "deflection_rate": kpis["conversations"]["deflection_rate"],
                      "escalation_rate": kpis["answers"]["escalation_rate"], "csat": kpis["csat"]["score"]}
            for name, value in values.items():
                self.kpi.labels(name).set(float("nan") if value is None else value)
        except Exception:  # a scrape must not fail because one source is down
            pass
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)
