"""Usage events written behind the request: an agent tool's output shown to an agent is recorded on every
suggest, summary and draft, and one more write per request halved the suggest throughput on SQLite (a single
writer). They are kept for at most `interval` seconds and written together, in one transaction.

Reports flush the process's pending events before they read, so they see their own process at once and other
workers within `interval` seconds. A database that is away keeps them pending (at most `limit`, the oldest
dropped first, with a warning) until it is back; stopping the service writes what is left.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import insert
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import sessionmaker

from deskpilot.errors import StorageError
from deskpilot.helpdesk.models import EventRow, now

logger = logging.getLogger(__name__)


class EventWriter:
    """Buffers event rows and writes them every `interval` seconds from a background thread."""

    def __init__(self, sessions: Callable[[], sessionmaker], interval: float = 1.0,  # type: ignore[type-arg]
                 limit: int = 10_000) -> None:
        self._sessions = sessions
        self._interval = interval
        self._limit = limit
        self._pending: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._writing = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, kind: str, target: str, key_id: str, ticket_id: int | None, detail: dict[str, Any],
            role: str = "agent") -> None:
        """Queue one event (timestamped now)."""
        row = {"kind": kind, "at": now(), "target": target, "conversation_id": None, "ticket_id": ticket_id,
               "key_id": key_id, "role": role, "language": "", "decision": "", "reasons": [], "confidence": None,
               "latency_ms": None, "question": "", "detail": detail}
        with self._lock:
            self._pending.append(row)
            if len(self._pending) > self._limit:
                del self._pending[: len(self._pending) - self._limit]
                logger.warning("usage events: more than %d waiting for the database; the oldest were dropped",
                               self._limit)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="deskpilot-events", daemon=True)
                self._thread.start()

    def flush(self) -> int:
        """Write the pending events now; returns how many were written (0 when the database is away: they stay
        pending for the next flush)."""
        with self._writing:
            with self._lock:
                rows, self._pending = self._pending, []
            if not rows:
                return 0
            try:
                with self._sessions().begin() as session:
                    session.execute(insert(EventRow), rows)
            except (OperationalError, InterfaceError, StorageError) as exc:
                with self._lock:
                    self._pending = (rows + self._pending)[-self._limit:]
                logger.warning("usage events not written yet (%d waiting): %s", len(rows),
                               str(exc).splitlines()[0][:200])
                return 0
            return len(rows)

    def close(self) -> None:
        """Stop the background thread and write what is left."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.flush()
