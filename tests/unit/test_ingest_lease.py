"""One ingestion writes an index at a time, whoever started it; a writer that died does not block the next."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sqlalchemy import text

from deskpilot.db import make_engine, make_sessionmaker
from deskpilot.errors import ConflictError
from deskpilot.ingest.records import WRITER_KEY, IngestRecord


@pytest.fixture(params=["sqlite", "postgres"])
def sessions(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The record's database in SQLite and in PostgreSQL (compare-and-set must hold on both)."""
    url = request.getfixturevalue("postgres")() if request.param == "postgres" else f"sqlite:///{tmp_path / 'db.sqlite'}"
    return make_sessionmaker(make_engine(url))


def test_a_second_writer_is_refused_until_the_first_releases(sessions) -> None:  # type: ignore[no-untyped-def]
    first, second = IngestRecord(sessions), IngestRecord(sessions)
    token = first.acquire_writer()
    with pytest.raises(ConflictError, match="another ingestion is running"):
        second.acquire_writer()
    token = first.renew_writer(token)
    with pytest.raises(ConflictError):
        second.acquire_writer()
    first.release_writer(token)
    second.release_writer(second.acquire_writer())


def test_the_lease_of_a_dead_process_is_taken_over(sessions) -> None:  # type: ignore[no-untyped-def]
    record = IngestRecord(sessions)
    token = record.acquire_writer()
    dead = 2**22 + 1  # above Linux's PID_MAX_LIMIT: no process ever has it (no child process to spawn and reap)
    with sessions.begin() as session:  # the holder was SIGKILLed: its pid no longer runs here
        session.execute(text("UPDATE ingest_meta SET value = :v WHERE key = :k"),
                        {"v": json.dumps({**json.loads(token), "pid": int(dead)}), "k": WRITER_KEY})
    taken = record.acquire_writer()  # no ConflictError: the dead holder's lease is taken over...
    assert json.loads(taken)["pid"] == os.getpid() != int(dead)  # ...and now names this process
    with pytest.raises(ConflictError):  # which holds it like any lease
        IngestRecord(sessions).acquire_writer()
    record.release_writer(taken)


def test_a_lease_not_renewed_in_time_is_taken_over(sessions) -> None:  # type: ignore[no-untyped-def]
    record = IngestRecord(sessions)
    token = record.acquire_writer()
    with sessions.begin() as session:  # a holder on another machine that stopped renewing an hour ago
        held = {**json.loads(token), "host": "elsewhere", "renewed": json.loads(token)["renewed"] - 3600}
        session.execute(text("UPDATE ingest_meta SET value = :v WHERE key = :k"), {"v": json.dumps(held), "k": WRITER_KEY})
    taken = record.acquire_writer()
    assert json.loads(taken)["host"] != "elsewhere"  # the stale lease was taken over by this host
    record.release_writer(taken)
    with sessions.begin() as session:
        held["renewed"] = json.loads(token)["renewed"]  # a live holder elsewhere
        session.execute(text("INSERT INTO ingest_meta (key, value) VALUES (:k, :v)"), {"v": json.dumps(held), "k": WRITER_KEY})
    with pytest.raises(ConflictError, match="elsewhere"):
        record.acquire_writer()
