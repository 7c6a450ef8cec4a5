"""How long customers' words are kept: purge what is older than the retention period.

What holds personal data, and what a purge removes once it was last touched before the cutoff:
- conversations with their messages, feedback and action runs (the widget's and the API's chats);
- analytics events (each holds the question);
- tickets that are solved, with their messages and hand-off packets (open ones stay: an agent needs them);
- webhook deliveries that are over (delivered or failed): they hold the ticket as received and its result.
Kept: the action audit log (its parameters are masked, `j***@example.com`; it is the record of what was done),
API keys, ingestion records and rate counts (no customer text). The index holds tickets redacted at ingestion.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from deskpilot.db import iso, retry_transient
from deskpilot.errors import InvalidInputError
from deskpilot.helpdesk.models import (
    ConversationRow,
    EscalationRow,
    EventRow,
    FeedbackRow,
    MessageRow,
    TicketMessageRow,
    TicketRow,
)
from deskpilot.integrations.models import ActionRunRow, WebhookDeliveryRow

logger = logging.getLogger(__name__)
PURGE_EVERY_S = 24 * 3600


@dataclass
class PurgeReport:
    """Rows removed (or that would be, on a dry run) per table."""

    cutoff: str
    dry_run: bool
    conversations: int = 0
    messages: int = 0
    feedback: int = 0
    action_runs: int = 0
    events: int = 0
    tickets: int = 0
    ticket_messages: int = 0
    escalations: int = 0
    webhook_deliveries: int = 0

    def as_json(self) -> dict[str, Any]:
        """The `deskpilot purge --json` object."""
        return asdict(self)


class Retention:
    """Purges rows older than a number of days, on demand or once a day in the service."""

    def __init__(self, sessions: Callable[[], sessionmaker], days: int) -> None:  # type: ignore[type-arg]
        self._sessions = sessions
        self.days = days
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @retry_transient
    def purge(self, days: int | None = None, dry_run: bool = False, now: datetime | None = None) -> PurgeReport:
        """Remove (or count, with dry_run) what was last touched more than `days` ago (default: the setting),
        in one transaction.

        Raises:
            InvalidInputError: no retention period (0 days, or fewer than 1).
        """
        days = self.days if days is None else days
        if days < 1:
            raise InvalidInputError("no retention period: give --older-than DAYS or set DESKPILOT_OPS__RETENTION_DAYS")
        cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
        report = PurgeReport(iso(cutoff), dry_run)
        with self._sessions().begin() as session:
            conversations = select(ConversationRow.id).where(ConversationRow.updated_at < cutoff)
            tickets = select(TicketRow.id).where(TicketRow.updated_at < cutoff, TicketRow.status == "solved")
            plan = [  # children first
                ("messages", MessageRow, MessageRow.conversation_id.in_(conversations)),
                ("feedback", FeedbackRow, FeedbackRow.conversation_id.in_(conversations) | (FeedbackRow.created_at < cutoff)),
                ("action_runs", ActionRunRow, ActionRunRow.conversation_id.in_(conversations)),
                ("ticket_messages", TicketMessageRow, TicketMessageRow.ticket_id.in_(tickets)),
                ("escalations", EscalationRow, EscalationRow.ticket_id.in_(tickets)),
                ("events", EventRow, EventRow.at < cutoff),
                ("webhook_deliveries", WebhookDeliveryRow, (WebhookDeliveryRow.updated_at < cutoff)
                 & WebhookDeliveryRow.status.in_(("delivered", "failed"))),
                ("tickets", TicketRow, TicketRow.id.in_(tickets)),
                ("conversations", ConversationRow, ConversationRow.id.in_(conversations)),
            ]
            for name, table, condition in plan:
                setattr(report, name, self._apply(session, table, condition, dry_run))
            if dry_run:
                session.rollback()
        logger.info("purge older than %s (%d days)%s: %s", report.cutoff, days, " (dry run)" if dry_run else "",
                    {k: v for k, v in report.as_json().items() if isinstance(v, int) and not isinstance(v, bool) and v})
        return report

    @staticmethod
    def _apply(session: Session, table: Any, condition: Any, dry_run: bool) -> int:
        count = session.scalar(select(func.count()).select_from(table).where(condition)) or 0
        if count and not dry_run:
            session.execute(delete(table).where(condition).execution_options(synchronize_session=False))
        return int(count)

    def start(self) -> None:
        """Purge now and then once a day in the background, when a retention period is set."""
        if self.days < 1 or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="deskpilot-retention", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.purge()
            except Exception:  # a purge that failed (the database away) is tried again tomorrow
                logger.exception("scheduled purge failed")
            self._stop.wait(PURGE_EVERY_S)

    def close(self) -> None:
        """Stop the background purge."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
