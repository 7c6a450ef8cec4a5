"""Helpdesk KPIs of a period, computed from stored conversations, events and feedback (SQLite or PostgreSQL).

Definitions (customer conversations only; staff trying the assistant are not counted):

- **started**: customer conversations created in the period. Conversation KPIs follow these conversations to
  their end, also past the period's end.
- **escalated**: the conversation reached a human (an escalated answer or a hand-off request opened a ticket).
- **deflection**: started conversations in which no ticket was created.
- **automation**: started conversations with at least one answer, no escalation, no ticket, and no thumbs-down
  on any of their answers.
- **escalation rate** (answers): escalated answers / answers in the period; reasons count escalated answers
  and hand-off requests in the period (one escalation may have several reasons).
- **CSAT**: thumbs-up / (up + down) of answer feedback given in the period.
- **latency** and **confidence**: over customer answers in the period (nearest-rank percentiles).
- **agent usage**: agent tools' outputs shown (returned to an agent), copied (reported by the agent console)
  and flagged (thumbs-down) in the period, per target (draft, summary, suggestion).
Days are UTC days.
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Text, and_, case, cast, exists, func, or_, select
from sqlalchemy.orm import sessionmaker

from deskpilot.db import retry_transient, utc_day
from deskpilot.helpdesk.models import ConversationRow, EventRow, FeedbackRow
from deskpilot.ops.period import Period

AGENT_TARGETS = ("draft", "summary", "suggestion")
CONFIDENCE_BUCKETS = 10


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile (the smallest value with at least p% of the values at or below it)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def rate(part: int, whole: int) -> float | None:
    """part / whole rounded to 4 places; None when there is nothing to divide."""
    return round(part / whole, 4) if whole else None


class Analytics:
    """KPIs from the database, aggregated by the database: a handful of grouped queries whose results are as
    small as the number of days, languages and reasons, whatever the traffic."""

    def __init__(self, sessions: sessionmaker) -> None:  # type: ignore[type-arg]
        self._sessions = sessions

    @retry_transient
    def kpis(self, period: Period) -> dict[str, Any]:
        """Every KPI of the period (see the module docstring for the definitions)."""
        with self._sessions() as session:
            groups = session.execute(_conversation_groups(period)).all()
            events = session.execute(_event_groups(period)).all()
            sensitive = session.scalars(_sensitive_triggers(period)).all()
            feedback = session.execute(
                select(FeedbackRow.target, FeedbackRow.rating, utc_day(FeedbackRow.created_at), func.count())
                .where(FeedbackRow.created_at >= period.start, FeedbackRow.created_at < period.end)
                .group_by(FeedbackRow.target, FeedbackRow.rating, utc_day(FeedbackRow.created_at))).all()
            answers = _answers_in(period)
            total_answers = session.scalar(select(func.count()).where(answers)) or 0
            latency = {p: _nearest_rank(session, answers, p, total_answers) for p in (50, 95)}
            bucket_counts = session.execute(select(
                func.avg(EventRow.confidence),
                *[func.sum(case((and_(EventRow.confidence >= i / CONFIDENCE_BUCKETS,
                                      EventRow.confidence < (i + 1) / CONFIDENCE_BUCKETS), 1), else_=0))
                  for i in range(CONFIDENCE_BUCKETS - 1)],
                func.sum(case((EventRow.confidence >= (CONFIDENCE_BUCKETS - 1) / CONFIDENCE_BUCKETS, 1), else_=0)),
            ).where(answers, EventRow.confidence.is_not(None))).one()

        by_day: dict[str, Counter[str]] = {day: Counter() for day in period.days}
        by_language: dict[str, Counter[str]] = defaultdict(Counter)
        totals: Counter[str] = Counter()
        for day, language, count, automated, escalated, ticketed, disliked in groups:
            values = {"conversations": count, "automated": automated or 0, "escalated": escalated or 0,
                      "deflected": count - (ticketed or 0), "disliked": disliked or 0}
            for bucket in (by_day.setdefault(day, Counter()), by_language[language or "unknown"], totals):
                bucket.update(values)

        reasons: Counter[str] = Counter()
        usage: Counter[tuple[str, str]] = Counter()
        escalated_answers = escalations = 0
        for day, kind, decision, reason_text, target, count in events:
            if kind in ("shown", "copied"):
                usage[target, kind] += count
                continue
            if kind == "handoff" or decision == "escalate":  # the reasons were grouped as text (below)
                reasons.update({r: count for r in json.loads(reason_text or "[]")})
                by_day.setdefault(day, Counter())["escalations"] += count
                escalations += count
            if kind == "answer":
                by_day.setdefault(day, Counter())["answers"] += count
                escalated_answers += count if decision == "escalate" else 0

        ratings: Counter[tuple[str, str]] = Counter()
        for target, rating, day, count in feedback:
            ratings[target, rating] += count
            if target == "answer":
                by_day.setdefault(day, Counter())[f"thumbs_{rating}"] += count
        mean, *buckets = bucket_counts
        up, down = ratings["answer", "up"], ratings["answer", "down"]
        started, automated, escalated = totals["conversations"], totals["automated"], totals["escalated"]
        return {
            "period": period.as_json(),
            "conversations": {
                "started": started, "automated": automated, "deflected": totals["deflected"], "escalated": escalated,
                "with_thumbs_down": totals["disliked"], "automation_rate": rate(automated, started),
                "deflection_rate": rate(totals["deflected"], started), "escalation_rate": rate(escalated, started)},
            "answers": {
                "total": total_answers, "escalated": escalated_answers,
                "escalation_rate": rate(escalated_answers, total_answers),
                "latency_ms": {"p50": latency[50], "p95": latency[95]},
                "confidence": {
                    "mean": None if mean is None else round(float(mean), 4),
                    "buckets": [{"from": i / CONFIDENCE_BUCKETS, "to": (i + 1) / CONFIDENCE_BUCKETS, "count": int(n or 0)}
                                for i, n in enumerate(buckets)]}},
            "escalations": {"total": escalations, "by_reason": dict(reasons.most_common()),
                            "by_sub_reason": dict(_sub_reasons(sensitive).most_common()),
                            "share": {r: rate(n, escalations) for r, n in reasons.most_common()}},
            "csat": {"up": up, "down": down, "score": rate(up, up + down)},
            "agents": {t: {"shown": usage[t, "shown"], "copied": usage[t, "copied"], "flagged": ratings[t, "down"],
                           "helpful": ratings[t, "up"], "copy_rate": rate(usage[t, "copied"], usage[t, "shown"])}
                       for t in AGENT_TARGETS},
            "by_language": [
                {"language": lang, **_counts(c), "automation_rate": rate(c["automated"], c["conversations"])}
                for lang, c in sorted(by_language.items(), key=lambda kv: (-kv[1]["conversations"], kv[0]))],
            "by_day": [{"day": day, **_counts(c), "answers": c["answers"], "escalations": c["escalations"],
                        "thumbs_up": c["thumbs_up"], "thumbs_down": c["thumbs_down"]}
                       for day, c in sorted(by_day.items())],
        }


# The reasons of an event as their JSON text: PostgreSQL has no equality on `json` values, so they are grouped,
# and searched with LIKE, as text.
_REASONS_TEXT = cast(EventRow.reasons, Text)


def _answers_in(period: Period) -> Any:
    """The WHERE clause of the customers' answers in the period."""
    return and_(EventRow.kind == "answer", EventRow.role == "customer", EventRow.at >= period.start,
                EventRow.at < period.end)


def _nearest_rank(session: Any, answers: Any, p: float, total: int) -> float | None:
    """The p-th percentile answer latency by nearest rank, found by the database (ORDER BY ... OFFSET)."""
    timed = session.scalar(select(func.count()).where(answers, EventRow.latency_ms.is_not(None))) if total else 0
    if not timed:
        return None
    rank = max(1, math.ceil(p / 100 * timed))
    value = session.scalar(select(EventRow.latency_ms).where(answers, EventRow.latency_ms.is_not(None))
                           .order_by(EventRow.latency_ms).offset(rank - 1).limit(1))
    return None if value is None else float(value)


def _conversation_groups(period: Period) -> Any:
    """Customer conversations started in the period, each reduced to its outcome (answered, escalated, ticket,
    thumbs-down), then counted per day and language."""
    outcome = (
        select(ConversationRow.id.label("id"), ConversationRow.language.label("language"),
               utc_day(ConversationRow.created_at).label("day"),
               case((ConversationRow.ticket_id.is_not(None), 1), else_=0).label("ticket"),
               func.coalesce(func.max(case((or_(EventRow.kind == "handoff", EventRow.decision == "escalate"), 1),
                                           else_=0)), 0).label("escalated"),
               func.coalesce(func.max(case((EventRow.decision == "answer", 1), else_=0)), 0).label("answered"),
               case((exists().where(FeedbackRow.conversation_id == ConversationRow.id, FeedbackRow.target == "answer",
                                    FeedbackRow.rating == "down"), 1), else_=0).label("down"))
        .select_from(ConversationRow)
        .outerjoin(EventRow, and_(EventRow.conversation_id == ConversationRow.id,
                                  EventRow.kind.in_(("answer", "handoff"))))
        .where(ConversationRow.role == "customer", ConversationRow.created_at >= period.start,
               ConversationRow.created_at < period.end)
        .group_by(ConversationRow.id, ConversationRow.language, ConversationRow.created_at, ConversationRow.ticket_id)
        .subquery())
    ticketed = case((or_(outcome.c.ticket == 1, outcome.c.escalated == 1), 1), else_=0)
    automated = case((and_(outcome.c.answered == 1, outcome.c.escalated == 0, outcome.c.ticket == 0,
                           outcome.c.down == 0), 1), else_=0)
    return (select(outcome.c.day, outcome.c.language, func.count(), func.sum(automated), func.sum(outcome.c.escalated),
                   func.sum(ticketed), func.sum(outcome.c.down))
            .group_by(outcome.c.day, outcome.c.language))


def _sensitive_triggers(period: Period) -> Any:
    """The triggers (read from the JSON of their details by the database) of the period's customer answers escalated
    for a sensitive topic."""
    return select(EventRow.detail["triggers"]).where(
        EventRow.at >= period.start, EventRow.at < period.end, EventRow.role == "customer", EventRow.kind == "answer",
        EventRow.decision == "escalate", _REASONS_TEXT.like('%"sensitive_topic"%'))


def _sub_reasons(triggers_of_escalations: Sequence[list[dict[str, Any]] | None]) -> Counter[str]:
    """Escalations per sensitive sub-reason (account compromise, billing dispute, ...): each escalation counts once
    for each sub-reason its triggers name."""
    counts: Counter[str] = Counter()
    for triggers in triggers_of_escalations:
        counts.update({t["sub_reason"] for t in triggers or () if t.get("reason") == "sensitive_topic"
                       and t.get("sub_reason")})
    return counts


def _event_groups(period: Period) -> Any:
    """The period's customer answers and hand-offs, and agents' shown/copied outputs, counted per day, kind,
    decision, reasons and target."""
    day = utc_day(EventRow.at)
    return (select(day, EventRow.kind, EventRow.decision, _REASONS_TEXT, EventRow.target, func.count())
            .where(EventRow.at >= period.start, EventRow.at < period.end,
                   or_(and_(EventRow.role == "customer", EventRow.kind.in_(("answer", "handoff"))),
                       EventRow.kind.in_(("shown", "copied"))))
            .group_by(day, EventRow.kind, EventRow.decision, _REASONS_TEXT, EventRow.target))


def _counts(c: Counter[str]) -> dict[str, int]:
    return {k: c[k] for k in ("conversations", "automated", "escalated", "deflected")}
