"""Tables of the helpdesk side: conversations, tickets, escalations, feedback, ingestion jobs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from deskpilot.db import Base, Json, UtcDateTime, now


class Created:
    """A row's creation time."""

    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)


class Timestamps(Created):
    """A row's creation time and the time it last changed."""

    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)


class Message(Created):
    """A message: who wrote it, what it says and when; `id` orders the messages of a conversation or a ticket."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    role: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text)


class ConversationRow(Timestamps, Base):
    """A customer conversation with the assistant."""

    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(16), index=True)
    role: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8), default="")
    ticket_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    visitor: Mapped[str | None] = mapped_column(String(32), nullable=True)  # the widget visitor it is bound to
    # A widget conversation's network origin (a hash of its address, IPv6 by /64): hand-offs are throttled by it,
    # since one machine can make up any number of visitor tokens.
    origin: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now, index=True)


class MessageRow(Message, Base):
    """One turn of a conversation (user or assistant); an assistant turn keeps its citations, decision and reasons
    in meta."""

    __tablename__ = "messages"

    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    meta: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)


class TicketRow(Timestamps, Base):
    """A support ticket: opened by an escalation, a hand-off request, or through the API."""

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    language: Mapped[str] = mapped_column(String(8), default="")
    source: Mapped[str] = mapped_column(String(16), default="api")
    conversation_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)


class TicketMessageRow(Message, Base):
    """A message on a ticket (customer, agent, assistant, or an internal note)."""

    __tablename__ = "ticket_messages"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    # The conversation a copied message came from (a ticket may gather several conversations of one origin).
    conversation_id: Mapped[str | None] = mapped_column(String(32), nullable=True)


class EscalationRow(Timestamps, Base):
    """The hand-off packet of an escalated conversation: why, how sure, what was tried; and who has it."""

    __tablename__ = "escalations"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    conversation_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    question: Mapped[str] = mapped_column(Text, default="")
    reasons: Mapped[list[str]] = mapped_column(Json, default=list)
    confidence: Mapped[float] = mapped_column(default=0.0)
    summary: Mapped[str] = mapped_column(Text, default="")
    sources_tried: Mapped[list[dict[str, Any]]] = mapped_column(Json, default=list)  # [{source_id, title, url}]
    # Why a human is needed: [{reason, sub_reason, sentence, layer, score}] from the escalation detector.
    triggers: Mapped[list[dict[str, Any]]] = mapped_column(Json, default=list, server_default="[]")
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    claimed_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")


class FeedbackRow(Base):
    """Thumbs up/down on an answer, or an agent's flag on a draft, summary or suggestion."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    target: Mapped[str] = mapped_column(String(16))
    rating: Mapped[str] = mapped_column(String(8))
    comment: Mapped[str] = mapped_column(Text, default="")
    conversation_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    message_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    ticket_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    key_id: Mapped[str] = mapped_column(String(16), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now, index=True)


class EventRow(Base):
    """What happened, for analytics: an answer (its routing, confidence, latency, sources), a customer's
    hand-off request, or an agent tool's output shown to or copied by an agent.

    KPIs, the review list, content gaps and citation counts are computed from these rows (and from
    conversations and feedback), never from memory, so every worker and every database agrees.
    """

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # answer | handoff | shown | copied
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=now, index=True)
    target: Mapped[str] = mapped_column(String(16), default="")  # answer | draft | summary | suggestion
    conversation_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    ticket_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    key_id: Mapped[str] = mapped_column(String(16), default="")
    role: Mapped[str] = mapped_column(String(16), default="")
    language: Mapped[str] = mapped_column(String(8), default="")
    decision: Mapped[str] = mapped_column(String(16), default="")
    reasons: Mapped[list[str]] = mapped_column(Json, default=list)
    confidence: Mapped[float | None] = mapped_column(nullable=True)
    latency_ms: Mapped[float | None] = mapped_column(nullable=True)
    question: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)


class IngestJobRow(Timestamps, Base):
    """A background ingestion started from the API; its progress and report live here, not in memory."""

    __tablename__ = "ingest_jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default="queued")
    full: Mapped[bool] = mapped_column(default=False)
    progress: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    report: Mapped[dict[str, Any] | None] = mapped_column(Json(none_as_null=True), nullable=True)
    error: Mapped[str] = mapped_column(Text, default="")
    key_id: Mapped[str] = mapped_column(String(16), default="")


class RateCountRow(Base):
    """Requests counted per rate-limit bucket (an API key, or the widget key and an address) and minute,
    so that every worker enforces the same limit."""

    __tablename__ = "rate_counts"

    bucket: Mapped[str] = mapped_column(String(200), primary_key=True)
    minute: Mapped[int] = mapped_column(Integer, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
