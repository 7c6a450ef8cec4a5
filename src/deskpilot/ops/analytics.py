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

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from deskpilot.db import retry_transient
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


def _day(timestamp: str) -> str:
    return timestamp[:10]


class Analytics:
    """KPIs from the database; each call reads what it needs in a few queries."""

    def __init__(self, sessions: sessionmaker) -> None:  # type: ignore[type-arg]
        self._sessions = sessions

    @retry_transient
    def kpis(self, period: Period) -> dict[str, Any]:
        """Every KPI of the period (see the module docstring for the definitions)."""
        start, end = period.start, period.end
        with self._sessions() as session:
            conversations = session.execute(
                select(ConversationRow.id, ConversationRow.language, ConversationRow.ticket_id,
                       ConversationRow.created_at)
                .where(ConversationRow.role == "customer", ConversationRow.created_at >= start,
                       ConversationRow.created_at < end)).all()
            started = {c.id for c in conversations}
            outcome = session.execute(
                select(EventRow.conversation_id, EventRow.kind, EventRow.decision)
                .join(ConversationRow, ConversationRow.id == EventRow.conversation_id)
                .where(ConversationRow.role == "customer", ConversationRow.created_at >= start,
                       ConversationRow.created_at < end, EventRow.kind.in_(("answer", "handoff")))).all()
            disliked = set(session.scalars(
                select(FeedbackRow.conversation_id)
                .join(ConversationRow, ConversationRow.id == FeedbackRow.conversation_id)
                .where(ConversationRow.created_at >= start, ConversationRow.created_at < end,
                       FeedbackRow.target == "answer", FeedbackRow.rating == "down")))
            events = session.execute(
                select(EventRow.kind, EventRow.at, EventRow.decision, EventRow.reasons, EventRow.confidence,
                       EventRow.latency_ms, EventRow.target, EventRow.language)
                .where(EventRow.at >= start, EventRow.at < end,
                       (EventRow.role == "customer") | EventRow.kind.in_(("shown", "copied")))).all()
            feedback = session.execute(
                select(FeedbackRow.target, FeedbackRow.rating, FeedbackRow.created_at)
                .where(FeedbackRow.created_at >= start, FeedbackRow.created_at < end)).all()

        answered: set[str] = set()
        escalated: set[str] = set()
        for conversation_id, kind, decision in outcome:
            if kind == "handoff" or decision == "escalate":
                escalated.add(conversation_id)
            elif decision == "answer":
                answered.add(conversation_id)
        with_ticket = {c.id for c in conversations if c.ticket_id is not None} | escalated
        automated = {c for c in answered if c not in escalated and c not in with_ticket and c not in disliked}
        by_day: dict[str, Counter[str]] = {day: Counter() for day in period.days}
        by_language: dict[str, Counter[str]] = defaultdict(Counter)
        for c in conversations:
            for bucket in (by_day.setdefault(_day(c.created_at), Counter()), by_language[c.language or "unknown"]):
                bucket["conversations"] += 1
                bucket["automated"] += c.id in automated
                bucket["escalated"] += c.id in escalated
                bucket["deflected"] += c.id not in with_ticket

        answers = [e for e in events if e.kind == "answer"]
        reasons: Counter[str] = Counter()
        for e in events:
            if e.kind == "handoff" or (e.kind == "answer" and e.decision == "escalate"):
                reasons.update(json.loads(e.reasons or "[]"))
                by_day.setdefault(_day(e.at), Counter())["escalations"] += 1
            if e.kind == "answer":
                by_day.setdefault(_day(e.at), Counter())["answers"] += 1
        escalations = sum(1 for e in events if e.kind == "handoff" or (e.kind == "answer" and e.decision == "escalate"))
        latencies = [e.latency_ms for e in answers if e.latency_ms is not None]
        confidences = [e.confidence for e in answers if e.confidence is not None]
        buckets = [0] * CONFIDENCE_BUCKETS
        for value in confidences:
            buckets[min(CONFIDENCE_BUCKETS - 1, max(0, int(value * CONFIDENCE_BUCKETS)))] += 1

        ratings = Counter((f.target, f.rating) for f in feedback)
        for f in feedback:
            if f.target == "answer":
                by_day.setdefault(_day(f.created_at), Counter())[f"thumbs_{f.rating}"] += 1
        usage = Counter((e.target, e.kind) for e in events if e.kind in ("shown", "copied"))
        up, down = ratings["answer", "up"], ratings["answer", "down"]
        escalated_answers = sum(1 for e in answers if e.decision == "escalate")
        total = len(conversations)
        return {
            "period": period.as_json(),
            "conversations": {
                "started": total, "automated": len(automated), "deflected": total - len(with_ticket),
                "escalated": len(escalated), "with_thumbs_down": len(disliked & started),
                "automation_rate": rate(len(automated), total), "deflection_rate": rate(total - len(with_ticket), total),
                "escalation_rate": rate(len(escalated), total)},
            "answers": {
                "total": len(answers), "escalated": escalated_answers,
                "escalation_rate": rate(escalated_answers, len(answers)),
                "latency_ms": {"p50": percentile(latencies, 50), "p95": percentile(latencies, 95)},
                "confidence": {
                    "mean": round(sum(confidences) / len(confidences), 4) if confidences else None,
                    "buckets": [{"from": i / CONFIDENCE_BUCKETS, "to": (i + 1) / CONFIDENCE_BUCKETS, "count": n}
                                for i, n in enumerate(buckets)]}},
            "escalations": {"total": escalations, "by_reason": dict(reasons.most_common()),
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


def _counts(c: Counter[str]) -> dict[str, int]:
    return {k: c[k] for k in ("conversations", "automated", "escalated", "deflected")}
