"""Database access through SQLAlchemy: SQLite in the data dir by default, Postgres by URL."""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec, TypeVar

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import DeclarativeBase, sessionmaker

from deskpilot.errors import StorageError

logger = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")


class Base(DeclarativeBase):
    """Declarative base of every Deskpilot table."""


def make_engine(url: str) -> Engine:
    """An engine for url; SQLite gets WAL mode, a busy timeout and its folder created."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # A file database gets a pool as large as the server's thread pool, so requests do not queue for one.
        pool = {"pool_size": 20, "max_overflow": 30} if path and path != ":memory:" else {}
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **pool)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    # A database that does not answer must not hang a request: give up connecting after 5 s (then retried).
    connect = {"connect_timeout": 5} if url.startswith("postgresql") else {}
    return create_engine(url, pool_pre_ping=True, connect_args=connect)


RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0)  # seconds between attempts when the database is briefly away


def unavailable(exc: OperationalError | InterfaceError) -> StorageError:
    """The error for a database that cannot be reached. Clients read a generic message; the log gets the driver's
    first line only, never the URL (with its password) or the SQL parameters (customer text)."""
    logger.warning("database unavailable: %s", str(exc.orig or exc).splitlines()[0][:200])
    return StorageError("the database is unavailable (the service log says why)")


def retry_transient(fn: Callable[P, T]) -> Callable[P, T]:
    """Run a database operation again when the database was briefly unavailable: a lost or refused
    connection (a server restarting), or SQLite locked past its busy timeout. Each attempt is one whole
    transaction, so a failed one left nothing behind. Raises StorageError when every attempt failed."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        for delay in (*RETRY_DELAYS, None):
            try:
                return fn(*args, **kwargs)
            except (OperationalError, InterfaceError) as exc:
                error = unavailable(exc)
                if delay is None:
                    raise error from exc
                logger.warning("database unavailable (%s); retrying in %.1f s", error, delay)
                time.sleep(delay)
        raise AssertionError("unreachable")

    return wrapper


_MIGRATING = threading.Lock()  # Alembic's context is process-global: one migration at a time per process


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision. A database made before migrations existed (tables
    but no alembic_version) gets its missing tables and is stamped; concurrent starts retry once."""
    from alembic import command
    from alembic.config import Config

    import deskpilot.migrations

    config = Config()
    config.set_main_option("script_location", str(Path(deskpilot.migrations.__file__).parent))
    for attempt in range(3):
        try:
            with _MIGRATING, engine.begin() as connection:
                config.attributes["connection"] = connection
                tables = set(inspect(connection).get_table_names())
                if "alembic_version" not in tables and "ingest_sources" in tables:
                    Base.metadata.create_all(connection)
                    command.stamp(config, "head")
                else:
                    command.upgrade(config, "head")
            return
        except (OperationalError, IntegrityError):  # another worker is migrating the same database
            if attempt == 2:
                raise
            time.sleep(0.5 * (attempt + 1))


def make_sessionmaker(engine: Engine) -> sessionmaker:  # type: ignore[type-arg]
    """Session factory bound to engine, with the schema migrated to the newest revision."""
    upgrade(engine)
    return sessionmaker(engine, expire_on_commit=False)
