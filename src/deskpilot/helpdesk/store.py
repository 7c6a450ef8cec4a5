"""Conversations, tickets, escalations and feedback in the database (nothing important lives in memory).

Every escalated conversation becomes a ticket with the transcript and a hand-off packet (summary, sources
tried, confidence, reasons), which agents claim and resolve from the escalation queue.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from deskpilot.assist.answer import Answer
from deskpilot.assist.conversation import Caller
from deskpilot.db import iso, retry_transient
from deskpilot.errors import InvalidInputError, NotFoundError
from deskpilot.helpdesk.models import (
    ConversationRow,
    EscalationRow,
    EventRow,
    FeedbackRow,
    MessageRow,
    TicketMessageRow,
    TicketRow,
    now,
)
from deskpilot.helpdesk.records import Escalation, QueuedEscalation, Ticket, TicketMessage, TicketSummary

HISTORY_TURNS = 8
TICKET_STATUSES = ("open", "pending", "solved")
ESCALATION_STATUSES = ("open", "claimed", "resolved")
DOWN_TO_ESCALATE = 2  # answers of one conversation rated down before a human takes over


@dataclass(frozen=True)
class Conversation:
    """A conversation and its turns ({role, content}, oldest first)."""

    id: str
    role: str
    ticket_id: int | None
    turns: list[dict[str, Any]]

    @property
    def history(self) -> list[dict[str, str]]:
        """The last turns as the assistant's history."""
        return [{"role": t["role"], "content": t["content"]} for t in self.turns[-HISTORY_TURNS:]]


def _subject(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= 120 else line[:117].rsplit(" ", 1)[0] + "…"


class HelpdeskStore:
    """Database operations of the service; each method is one transaction."""

    def __init__(self, sessions: sessionmaker, handoffs_per_hour: int = 0,  # type: ignore[type-arg]
                 redact: Callable[[str], str] | None = None) -> None:
        """handoffs_per_hour: new hand-off tickets one network origin may open an hour (0: no limit); past it, a
        conversation's hand-off joins the origin's latest ticket. redact: applied to a turn's words before they are
        stored (ops.redact_stored)."""
        self._sessions = sessions
        self._handoffs_per_hour = handoffs_per_hour
        self._redact = redact

    # -- conversations ------------------------------------------------------------------------------

    @retry_transient
    def conversation(self, conversation_id: str, key_id: str | None = None, visitor: str | None = None) -> Conversation:
        """A stored conversation. A customer key only reaches the conversations it started, and a visitor of the
        shared widget key only its own.

        Raises:
            NotFoundError: unknown id (or another key's or visitor's conversation).
        """
        with self._sessions() as session:
            row = session.get(ConversationRow, conversation_id)
            if row is None or not _owned(row, key_id, visitor):
                raise NotFoundError(f"no conversation {conversation_id!r}")
            messages = session.scalars(select(MessageRow).where(MessageRow.conversation_id == row.id)
                                       .order_by(MessageRow.id)).all()
            turns = [{"role": m.role, "content": m.content, "at": iso(m.created_at), **(m.meta or {})} for m in messages]
            return Conversation(row.id, row.role, row.ticket_id, turns)

    @staticmethod
    def new_conversation_id() -> str:
        """An id for a conversation that starts now; unguessable (it is what the widget holds). The
        conversation is stored with its first turn (one write per question, not two)."""
        return secrets.token_hex(16)

    @retry_transient
    def record_turn(self, conversation_id: str, question: str, answer: Answer,
                    starting: Caller | None = None) -> int | None:
        """Store the question and the answer; an escalated answer opens (or updates) its ticket.

        Args:
            starting: who starts the conversation, when this is its first turn.

        Returns:
            The ticket id when the conversation is (now) with a human, else None.
        """
        if self._redact is not None:
            question, answer = self._redacted(question, answer)
        meta = {"citations": [c.as_json() for c in answer.citations], "decision": answer.decision,
                "reasons": answer.reasons, "confidence": answer.confidence, "language": answer.language,
                "triggers": [t.as_json() for t in answer.triggers]}
        with self._sessions.begin() as session:
            row = session.get(ConversationRow, conversation_id)
            if row is None and starting is not None:
                row = ConversationRow(id=conversation_id, key_id=starting.key_id, role=starting.role,
                                      visitor=starting.visitor, origin=starting.origin)
                session.add(row)
            if row is None:
                raise NotFoundError(f"no conversation {conversation_id!r}")
            session.add(MessageRow(conversation_id=conversation_id, role="user", content=question))
            session.add(MessageRow(conversation_id=conversation_id, role="assistant", content=answer.answer,
                                   meta=meta))
            row.updated_at = now()
            row.language = answer.language
            event = _answer_event(row, question, answer)
            session.add(event)
            if answer.decision != "escalate":
                return row.ticket_id
            sources = [{"source_id": c.source_id, "title": c.title, "url": c.url}
                       for c in {c.source_id: c for c in answer.retrieved}.values()][:5]
            event.ticket_id = self._escalate(session, row, question, answer.reasons, answer.confidence, sources,
                                             triggers=[t.as_json() for t in answer.triggers])
            return event.ticket_id

    @retry_transient
    def handoff(self, conversation_id: str, key_id: str | None, reason: str = "", visitor: str | None = None) -> int:
        """The customer asks for a human: open (or reuse) the conversation's ticket."""
        with self._sessions.begin() as session:
            row = session.get(ConversationRow, conversation_id)
            if row is None or not _owned(row, key_id, visitor):
                raise NotFoundError(f"no conversation {conversation_id!r}")
            first = session.scalar(select(MessageRow.content).where(MessageRow.conversation_id == row.id,
                                                                    MessageRow.role == "user").order_by(MessageRow.id))
            reason = self._redact(reason) if self._redact is not None and reason else reason
            note = f"Customer asked for a human{': ' + reason if reason else ''}."
            ticket_id = self._escalate(session, row, first or note, ["user_requested_human"], 0.0, [], note=note)
            session.add(EventRow(kind="handoff", conversation_id=row.id, ticket_id=ticket_id, key_id=row.key_id,
                                 role=row.role, language=row.language, decision="escalate",
                                 reasons=["user_requested_human"], question=first or "", detail={"reason": reason}))
            return ticket_id

    def _redacted(self, question: str, answer: Answer) -> tuple[str, Answer]:
        """The turn as it is kept: every text the customer wrote, or that repeats it, redacted."""
        assert self._redact is not None
        r = self._redact
        triggers = [replace(t, sentence=r(t.sentence)) for t in answer.triggers]
        return r(question), replace(answer, answer=r(answer.answer), standalone=r(answer.standalone),
                                    translation=r(answer.translation), draft=r(answer.draft), triggers=triggers)

    def _throttled(self, session: Session, row: ConversationRow) -> TicketRow | None:
        """The latest hand-off ticket of the conversation's network origin when that origin opened
        `handoffs_per_hour` of them in the last hour (a widget visitor can make up any number of visitor tokens,
        not of addresses); None when a new ticket may be opened."""
        if not row.origin or not self._handoffs_per_hour:
            return None
        since = datetime.now(UTC) - timedelta(hours=1)
        recent = session.scalars(
            select(TicketRow).join(ConversationRow, ConversationRow.id == TicketRow.conversation_id)
            .where(ConversationRow.origin == row.origin, TicketRow.source == "escalation", TicketRow.created_at >= since)
            .order_by(TicketRow.id.desc()).limit(self._handoffs_per_hour)).all()
        return recent[0] if len(recent) >= self._handoffs_per_hour else None

    def _escalate(self, session: Session, row: ConversationRow, question: str, reasons: Sequence[str],
                  confidence: float, sources: list[dict[str, str]], note: str = "",
                  triggers: Sequence[dict[str, Any]] = ()) -> int:
        messages = session.scalars(select(MessageRow).where(MessageRow.conversation_id == row.id)
                                   .order_by(MessageRow.id)).all()
        transcript = [(("customer" if m.role == "user" else "assistant"), m.content) for m in messages]
        if note:
            transcript.append(("note", note))
        user_turns = [m.content for m in messages if m.role == "user"]
        summary = (f"Customer asked: {_subject(user_turns[0]) if user_turns else _subject(question)}"
                   + (f" Latest: {_subject(user_turns[-1])}" if len(user_turns) > 1 else "")
                   + f" Escalated because: {_why(reasons, triggers)}.")
        ticket = session.get(TicketRow, row.ticket_id) if row.ticket_id else None
        if ticket is None:
            ticket = self._throttled(session, row)
            if ticket is not None:  # joined to the origin's latest ticket: the queue is not flooded, nothing is lost
                row.ticket_id = ticket.id
                session.add(TicketMessageRow(  # belongs to no conversation: it is not counted as one's message
                    ticket_id=ticket.id, role="note", conversation_id="",
                    content=f"Another conversation from the same network origin ({row.id}) joins this ticket: "
                            f"{self._handoffs_per_hour} hand-offs in the last hour came from there."))
        if ticket is None:
            ticket = TicketRow(subject=_subject(question) or "Conversation with the assistant", source="escalation",
                               language=row.language, conversation_id=row.id)
            session.add(ticket)
            session.flush()
            row.ticket_id = ticket.id
            session.add_all(TicketMessageRow(ticket_id=ticket.id, role=r, content=c, conversation_id=row.id)
                            for r, c in transcript)
        else:
            origin = TicketMessageRow.conversation_id
            # messages copied before they named their conversation belong to the ticket's own conversation
            mine = or_(origin == row.id, origin.is_(None)) if ticket.conversation_id == row.id else origin == row.id
            existing = session.scalar(select(func.count()).select_from(TicketMessageRow)
                                      .where(TicketMessageRow.ticket_id == ticket.id, mine)) or 0
            session.add_all(TicketMessageRow(ticket_id=ticket.id, role=r, content=c, conversation_id=row.id)
                            for r, c in transcript[existing:])
            ticket.status, ticket.updated_at = "open", now()
        escalation = session.get(EscalationRow, ticket.id)
        if escalation is None:
            session.add(EscalationRow(ticket_id=ticket.id, conversation_id=row.id, question=question,
                                      reasons=list(reasons), confidence=confidence, summary=summary,
                                      sources_tried=sources, triggers=list(triggers)))
        else:
            merged = list(dict.fromkeys([*escalation.reasons, *reasons]))
            escalation.reasons, escalation.summary, escalation.updated_at = merged, summary, now()
            if triggers:  # a new list: the JSON column is written when it is assigned, not when it is changed
                escalation.triggers = [*escalation.triggers, *triggers]
            if escalation.status == "resolved":
                escalation.status, escalation.claimed_by = "open", None
        return ticket.id

    # -- tickets ------------------------------------------------------------------------------------

    @retry_transient
    def create_ticket(self, subject: str, body: str, language: str = "") -> int:
        """A ticket opened through the API (an agent or an integration)."""
        if not body.strip():
            raise InvalidInputError("the ticket body is empty")
        with self._sessions.begin() as session:
            ticket = TicketRow(subject=_subject(subject or body), language=language, source="api")
            session.add(ticket)
            session.flush()
            session.add(TicketMessageRow(ticket_id=ticket.id, role="customer", content=body))
            return ticket.id

    @retry_transient
    def ticket(self, ticket_id: int) -> Ticket:
        """A ticket with its messages and hand-off packet.

        Raises:
            NotFoundError: unknown id.
        """
        with self._sessions() as session:
            ticket = session.get(TicketRow, ticket_id)
            if ticket is None:
                raise NotFoundError(f"no ticket {ticket_id}")
            messages = session.scalars(select(TicketMessageRow).where(TicketMessageRow.ticket_id == ticket_id)
                                       .order_by(TicketMessageRow.id)).all()
            escalation = session.get(EscalationRow, ticket_id)
            return Ticket(id=ticket.id, subject=ticket.subject, status=ticket.status, language=ticket.language,
                          source=ticket.source, conversation_id=ticket.conversation_id, created_at=ticket.created_at,
                          updated_at=ticket.updated_at,
                          messages=[TicketMessage(role=m.role, content=m.content, at=m.created_at) for m in messages],
                          escalation=Escalation.model_validate(escalation) if escalation else None)

    @retry_transient
    def tickets(self, status: str | None = None, limit: int = 100) -> list[TicketSummary]:
        """Tickets, newest first."""
        query = select(TicketRow).order_by(TicketRow.id.desc()).limit(max(1, min(limit, 500)))
        if status:
            query = query.where(TicketRow.status == status)
        with self._sessions() as session:
            return [TicketSummary.model_validate(t) for t in session.scalars(query)]

    # -- escalations --------------------------------------------------------------------------------

    @retry_transient
    def escalations(self, status: str | None = "open", limit: int = 100) -> list[QueuedEscalation]:
        """The human queue, oldest first."""
        packet = [getattr(EscalationRow, name) for name in Escalation.model_fields]  # the columns of the same names
        query = select(*packet, TicketRow.subject).join(TicketRow, TicketRow.id == EscalationRow.ticket_id)
        if status:
            query = query.where(EscalationRow.status == status)
        query = query.order_by(EscalationRow.created_at, EscalationRow.ticket_id).limit(max(1, min(limit, 500)))
        with self._sessions() as session:
            return [QueuedEscalation.model_validate(row) for row in session.execute(query)]

    @retry_transient
    def claim(self, ticket_id: int, agent: str) -> Escalation:
        """An agent takes an escalation (a claimed one can be taken over; a resolved one cannot)."""
        with self._sessions.begin() as session:
            escalation = session.get(EscalationRow, ticket_id)
            if escalation is None:
                raise NotFoundError(f"no escalation for ticket {ticket_id}")
            if escalation.status == "resolved":
                raise InvalidInputError(f"the escalation of ticket {ticket_id} is already resolved")
            escalation.status, escalation.claimed_by, escalation.updated_at = "claimed", agent, now()
            return Escalation.model_validate(escalation)

    @retry_transient
    def resolve(self, ticket_id: int, agent: str, note: str = "") -> Escalation:
        """Close an escalation and its ticket."""
        with self._sessions.begin() as session:
            escalation = session.get(EscalationRow, ticket_id)
            if escalation is None:
                raise NotFoundError(f"no escalation for ticket {ticket_id}")
            escalation.status, escalation.note, escalation.updated_at = "resolved", note, now()
            escalation.claimed_by = escalation.claimed_by or agent
            ticket = session.get(TicketRow, ticket_id)
            if ticket is not None:
                ticket.status, ticket.updated_at = "solved", now()
                if note:
                    session.add(TicketMessageRow(ticket_id=ticket_id, role="note", content=note))
            return Escalation.model_validate(escalation)

    # -- feedback -----------------------------------------------------------------------------------

    @retry_transient
    def feedback(self, target: str, rating: str, key_id: str, comment: str = "", conversation_id: str | None = None,
                 message_index: int | None = None, ticket_id: int | None = None) -> int:
        """Store feedback on an answer (conversation + assistant turn index) or on a ticket's draft/summary."""
        with self._sessions.begin() as session:
            if conversation_id is not None:
                if session.get(ConversationRow, conversation_id) is None:
                    raise NotFoundError(f"no conversation {conversation_id!r}")
                answers = session.scalar(select(func.count()).select_from(MessageRow).where(
                    MessageRow.conversation_id == conversation_id, MessageRow.role == "assistant")) or 0
                if message_index is not None and not 0 <= message_index < answers:
                    raise NotFoundError(f"conversation {conversation_id!r} has no answer {message_index}")
            if ticket_id is not None and session.get(TicketRow, ticket_id) is None:
                raise NotFoundError(f"no ticket {ticket_id}")
            row = FeedbackRow(target=target, rating=rating, comment=comment[:4000], conversation_id=conversation_id,
                              message_index=message_index, ticket_id=ticket_id, key_id=key_id)
            session.add(row)
            session.flush()
            if target == "answer" and rating == "down" and conversation_id is not None:
                self._escalate_when_unhelped(session, conversation_id)
            return row.id

    def _escalate_when_unhelped(self, session: Session, conversation_id: str) -> None:
        """A customer who rated DOWN_TO_ESCALATE answers of a conversation down gets a human."""
        conversation = session.get(ConversationRow, conversation_id)
        if conversation is None or conversation.ticket_id is not None:
            return
        downs = session.scalar(select(func.count()).select_from(FeedbackRow).where(
            FeedbackRow.conversation_id == conversation_id, FeedbackRow.target == "answer",
            FeedbackRow.rating == "down")) or 0
        if downs < DOWN_TO_ESCALATE:
            return
        first = session.scalar(select(MessageRow.content).where(MessageRow.conversation_id == conversation_id,
                                                                MessageRow.role == "user").order_by(MessageRow.id))
        trigger = {"reason": "negative_sentiment", "sub_reason": "answer_not_helpful", "layer": "feedback",
                   "sentence": f"{downs} answers rated unhelpful", "score": 1.0}
        self._escalate(session, conversation, first or "", ["negative_sentiment"], 0.0, [],
                       note=f"The customer rated {downs} answers unhelpful.", triggers=[trigger])

    # -- agent tool usage ---------------------------------------------------------------------------

    @retry_transient
    def record_event(self, kind: str, target: str, key_id: str, ticket_id: int | None = None,
                     detail: dict[str, Any] | None = None) -> int:
        """An agent tool's output shown to an agent (`shown`) or copied by one (`copied`).

        Raises:
            NotFoundError: unknown ticket id.
        """
        with self._sessions.begin() as session:
            if ticket_id is not None and session.get(TicketRow, ticket_id) is None:
                raise NotFoundError(f"no ticket {ticket_id}")
            row = EventRow(kind=kind, target=target, key_id=key_id, role="agent", ticket_id=ticket_id,
                           detail=detail or {})
            session.add(row)
            session.flush()
            return row.id


def _answer_event(row: ConversationRow, question: str, answer: Answer) -> EventRow:
    """The analytics event of one answered (or escalated) question."""
    detail = {"cited": [c.source_id for c in answer.citations],
              "retrieved": list(dict.fromkeys(c.source_id for c in answer.retrieved))[:5],
              "standalone": answer.standalone if answer.standalone != question else "",
              "translation": answer.translation,
              "draft": answer.draft if answer.decision == "escalate" else "",
              "first_token_ms": answer.timings.get("first_token_ms"),
              "triggers": [t.as_json() for t in answer.triggers]}
    return EventRow(kind="answer", target="answer", conversation_id=row.id, key_id=row.key_id, role=row.role,
                    language=answer.language, decision=answer.decision, reasons=list(answer.reasons),
                    confidence=answer.confidence, latency_ms=answer.timings.get("total_ms"), question=question,
                    detail=detail)


def _owned(row: ConversationRow, key_id: str | None, visitor: str | None) -> bool:
    """Staff (key_id None) reach every conversation; a customer key its own, a widget visitor only its own."""
    return key_id is None or (row.key_id == key_id and (row.visitor or None) == (visitor or None))


def _why(reasons: Sequence[str], triggers: Sequence[dict[str, Any]]) -> str:
    """`sensitive_topic (account compromise): “the sentence”; …`, or the reasons when nothing was detected."""
    described = [f"{t['reason']}" + (f" ({str(t['sub_reason']).replace('_', ' ')})" if t.get("sub_reason") else "")
                 + f": \u201c{str(t.get('sentence', ''))[:160]}\u201d" for t in triggers]
    return "; ".join(described) or ", ".join(reasons) or "customer request"
