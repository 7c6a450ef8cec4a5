"""What the helpdesk hands out: tickets with their messages, escalations, ingestion jobs, as pydantic models.

Their JSON is what the API returns (the routes declare them as response models, so /openapi.json shows them).
The stored times are `DateTime` values; they are written as they were when the database kept them as text:
ISO 8601 in UTC, to the second (`2026-12-06T09:30:00+00:00`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from deskpilot.db import iso

Timestamp = Annotated[datetime, PlainSerializer(lambda moment: iso(moment), return_type=str)]


class Record(BaseModel):
    """A stored row as the API shows it (read from the row's attributes of the same names)."""

    model_config = ConfigDict(from_attributes=True)


class TicketMessage(Record):
    """A message on a ticket."""

    role: str = Field(description="customer, agent, assistant, or note (internal)")
    content: str
    at: Timestamp


class Escalation(Record):
    """The hand-off packet of an escalated conversation, and who has it."""

    ticket_id: int
    conversation_id: str | None
    question: str
    reasons: list[str] = Field(description="Why it went to a human, from the fixed list of routing reasons.")
    confidence: float
    summary: str
    sources_tried: list[dict[str, Any]] = Field(description="[{source_id, title, url}]: what the assistant read.")
    triggers: list[dict[str, Any]] = Field(
        description="What showed that a human is needed: [{reason, sub_reason, sentence, layer, score}].")
    status: str = Field(description="open, claimed or resolved")
    claimed_by: str | None
    note: str
    created_at: Timestamp
    updated_at: Timestamp


class QueuedEscalation(Escalation):
    """An escalation in the human queue, with its ticket's subject."""

    subject: str


class TicketSummary(Record):
    """A ticket in a list (its status and source as in `Ticket`)."""

    id: int
    subject: str
    status: str
    created_at: Timestamp
    source: str


class Ticket(Record):
    """A ticket with its messages (oldest first) and, when a conversation was escalated, its hand-off packet."""

    id: int
    subject: str
    status: str = Field(description="open, pending or solved")
    language: str
    source: str = Field(description="escalation (from a conversation), or api")
    conversation_id: str | None
    created_at: Timestamp
    updated_at: Timestamp
    messages: list[TicketMessage]
    escalation: Escalation | None


class IngestJob(Record):
    """A background ingestion: its state, live progress and, when done, its report."""

    id: str
    state: str = Field(description="queued, running, done or failed")
    full: bool
    progress: dict[str, Any] = Field(description="{files_done, files_total, chunks_embedded, current}")
    report: dict[str, Any] | None = Field(description="The same report as `deskpilot ingest --json` (when done).")
    error: str
    created_at: Timestamp
    updated_at: Timestamp
