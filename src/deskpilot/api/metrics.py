"""Prometheus metrics: requests by route and status, latency, answers by decision and reason, queue sizes.

Counters are per worker process (scrape each worker, or run one); gauges are read from the database at
scrape time, so they agree across workers.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.responses import Response


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
        self.open_escalations = Gauge("deskpilot_open_escalations", "Escalations waiting for an agent",
                                      registry=self.registry)
        self.index_chunks = Gauge("deskpilot_index_chunks", "Chunks in the index", registry=self.registry)

    def record(self, scope: MutableMapping[str, Any], status: int, seconds: float) -> None:
        """Count and time one request by its route template (not its raw path)."""
        name = getattr(scope.get("route"), "path", None) or "unmatched"
        method = scope.get("method", "")
        self.requests.labels(name, method, str(status)).inc()
        self.latency.labels(name, method).observe(seconds)

    def answered(self, decision: str, reasons: list[str]) -> None:
        """Record one answer's routing."""
        self.answers.labels(decision).inc()
        for reason in reasons:
            self.reasons.labels(reason).inc()

    def render(self, container: Any) -> Response:
        """The exposition text, with gauges refreshed from the database and the index."""
        try:
            self.open_escalations.set(len(container.helpdesk.escalations("open", 500)))
            self.index_chunks.set(container.store.count())
        except Exception:  # a scrape must not fail because one source is down
            pass
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)
