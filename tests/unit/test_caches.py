"""The per-process caches behind the service's speed: what they keep, and when they let go."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.embeddings import Embeddings
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from deskpilot import db as db_module
from deskpilot import keys as keys_module
from deskpilot.db import make_engine, make_sessionmaker
from deskpilot.errors import InvalidInputError, StorageError
from deskpilot.ingest import records as records_module
from deskpilot.ingest.records import IngestRecord
from deskpilot.keys import KeyStore
from deskpilot.providers.embeddings import RecentEmbeddings


class CountingEmbeddings(Embeddings):
    """Vectors from text length; counts the texts it was asked to embed."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.seen.extend(texts)
        return [[float(len(t)), 1.0] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


def test_recent_embeddings_embed_each_short_text_once() -> None:
    inner = CountingEmbeddings()
    recent = RecentEmbeddings(inner, size=10, max_chars=50)
    long_text = "x" * 60
    assert recent.embed_documents(["reset link", "refund", "reset link"]) == [[10.0, 1.0], [6.0, 1.0], [10.0, 1.0]]
    assert inner.seen == ["reset link", "refund"]
    assert recent.embed_query("refund") == [6.0, 1.0]
    recent.embed_documents([long_text, "refund"])
    recent.embed_documents([long_text])
    assert inner.seen == ["reset link", "refund", long_text, long_text]  # long texts are not kept


def test_no_cache_keeps_nothing() -> None:
    inner = CountingEmbeddings()
    recent = RecentEmbeddings(inner, size=0)
    recent.embed_documents(["a"])
    recent.embed_documents(["a"])
    assert inner.seen == ["a", "a"]


@pytest.fixture
def sessions(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    return make_sessionmaker(engine)


def test_a_revoked_key_stops_at_once_here_and_within_the_ttl_in_other_workers(
        sessions, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    store = KeyStore(sessions)
    principal, key = store.create("agent", "alice")
    assert store.verify(key) == principal
    with sessions.begin() as session:  # another worker process revokes it
        session.execute(text("UPDATE api_keys SET revoked = 1 WHERE id = :id"), {"id": principal.key_id})
    assert store.verify(key) == principal  # trusted for VERIFY_TTL_S
    monkeypatch.setattr(keys_module, "VERIFY_TTL_S", 0.0)
    assert store.verify(key) is None

    monkeypatch.setattr(keys_module, "VERIFY_TTL_S", 60.0)
    other, other_key = store.create("customer", "bob")
    assert store.verify(other_key) == other
    KeyStore(sessions).revoke(other.key_id)  # revoked in this process: refused at once
    assert store.verify(other_key) is None


def test_index_generation_is_seen_at_once_here_and_within_the_ttl_from_other_processes(
        sessions, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    reader, writer = IngestRecord(sessions), IngestRecord(sessions)
    assert reader.generation() == 0
    writer.bump_generation()
    assert reader.generation() == 1  # a change made in this process is seen at once
    with sessions.begin() as session:  # another process ingests
        session.execute(text("UPDATE ingest_meta SET value = '7' WHERE key = 'generation'"))
    assert reader.generation() == 1
    monkeypatch.setattr(records_module, "GENERATION_TTL_S", 0.0)
    assert reader.generation() == 7


class FlakySessions:
    """Sessions of a database server that refuses the next `failures` connections (restarting)."""

    def __init__(self, sessions) -> None:  # type: ignore[no-untyped-def]
        self._sessions = sessions
        self.failures = 0

    def __call__(self):  # type: ignore[no-untyped-def]
        if self.failures > 0:
            self.failures -= 1
            raise OperationalError("SELECT", {}, ConnectionRefusedError("connection refused"))
        return self._sessions()


def test_the_index_generation_outlives_a_database_restart(
        sessions, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(records_module, "GENERATION_TTL_S", 0.0)
    monkeypatch.setattr(db_module, "RETRY_DELAYS", (0.0, 0.0))
    flaky = FlakySessions(sessions)
    reader = IngestRecord(flaky)
    flaky.failures = 1
    assert reader.generation() == 0  # nothing read yet: the read is retried
    IngestRecord(sessions).bump_generation()
    flaky.failures = 1
    assert reader.generation() == 0  # the server restarting: searches go on with the number last read...
    assert "database unavailable" in caplog.text
    assert reader.generation() == 1  # ...and it is read again once the server is back
    flaky.failures = 10
    with pytest.raises(StorageError):
        IngestRecord(flaky).generation()  # never read, and the database stays away: a clear error


def test_two_workers_ensuring_the_same_key_at_once_both_start(
        sessions, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    first, second = KeyStore(sessions), KeyStore(sessions)
    widget_key = "widget-public-key-0123456789"
    looked = []
    real_verify = KeyStore.verify

    def late_verify(self: KeyStore, key: str):  # type: ignore[no-untyped-def]
        # The second worker looked before the first had stored the key: its first look finds nothing.
        looked.append(key)
        return None if len(looked) == 1 else real_verify(self, key)

    stored = first.ensure(widget_key, "customer", "widget (public)")
    keys_module._verified.clear()
    monkeypatch.setattr(KeyStore, "verify", late_verify)
    assert second.ensure(widget_key, "customer", "widget (public)") == stored
    assert len(looked) == 2
    with sessions() as session:
        assert session.execute(text("SELECT COUNT(*) FROM api_keys")).scalar() == 1


def test_a_staff_key_cannot_become_the_public_widget_key(sessions) -> None:  # type: ignore[no-untyped-def]
    store = KeyStore(sessions)
    _, admin_key = store.create("admin", "ops")
    with pytest.raises(InvalidInputError, match="role 'admin'"):
        store.ensure(admin_key, "customer", "widget (public)")
    assert store.ensure("widget-public-key-0123456789", "customer", "widget").role == "customer"
