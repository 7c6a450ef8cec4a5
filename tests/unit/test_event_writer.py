"""Usage events written behind the request: batched, kept while the database is away, bounded, flushed on close."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import func, select

from deskpilot.db import make_engine, make_sessionmaker
from deskpilot.errors import StorageError
from deskpilot.helpdesk.events import EventWriter
from deskpilot.helpdesk.models import EventRow


def count(sessions) -> int:  # type: ignore[no-untyped-def]
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(EventRow)) or 0


def test_events_are_written_together_within_the_interval(tmp_path: Path) -> None:
    sessions = make_sessionmaker(make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}"))
    writer = EventWriter(lambda: sessions, interval=0.2)
    for n in range(5):
        writer.add("shown", "suggestion", "k", n, {"items": [n]})
    assert count(sessions) == 0  # not yet: nothing is written with the request
    deadline = time.monotonic() + 5
    while count(sessions) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert count(sessions) == 5
    with sessions() as session:
        rows = session.scalars(select(EventRow).order_by(EventRow.id)).all()
    assert [r.ticket_id for r in rows] == [0, 1, 2, 3, 4] and rows[0].detail == {"items": [0]}
    writer.add("shown", "draft", "k", 9, {})
    writer.close()  # what is left is written when the service stops
    assert count(sessions) == 6


def test_a_database_that_is_away_keeps_events_pending_up_to_the_limit(tmp_path: Path) -> None:
    sessions = make_sessionmaker(make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}"))
    away = [True]

    def factory():  # type: ignore[no-untyped-def]
        if away[0]:
            raise StorageError("the database is unavailable: connection refused")
        return sessions

    writer = EventWriter(factory, interval=3600, limit=3)
    for n in range(5):
        writer.add("shown", "summary", "k", n, {})
    assert writer.flush() == 0  # kept, not lost
    away[0] = False
    assert writer.flush() == 3  # the newest three: the oldest were dropped past the limit
    with sessions() as session:
        assert [r.ticket_id for r in session.scalars(select(EventRow).order_by(EventRow.id))] == [2, 3, 4]
    assert writer.flush() == 0
