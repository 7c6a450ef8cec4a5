"""Tables of the integrations: webhook deliveries (idempotent per ticket, with their delivery state) and
actions (a run per proposed action, and an append-only audit log of every call)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from deskpilot.db import Base, Json, UtcDateTime
from deskpilot.helpdesk.models import Timestamps, now


class WebhookDeliveryRow(Timestamps, Base):
    """A new ticket received by `POST /v1/webhooks/ticket`, what was made for it, and its delivery to the
    callback URL (attempts, next try, last error)."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_key: Mapped[str] = mapped_column(String(200), unique=True)  # the sender's ticket id: idempotency
    request_id: Mapped[str | None] = mapped_column(String(100), nullable=True, unique=True)  # replays
    payload_hash: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16), default="received", index=True)
    result: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    callback_url: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True, index=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class ActionRunRow(Timestamps, Base):
    """One action proposed in a conversation: the parameters collected so far and where it stands
    (collecting, confirming, succeeded, failed, cancelled)."""

    __tablename__ = "action_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    action: Mapped[str] = mapped_column(String(100))
    key_id: Mapped[str] = mapped_column(String(16), default="")
    params: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="collecting", index=True)
    result: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)  # {language, attempts, outcome, ...}


class ActionAuditRow(Base):
    """Append-only: every call of an action's endpoint (who, what, when, result)."""

    __tablename__ = "action_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=now, index=True)
    run_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    action: Mapped[str] = mapped_column(String(100))
    key_id: Mapped[str] = mapped_column(String(16), default="")
    conversation_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    params: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)  # masked
    # A hash of the values sent (not the values): calls for one account are counted without keeping its address.
    target: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    outcome: Mapped[str] = mapped_column(String(16))  # succeeded | failed | refused
    http_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    latency_ms: Mapped[float | None] = mapped_column(nullable=True)
    detail: Mapped[str] = mapped_column(Text, default="")
