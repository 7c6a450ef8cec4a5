"""The ingestion record: every indexed source, its hash and chunk ids, and every file seen.

It is a journal as well: a source is marked ``pending`` (committed) before its chunks are written to
the index and ``ok`` after, so a crash or Ctrl-C in between is found and repaired by the next run.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Integer, String, Text, delete, func, select, update
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from deskpilot.db import Base, Json, UtcDateTime, iso, now, retry_transient, unavailable
from deskpilot.errors import ConflictError

# How long a read of the index generation is trusted. A change made in this process is seen at once (every
# bump counts here); one made by another process (a CLI ingest, another worker) within this many seconds.
GENERATION_TTL_S = 1.0
_local_bumps = 0
_bumps_lock = threading.Lock()


WRITER_KEY = "writer"
LEASE_STALE_S = 600.0  # a lease not renewed for this long belongs to a run that died on another machine


def _gone(held: str, stale_after: float) -> bool:
    """Whether the lease holder is no longer running."""
    try:
        holder = json.loads(held)
    except ValueError:
        return True
    if time.time() - float(holder.get("renewed", 0)) > stale_after:
        return True
    if holder.get("host") == socket.gethostname():
        try:
            os.kill(int(holder["pid"]), 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # alive, owned by another user
            return False
    return False


class SourceRecord(Base):
    """One indexed source (an article file or a ticket)."""

    __tablename__ = "ingest_sources"

    source_id: Mapped[str] = mapped_column(String(512), primary_key=True)
    root: Mapped[str] = mapped_column(String(1024), index=True)
    origin: Mapped[str] = mapped_column(String(1024), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    audience: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(Text, default="")
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    chunk_ids: Mapped[list[str]] = mapped_column(Json, default=list)
    chunk_count: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    # The date the source states (front matter, a date in the text, the file's day, a ticket's solved day: usually
    # `2026-05-14`, or empty), kept as the source gives it: it is read as a day (hygiene's age of an article), never
    # as a time Deskpilot wrote, so it stays text where the times below are typed (migration 0010).
    updated_at: Mapped[str] = mapped_column(String(32), default="")
    ingested_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)

    @property
    def ids(self) -> list[str]:
        """The chunk ids of this source in the index."""
        return list(self.chunk_ids or [])


class FileRecord(Base):
    """A file seen under a root, with the hash that lets an unchanged file be skipped unread."""

    __tablename__ = "ingest_files"

    root: Mapped[str] = mapped_column(String(1024), primary_key=True)
    rel_path: Mapped[str] = mapped_column(String(1024), primary_key=True)
    file_hash: Mapped[str] = mapped_column(String(64))
    fingerprint: Mapped[str] = mapped_column(String(64))
    sources: Mapped[int] = mapped_column(Integer, default=0)
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)


class MetaValue(Base):
    """Small key/value facts about the index (e.g. its generation, bumped on every change)."""

    __tablename__ = "ingest_meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")


class IngestRecord:
    """Reads and writes the record tables."""

    def __init__(self, sessions: sessionmaker) -> None:  # type: ignore[type-arg]
        self._sessions = sessions
        self._generation: tuple[int, float, int] | None = None  # (value, read at, local bumps then)

    def session(self) -> Session:
        """A new session (use as a context manager)."""
        return self._sessions()

    def sources(self, root: str | None = None) -> dict[str, SourceRecord]:
        """Source records by id, all or those of one root."""
        with self.session() as session:
            query = select(SourceRecord)
            if root is not None:
                query = query.where(SourceRecord.root == root)
            return {r.source_id: r for r in session.scalars(query)}

    def files(self, root: str) -> dict[str, FileRecord]:
        """File records of a root by relative path."""
        with self.session() as session:
            return {f.rel_path: f for f in session.scalars(select(FileRecord).where(FileRecord.root == root))}

    def pending(self) -> list[SourceRecord]:
        """Sources whose last write did not finish."""
        with self.session() as session:
            return list(session.scalars(select(SourceRecord).where(SourceRecord.state != "ok")))

    def total_chunks(self) -> int:
        """Chunks the record says are in the index."""
        with self.session() as session:
            return int(session.scalar(select(func.coalesce(func.sum(SourceRecord.chunk_count), 0))) or 0)

    def mark_pending(self, records: Iterable[SourceRecord]) -> None:
        """Journal: these sources are about to change in the index."""
        with self.session() as session, session.begin():
            for record in records:
                record.state = "pending"
                session.merge(record)

    def mark_done(self, records: Iterable[SourceRecord], files: Iterable[FileRecord] = ()) -> None:
        """Journal: these sources are written; their file records can now be trusted."""
        with self.session() as session, session.begin():
            for record in records:
                record.state = "ok"
                record.ingested_at = now()
                session.merge(record)
            for file in files:
                session.merge(file)

    def save_files(self, files: Iterable[FileRecord]) -> None:
        """Store file records (hash after a successful parse)."""
        with self.session() as session, session.begin():
            for file in files:
                session.merge(file)

    def forget_sources(self, source_ids: Iterable[str]) -> None:
        """Drop source records (their chunks are already deleted from the index)."""
        ids = list(source_ids)
        with self.session() as session, session.begin():
            for start in range(0, len(ids), 500):
                session.execute(delete(SourceRecord).where(SourceRecord.source_id.in_(ids[start:start + 500])))

    def forget_files(self, root: str, rel_paths: Iterable[str] | None = None) -> None:
        """Drop file records of a root (all, or the given paths)."""
        with self.session() as session, session.begin():
            query = delete(FileRecord).where(FileRecord.root == root)
            if rel_paths is not None:
                query = query.where(FileRecord.rel_path.in_(list(rel_paths)))
            session.execute(query)

    def invalidate_files(self, root: str, rel_paths: Iterable[str]) -> None:
        """Forget file hashes so those files are read again next time."""
        self.forget_files(root, rel_paths)

    def generation(self) -> int:
        """A number that changes whenever the index content changes (readers rebuild caches on it).

        Read from the database at most once per GENERATION_TTL_S unless this process changed the index. While the
        database is briefly away (a server restarting), the number last read is used and read again on the next
        call; with none read yet, the read is retried (`retry_transient`).

        Raises:
            StorageError: the database stayed unavailable and no number was read before.
        """
        cached, now = self._generation, time.monotonic()
        if cached is not None and cached[2] == _local_bumps and now - cached[1] < GENERATION_TTL_S:
            return cached[0]
        bumps = _local_bumps
        try:
            value = self._read_generation()
        except (OperationalError, InterfaceError) as exc:
            if cached is not None:
                unavailable(exc)  # logged; searches go on with the index as last known
                return cached[0]
            value = retry_transient(self._read_generation)()
        self._generation = (value, now, bumps)
        return value

    def _read_generation(self) -> int:
        with self.session() as session:
            row = session.get(MetaValue, "generation")
            return int(row.value) if row is not None else 0

    def bump_generation(self) -> None:
        """Record that the index content changed."""
        global _local_bumps
        with self.session() as session, session.begin():
            row = session.get(MetaValue, "generation")
            if row is None:
                session.add(MetaValue(key="generation", value="1"))
            else:
                row.value = str(int(row.value) + 1)
        with _bumps_lock:  # after the commit: a read cached before it is not trusted any more
            _local_bumps += 1

    def acquire_writer(self, stale_after: float = LEASE_STALE_S) -> str:
        """Become the only ingestion writing to this index (CLI, API job or another machine alike).

        The lease is a row that the holder refreshes (`renew_writer`); a holder that is gone (its process
        no longer runs on this host, or its lease was not renewed for `stale_after` seconds, e.g. a
        SIGKILLed run on another machine) is taken over. Compare-and-set, so it works on SQLite and Postgres.

        Returns:
            The token to renew and release the lease with.

        Raises:
            ConflictError: another ingestion is running.
        """
        token = json.dumps({"id": secrets.token_hex(8), "pid": os.getpid(), "host": socket.gethostname(),
                            "since": iso(now()), "renewed": time.time()})
        for _ in range(5):
            with self.session() as session:
                row = session.get(MetaValue, WRITER_KEY)
                held = row.value if row is not None else ""
            if held and not _gone(held, stale_after):
                holder = json.loads(held)
                raise ConflictError(f"another ingestion is running (process {holder['pid']} on {holder['host']}, "
                                    f"since {holder['since']}); try again when it has finished")
            with self.session() as session, session.begin():
                if row is None:
                    try:
                        session.add(MetaValue(key=WRITER_KEY, value=token))
                        session.flush()
                    except IntegrityError:
                        session.rollback()
                        continue
                    return token
                swapped = session.execute(update(MetaValue).where(MetaValue.key == WRITER_KEY, MetaValue.value == held)
                                          .values(value=token))
                if swapped.rowcount == 1:  # type: ignore[attr-defined]
                    return token
        raise ConflictError("another ingestion is starting; try again")

    def renew_writer(self, token: str) -> str:
        """Refresh the lease (every source written); returns the new token."""
        fresh = json.dumps({**json.loads(token), "renewed": time.time()})
        with self.session() as session, session.begin():
            session.execute(update(MetaValue).where(MetaValue.key == WRITER_KEY, MetaValue.value == token)
                            .values(value=fresh))
        return fresh

    def release_writer(self, token: str) -> None:
        """Give the lease back (only if still ours)."""
        with self.session() as session, session.begin():
            session.execute(delete(MetaValue).where(MetaValue.key == WRITER_KEY, MetaValue.value == token))

    def roots(self) -> set[str]:
        """Every root that has sources or files in the record."""
        with self.session() as session:
            return set(session.scalars(select(SourceRecord.root).distinct())) | set(
                session.scalars(select(FileRecord.root).distinct()))

    def clear(self) -> None:
        """Forget everything (before a full rebuild)."""
        with self.session() as session, session.begin():
            session.execute(delete(SourceRecord))
            session.execute(delete(FileRecord))
