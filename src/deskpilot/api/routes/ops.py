"""Operations: KPIs (`GET /v1/analytics`), the fallback review list and its CSV export, and agent tool usage
reported by the agent console (`POST /v1/events`)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from deskpilot.api.deps import Agent, AnalyticsDep, EventsDep, HelpdeskDep, ReviewDep, Staff
from deskpilot.helpdesk.events import EventWriter
from deskpilot.ops.period import Period, between, since
from deskpilot.ops.review import ReviewList, to_csv

router = APIRouter(prefix="/v1", tags=["operations"])

FROM = Query(None, alias="from", description="First day (YYYY-MM-DD, UTC) or an ISO 8601 time.")
TO = Query(None, alias="to", description="Last day, included (YYYY-MM-DD) or an ISO 8601 time; default now.")
SINCE = Query(None, alias="since", description="Instead of from/to: a duration back from now, e.g. 24h, 7d, 4w.")


def period_of(start: str | None, end: str | None, ago: str | None, default_days: int = 30) -> Period:
    """The period of a report request: `since`, else `from`/`to` (default: the last `default_days` days)."""
    return since(ago) if ago else between(start, end, default_days)


class UsageEvent(BaseModel):
    """An agent copied a tool's output (the console reports it; shown outputs are recorded by the server)."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["copied"] = "copied"
    target: Literal["draft", "summary", "suggestion"]
    ticket_id: int
    source_id: str | None = Field(None, max_length=512, description="The suggestion copied, for target suggestion.")


@router.get("/analytics")
async def analytics(_staff: Staff, events: EventsDep, analytics: AnalyticsDep, start: str | None = FROM, end: str | None = TO,
                    ago: str | None = SINCE) -> dict[str, Any]:
    """KPIs of a period: conversations, automation, deflection, escalations by reason, CSAT, latency,
    confidence, agent tool usage, per language and per day (default: the last 30 days)."""
    period = period_of(start, end, ago)
    await run_in_threadpool(events.flush)
    return await run_in_threadpool(analytics.kpis, period)


def _review(events: EventWriter, review: ReviewList, period: Period, reason: str | None, limit: int) -> list[dict[str, Any]]:
    events.flush()  # a flag may refer to an output shown a moment ago
    return review.items(period, reason or None, limit)  # type: ignore[no-any-return]


@router.get("/review")
async def review(_staff: Staff, events: EventsDep, review: ReviewDep, start: str | None = FROM, end: str | None = TO,
                 ago: str | None = SINCE,
                 reason: str | None = Query(None, max_length=40, description="A routing reason, thumbs_down or agent_flag."),
                 limit: int = Query(500, ge=1, le=5000)) -> dict[str, Any]:
    """Escalated and thumbs-down conversations and agents' flags, newest first (default: the last 7 days)."""
    period = period_of(start, end, ago, default_days=7)
    items = await run_in_threadpool(_review, events, review, period, reason, limit)
    return {"period": period.as_json(), "items": items}


@router.get("/review.csv")
async def review_csv(_staff: Staff, events: EventsDep, review: ReviewDep, start: str | None = FROM, end: str | None = TO,
                     ago: str | None = SINCE, reason: str | None = Query(None, max_length=40),
                     limit: int = Query(5000, ge=1, le=50000)) -> Response:
    """The review list as a CSV file (personal data redacted)."""
    period = period_of(start, end, ago, default_days=7)
    items = await run_in_threadpool(_review, events, review, period, reason, limit)
    name = f"deskpilot-review-{period.start[:10]}-{period.end[:10]}.csv"
    return Response(to_csv(items), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/events", status_code=201)
def usage_event(body: UsageEvent, agent: Agent, helpdesk: HelpdeskDep, request: Request) -> dict[str, Any]:
    """Record that an agent copied a draft, a summary or a suggestion."""
    detail = {"source_id": body.source_id} if body.source_id else {}
    event_id = helpdesk.record_event(body.kind, body.target, agent.key_id, body.ticket_id, detail)
    request.app.state.metrics.agent_outputs.labels(body.target, body.kind).inc()
    return {"id": event_id}
