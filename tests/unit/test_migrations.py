"""Alembic migrations: a fresh database gets the whole schema, an older one is brought up, no drift."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, Table, func, inspect, select, text
from typer.testing import CliRunner

import deskpilot.db
import deskpilot.ingest.records
import deskpilot.keys
from deskpilot.cli import app
from deskpilot.db import Base, downgrade, iso, make_engine, make_sessionmaker, upgrade
from deskpilot.helpdesk.models import EventRow, IngestJobRow
from deskpilot.helpdesk.store import HelpdeskStore
from deskpilot.ingest.records import IngestRecord, SourceRecord
from deskpilot.integrations.models import ActionRunRow, WebhookDeliveryRow
from deskpilot.keys import KeyStore, Principal, hash_key
from deskpilot.ops.analytics import Analytics
from deskpilot.ops.period import between

HEAD = ScriptDirectory(str(Path(deskpilot.db.__file__).parent / "migrations")).get_current_head()


def test_fresh_database_matches_the_models(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    upgrade(engine)
    with engine.connect() as connection:
        assert set(Base.metadata.tables) <= set(inspect(connection).get_table_names())
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD
    upgrade(engine)  # idempotent


def test_database_made_before_migrations_is_completed_and_stamped(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    Base.metadata.tables["ingest_sources"].create(engine)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO ingest_sources (source_id, root, origin, kind, audience, title, "
                                "content_hash, chunk_ids, chunk_count, state, updated_at, ingested_at) VALUES "
                                "('a', 'r', 'o', 'article', 'public', 't', 'h', '[]', 0, 'ok', '', '')"))
    upgrade(engine)
    with engine.connect() as connection:
        assert "tickets" in inspect(connection).get_table_names()
        assert connection.execute(text("SELECT count(*) FROM ingest_sources")).scalar() == 1
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD


def test_workers_starting_together_both_succeed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    errors: list[BaseException] = []

    def start() -> None:
        try:
            upgrade(make_engine(url))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


# Rows as the application wrote them before 0009: times as ISO 8601 text, JSON as text (with the customer's letters).
T1, T2, T3 = "2026-11-02T09:30:00+00:00", "2026-11-02T10:15:07+00:00", "2026-11-02T10:15:07.250001+00:00"
TRIGGER = {"reason": "sensitive_topic", "sub_reason": "account_compromise", "sentence": "Mein Konto wurde gehackt",
           "layer": "lexicon", "score": 1.0}
OLD_ROWS: dict[str, list[dict[str, object]]] = {
    "conversations": [{"id": "c1", "key_id": "k", "role": "customer", "language": "de", "ticket_id": 1,
                       "created_at": T1, "updated_at": T2}],
    "messages": [{"id": 1, "conversation_id": "c1", "role": "user", "content": "Mein Konto wurde gehackt",
                  "meta": "{}", "created_at": T1},
                 {"id": 2, "conversation_id": "c1", "role": "assistant", "content": "Ein Mensch übernimmt.",
                  "meta": json.dumps({"decision": "escalate", "reasons": ["sensitive_topic"]}, ensure_ascii=False),
                  "created_at": T2}],
    "tickets": [{"id": 1, "subject": "Konto gehackt", "status": "open", "language": "de", "source": "escalation",
                 "conversation_id": "c1", "created_at": T2, "updated_at": T2}],
    "ticket_messages": [{"id": 1, "ticket_id": 1, "role": "customer", "content": "Mein Konto wurde gehackt",
                         "created_at": T2, "conversation_id": "c1"}],
    "escalations": [{"ticket_id": 1, "conversation_id": "c1", "question": "Mein Konto wurde gehackt",
                     "reasons": '["sensitive_topic"]', "confidence": 0.0, "summary": "Kunde: gehackt",
                     "sources_tried": '[{"source_id": "a", "title": "Sicherheit", "url": "https://x/a"}]',
                     "triggers": json.dumps([TRIGGER], ensure_ascii=False), "status": "open", "claimed_by": None,
                     "note": "", "created_at": T2, "updated_at": T2}],
    "feedback": [{"id": 1, "target": "answer", "rating": "down", "comment": "", "conversation_id": "c1",
                  "message_index": 0, "ticket_id": None, "key_id": "k", "created_at": T2}],
    "events": [{"id": 1, "kind": "answer", "at": T2, "target": "answer", "conversation_id": "c1", "ticket_id": 1,
                "key_id": "k", "role": "customer", "language": "de", "decision": "escalate",
                "reasons": '["sensitive_topic"]', "confidence": 0.0, "latency_ms": 12.5, "question": "gehackt",
                "detail": json.dumps({"triggers": [TRIGGER]}, ensure_ascii=False)}],
    "ingest_jobs": [{"id": "j1", "state": "done", "full": False, "progress": '{"files_done": 2}', "report": None,
                     "error": "", "key_id": "k", "created_at": T1, "updated_at": T2}],
    "webhook_deliveries": [{"id": 1, "ticket_key": "Z-1", "request_id": None, "payload_hash": "", "status": "ready",
                            "result": '{"draft": {"reply": "Hallo"}}', "callback_url": "", "attempts": 0,
                            "next_attempt_at": T3, "last_error": "", "delivered_at": None, "created_at": T1,
                            "updated_at": T3}],
    "action_runs": [{"id": 1, "conversation_id": "c1", "action": "password_reset", "key_id": "k", "params": "{}",
                     "status": "collecting", "result": "", "created_at": T1, "updated_at": T2}],
    "action_audit": [{"id": 1, "at": T2, "run_id": 1, "action": "password_reset", "key_id": "k",
                      "conversation_id": "c1", "params": '{"account": "m***@example.com"}', "target": None,
                      "outcome": "succeeded", "http_status": 200, "latency_ms": 3.0, "detail": "HTTP 200"}],
}


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return request.getfixturevalue("postgres")() if request.param == "postgres" else f"sqlite:///{tmp_path / 'db.sqlite'}"


def insert(engine: Engine, rows: dict[str, list[dict[str, object]]]) -> None:
    """Rows into tables as they are (reflected: the revision the database is at, not the models)."""
    with engine.begin() as connection:
        metadata = MetaData()
        for name, table_rows in rows.items():
            connection.execute(Table(name, metadata, autoload_with=connection).insert(), table_rows)


def stored(engine: Engine, names: Iterable[str] = OLD_ROWS) -> dict[str, list[dict[str, object]]]:
    """Every row of these tables (OLD_ROWS' by default) as the database holds it now, in primary key order."""
    with engine.connect() as connection:
        metadata = MetaData()
        tables = {name: Table(name, metadata, autoload_with=connection) for name in names}
        return {name: [dict(row._mapping) for row in connection.execute(select(t).order_by(*t.primary_key))]
                for name, t in tables.items()}


def test_rows_of_0008_are_read_typed_after_the_upgrade_and_written_back_by_the_downgrade(url: str) -> None:
    engine = make_engine(url)
    upgrade(engine, "0008")
    insert(engine, OLD_ROWS)
    before = stored(engine)
    upgrade(engine)

    sessions = make_sessionmaker(engine)
    store = HelpdeskStore(sessions)
    ticket = store.ticket(1)
    assert ticket.created_at == datetime(2026, 11, 2, 10, 15, 7, tzinfo=UTC)
    assert ticket.escalation is not None and ticket.escalation.triggers == [TRIGGER]
    assert ticket.escalation.sources_tried == [{"source_id": "a", "title": "Sicherheit", "url": "https://x/a"}]
    # The API's JSON is what it was when the rows were text.
    assert ticket.model_dump(mode="json")["created_at"] == T2 and ticket.model_dump()["messages"][0]["at"] == T2
    assert store.conversation("c1").turns[1] == {"role": "assistant", "content": "Ein Mensch übernimmt.", "at": T2,
                                                 "decision": "escalate", "reasons": ["sensitive_topic"]}
    assert [e.ticket_id for e in store.escalations("open")] == [1]
    with sessions() as session:
        delivery = session.get(WebhookDeliveryRow, 1)
        run = session.get(ActionRunRow, 1)
        assert delivery is not None and run is not None
        assert delivery.next_attempt_at == datetime(2026, 11, 2, 10, 15, 7, 250001, tzinfo=UTC)
        assert delivery.delivered_at is None and delivery.result == {"draft": {"reply": "Hallo"}}
        assert run.result == {}  # an empty text became the empty object
        job = session.get(IngestJobRow, "j1")
        assert job is not None and (job.progress, job.report) == ({"files_done": 2}, None)
        # Periods and cut-offs compare as times: one second after T2 is later, whatever the text looked like.
        assert session.scalar(select(func.count()).select_from(EventRow).where(EventRow.at < "2026-11-02T10:15:08Z")) == 1
    kpis = Analytics(sessions).kpis(between("2026-11-01", "2026-11-30"))
    assert kpis["escalations"]["by_sub_reason"] == {"account_compromise": 1}
    assert [(d["day"], d["answers"], d["conversations"]) for d in kpis["by_day"] if d["answers"]] == [("2026-11-02", 1, 1)]

    engine.dispose()
    downgrade(engine, "0008")
    before["action_runs"][0]["result"] = "{}"
    assert stored(engine) == before  # the same text, to the microsecond where it had them


# API keys and the ingestion record as the application wrote them before 0010: times to the second, chunk ids as
# JSON text. A source's updated_at is the date its source states, and stays text.
KEY = "dp_" + "k" * 43
SOURCE = {"root": "/kb/articles", "kind": "article", "audience": "public", "content_hash": "h"}
OLD_RECORD_ROWS: dict[str, list[dict[str, object]]] = {
    "api_keys": [{"id": "a1", "name": "agent desk", "role": "agent", "key_hash": hash_key(KEY), "created_at": T2,
                  "revoked": False},
                 {"id": "b2", "name": "widget (public)", "role": "customer", "key_hash": hash_key("w" * 20),
                  "created_at": T1, "revoked": False}],
    "ingest_sources": [{**SOURCE, "source_id": "draft", "origin": "draft.md", "title": "Entwurf", "chunk_ids": "",
                        "chunk_count": 0, "state": "pending", "updated_at": "", "ingested_at": T1},
                       {**SOURCE, "source_id": "reset-password", "origin": "reset-password.md",
                        "title": "Passwort zurücksetzen", "chunk_ids": '["c0", "c1"]', "chunk_count": 2, "state": "ok",
                        "updated_at": "2026-05-14", "ingested_at": T2}],
    "ingest_files": [{"root": "/kb/articles", "rel_path": "reset-password.md", "file_hash": "f", "fingerprint": "p",
                      "sources": 1, "seen_at": T2}],
}


def test_keys_and_the_ingestion_record_of_0009_are_read_typed_after_the_upgrade_and_written_back_by_the_downgrade(
        url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = make_engine(url)
    upgrade(engine, "0009")
    insert(engine, OLD_RECORD_ROWS)
    before = stored(engine, OLD_RECORD_ROWS)
    upgrade(engine)

    sessions = make_sessionmaker(engine)
    keys = KeyStore(sessions)
    assert [(k.id, k.created_at) for k in keys.list()] == [
        ("b2", datetime(2026, 11, 2, 9, 30, tzinfo=UTC)), ("a1", datetime(2026, 11, 2, 10, 15, 7, tzinfo=UTC))]
    assert keys.verify(KEY) == Principal("a1", "agent desk", "agent")
    monkeypatch.setattr("deskpilot.cli.keys.build_container", lambda: SimpleNamespace(keys=keys))
    listed = CliRunner().invoke(app, ["keys", "list"], env={"COLUMNS": "200"})
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in listed.output.splitlines() if "│" in line]
    assert rows == [["b2", "widget (public)", "customer", T1, ""], ["a1", "agent desk", "agent", T2, ""]]  # as before
    record = IngestRecord(sessions)
    sources = record.sources()
    article = sources["reset-password"]
    assert (article.ids, article.ingested_at, article.updated_at) == (
        ["c0", "c1"], datetime(2026, 11, 2, 10, 15, 7, tzinfo=UTC), "2026-05-14")
    assert sources["draft"].ids == [] and [r.source_id for r in record.pending()] == ["draft"]
    assert record.files("/kb/articles")["reset-password.md"].seen_at == datetime(2026, 11, 2, 10, 15, 7, tzinfo=UTC)
    # Written after the upgrade, then taken back: the text is what the application wrote before 0010.
    fresh, _ = keys.create("editor", "new")
    record.mark_done([SourceRecord(**SOURCE, source_id="ticket-9", origin="t.json", title="t", chunk_ids=["c9"],
                                   chunk_count=1, updated_at="2026-11-01")])
    created, ingested = {k.id: k.created_at for k in keys.list()}[fresh.key_id], record.sources()["ticket-9"].ingested_at

    engine.dispose()
    downgrade(engine, "0009")
    after = stored(engine, OLD_RECORD_ROWS)
    assert [r["created_at"] for r in after["api_keys"] if r["id"] == fresh.key_id] == [iso(created)]
    assert (after["ingest_sources"][-1]["chunk_ids"], after["ingest_sources"][-1]["ingested_at"]) == (
        '["c9"]', iso(ingested))
    after["api_keys"] = [r for r in after["api_keys"] if r["id"] != fresh.key_id]
    del after["ingest_sources"][-1]
    before["ingest_sources"][0]["chunk_ids"] = "[]"  # an empty text became the empty list
    assert after == before
