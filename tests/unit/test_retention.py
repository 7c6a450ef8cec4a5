"""Retention: customers' words older than the period are purged, everything an agent still needs is kept."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, table

from deskpilot.db import make_engine, make_sessionmaker
from deskpilot.errors import InvalidInputError
from deskpilot.helpdesk import models as helpdesk
from deskpilot.integrations.models import ActionAuditRow, ActionRunRow
from deskpilot.ops.retention import Retention

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
OLD, RECENT = datetime(2026, 6, 1, 10, tzinfo=UTC), datetime(2026, 12, 1, 10, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def sessions(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    url = request.getfixturevalue("postgres")() if request.param == "postgres" else f"sqlite:///{tmp_path / 'db.sqlite'}"
    return make_sessionmaker(make_engine(url))


def seed(sessions, when: datetime, prefix: str, status: str = "solved") -> None:  # type: ignore[no-untyped-def]
    conversation = f"{prefix}c"
    with sessions.begin() as session:
        ticket = helpdesk.TicketRow(subject="s", source="escalation", status=status, created_at=when, updated_at=when)
        session.add(ticket)
        session.flush()
        session.add(helpdesk.ConversationRow(id=conversation, key_id="k", role="customer", ticket_id=ticket.id,
                                             created_at=when, updated_at=when))
        session.add_all([
            helpdesk.MessageRow(conversation_id=conversation, role="user", content="my email is a@example.com",
                                created_at=when),
            helpdesk.FeedbackRow(target="answer", rating="down", conversation_id=conversation, key_id="k", created_at=when),
            ActionRunRow(conversation_id=conversation, action="password_reset", key_id="k", created_at=when, updated_at=when),
            ActionAuditRow(at=when, action="password_reset", key_id="k", outcome="succeeded",
                           params={"account": "a***@example.com"}),
            helpdesk.EventRow(kind="answer", at=when, conversation_id=conversation, question="my email is ..."),
            helpdesk.TicketMessageRow(ticket_id=ticket.id, role="customer", content="hello", created_at=when),
            helpdesk.EscalationRow(ticket_id=ticket.id, conversation_id=conversation, question="q", created_at=when,
                                   updated_at=when)])


def counts(sessions) -> dict[str, int]:  # type: ignore[no-untyped-def]
    names = ("conversations", "messages", "feedback", "action_runs", "action_audit", "events", "tickets",
             "ticket_messages", "escalations")
    with sessions() as session:
        return {name: session.scalar(select(func.count()).select_from(table(name))) or 0 for name in names}


def test_what_is_older_than_the_period_goes_and_the_rest_stays(sessions) -> None:  # type: ignore[no-untyped-def]
    seed(sessions, OLD, "old")
    seed(sessions, RECENT, "new")
    seed(sessions, OLD, "open", status="open")  # an agent still works on it: its ticket stays
    retention = Retention(lambda: sessions, 90)
    before = counts(sessions)
    dry = retention.purge(dry_run=True, now=NOW)
    assert dry.dry_run and dry.conversations == 2 and dry.tickets == 1 and counts(sessions) == before
    report = retention.purge(now=NOW)
    assert (report.conversations, report.messages, report.feedback, report.action_runs, report.events) == (2, 2, 2, 2, 2)
    assert (report.tickets, report.ticket_messages, report.escalations) == (1, 1, 1)
    after = counts(sessions)
    assert after["conversations"] == 1 and after["messages"] == 1 and after["events"] == 1
    assert after["tickets"] == 2 and after["escalations"] == 2  # the recent one and the open one
    assert after["action_audit"] == 3  # the audit trail (masked) is kept
    assert retention.purge(now=NOW).conversations == 0  # nothing left to purge


def test_no_period_is_a_clear_error(sessions) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInputError, match="retention period"):
        Retention(lambda: sessions, 0).purge()
