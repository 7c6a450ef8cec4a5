"""The weekly fallback review: escalated conversations, thumbs-down answers and agents' flags on drafts,
summaries and suggestions, in one list (and a CSV export) with the question, what the assistant said or
withheld, the reasons and the sources.

Personal data is redacted from every free-text field (e-mails, phones, cards, IBANs, IPs, introduced names):
the list is read in review meetings and the CSV travels; the ticket itself keeps the original for agents.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from deskpilot.db import iso, retry_transient
from deskpilot.helpdesk.models import EventRow, FeedbackRow, MessageRow, TicketRow
from deskpilot.ingest.redact import Redactor
from deskpilot.ops.period import Period

KINDS = ("escalation", "thumbs_down", "agent_flag")
CSV_FIELDS = ("at", "kind", "reasons", "confidence", "language", "conversation_id", "ticket_id", "target",
              "question", "response", "withheld_draft", "comment", "sources")


class ReviewList:
    """Builds the review list of a period from events, feedback and the stored turns."""

    def __init__(self, sessions: sessionmaker) -> None:  # type: ignore[type-arg]
        self._sessions = sessions
        self._redactor = Redactor(detect_names=True)

    def _clean(self, text: str | None) -> str:
        return self._redactor.redact(text or "").text

    CLEANED = ("question", "response", "withheld_draft", "comment")  # customers' and agents' words: redacted

    @retry_transient
    def items(self, period: Period, reason: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
        """Review items of the period, newest first.

        Args:
            reason: a routing reason (escalations with it), or `thumbs_down`, or `agent_flag`.
        """
        with self._sessions() as session:
            found = [*self._escalations(session, period), *self._thumbs_down(session, period),
                     *self._flags(session, period)]
        if reason:
            found = [i for i in found if i["kind"] == reason or reason in i["reasons"]]
        found.sort(key=lambda i: i["at"], reverse=True)
        # Redacted after the limit: the period may hold far more rows than are shown (a cost, not a leak).
        return [{**item, **{k: self._clean(item[k]) for k in self.CLEANED}} for item in found[: max(1, limit)]]

    def _escalations(self, session: Any, period: Period) -> Iterable[dict[str, Any]]:
        rows = session.scalars(select(EventRow).where(
            EventRow.at >= period.start, EventRow.at < period.end, EventRow.role == "customer",
            EventRow.kind.in_(("answer", "handoff"))).order_by(EventRow.id))
        for e in rows:
            if e.kind == "answer" and e.decision != "escalate":
                continue
            detail = e.detail or {}
            yield {"kind": "escalation", "at": iso(e.at), "reasons": e.reasons or [],
                   "confidence": e.confidence, "language": e.language, "conversation_id": e.conversation_id,
                   "ticket_id": e.ticket_id, "target": "answer" if e.kind == "answer" else "handoff",
                   "question": (e.question or ""),
                   "response": "" if e.kind == "answer" else (detail.get("reason") or ""),
                   "withheld_draft": (detail.get("draft") or ""), "comment": "",
                   "sources": [{"source_id": s} for s in detail.get("retrieved", [])]}

    def _thumbs_down(self, session: Any, period: Period) -> Iterable[dict[str, Any]]:
        feedback = session.scalars(select(FeedbackRow).where(
            FeedbackRow.created_at >= period.start, FeedbackRow.created_at < period.end,
            FeedbackRow.target == "answer", FeedbackRow.rating == "down").order_by(FeedbackRow.id)).all()
        for f in feedback:
            turns = session.scalars(select(MessageRow).where(MessageRow.conversation_id == f.conversation_id)
                                    .order_by(MessageRow.id)).all()
            answers = [i for i, m in enumerate(turns) if m.role == "assistant"]
            if f.message_index is not None and f.message_index < len(answers):
                at = answers[f.message_index]
            else:  # the latest answer given before the feedback
                earlier = [i for i in answers if turns[i].created_at <= f.created_at]
                at = earlier[-1] if earlier else (answers[-1] if answers else None)
            meta = (turns[at].meta or {}) if at is not None else {}
            question = next((turns[i].content for i in range(at - 1, -1, -1) if turns[i].role == "user"), "") \
                if at is not None else ""
            yield {"kind": "thumbs_down", "at": iso(f.created_at), "reasons": meta.get("reasons", []),
                   "confidence": meta.get("confidence"), "language": meta.get("language", ""),
                   "conversation_id": f.conversation_id, "ticket_id": None, "target": "answer",
                   "question": (question or ""),
                   "response": turns[at].content if at is not None else "", "withheld_draft": "",
                   "comment": (f.comment or ""),
                   "sources": [{"source_id": c.get("source_id"), "title": c.get("title")}
                               for c in meta.get("citations", [])]}

    def _flags(self, session: Any, period: Period) -> Iterable[dict[str, Any]]:
        feedback = session.scalars(select(FeedbackRow).where(
            FeedbackRow.created_at >= period.start, FeedbackRow.created_at < period.end,
            FeedbackRow.target.in_(("draft", "summary", "suggestion")), FeedbackRow.rating == "down")
            .order_by(FeedbackRow.id)).all()
        for f in feedback:
            shown = session.scalars(select(EventRow).where(
                EventRow.kind == "shown", EventRow.target == f.target, EventRow.ticket_id == f.ticket_id,
                EventRow.at <= f.created_at).order_by(EventRow.id.desc()).limit(1)).first()
            output = (shown.detail or {}) if shown is not None else {}
            subject = session.scalar(select(TicketRow.subject).where(TicketRow.id == f.ticket_id)) or ""
            yield {"kind": "agent_flag", "at": iso(f.created_at), "reasons": [], "confidence": None, "language": "",
                   "conversation_id": f.conversation_id, "ticket_id": f.ticket_id, "target": f.target,
                   "question": (subject or ""), "response": (_output_text(f.target, output) or ""),
                   "withheld_draft": "", "comment": (f.comment or ""),
                   "sources": [{"source_id": c.get("source_id"), "title": c.get("title")}
                               for c in output.get("citations", output.get("items", []))]}


def _output_text(target: str, output: dict[str, Any]) -> str:
    """What the agent saw: the draft's reply, the summary's fields, or the suggested titles."""
    if target == "draft":
        return str(output.get("reply", ""))
    if target == "summary":
        return "\n".join(f"{k}: {output[k]}" for k in ("problem", "tried", "status", "next_action", "sentiment")
                         if k in output)
    return "\n".join(f"{i.get('title', '')} ({i.get('source_id', '')})" for i in output.get("items", []))


# Spreadsheets start a formula at = + - @ (also their full-width forms ＝ ＋ － ＠), and some skip leading
# whitespace and line breaks first.
_FORMULA_START = re.compile(r"^[\s\u00a0\u3000]*[=+\-@\uff1d\uff0b\uff0d\uff20]|^[\t\r\n]")


def _cell(value: Any) -> Any:
    """A spreadsheet cannot run what customers typed: text that starts like a formula gets a leading quote."""
    if isinstance(value, str) and _FORMULA_START.match(value):
        return "'" + value
    return "" if value is None else value


def to_csv(items: Iterable[dict[str, Any]]) -> str:
    """The review list as CSV (one row per item; reasons and sources joined with `;`)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    for item in items:
        row = {**item, "reasons": ";".join(item["reasons"]),
               "sources": ";".join(str(s.get("source_id", "")) for s in item["sources"])}
        writer.writerow({k: _cell(row.get(k)) for k in CSV_FIELDS})
    return out.getvalue()
