"""Database access through SQLAlchemy: SQLite in the data dir by default, Postgres by URL."""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar, overload

from sqlalchemy import JSON, DateTime, Dialect, Engine, String, TypeDecorator, create_engine, event, inspect
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, sessionmaker
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from deskpilot.errors import StorageError

logger = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")


class Base(DeclarativeBase):
    """Declarative base of every Deskpilot table."""


class UtcDateTime(TypeDecorator[datetime]):
    """A point in time, stored as `TIMESTAMP WITH TIME ZONE` (PostgreSQL) or as UTC text in the DATETIME
    format of SQLAlchemy (SQLite, which keeps no zone), and always read back as an aware UTC datetime.

    An ISO 8601 string is taken as the time it names: report periods and cut-offs are given as such strings.
    A datetime without a zone is taken as UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | str | None, dialect: Dialect) -> datetime | None:
        """The value in UTC (SQLite's DATETIME writes the clock time and drops the zone)."""
        if value is None:
            return None
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """An aware UTC datetime (SQLite hands back the stored clock time without a zone)."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def now() -> datetime:
    """The current time in UTC, to the second (the API shows it as `2026-12-06T09:30:00+00:00`)."""
    return datetime.now(UTC).replace(microsecond=0)


def dumps(value: Any) -> str:
    """JSON text as Deskpilot stores it (the customers' own letters, not \\u escapes)."""
    return json.dumps(value, ensure_ascii=False)


class Json(TypeDecorator[Any]):
    """A JSON column (lists and objects). Refuses a str: the text of a JSON value given where the value is
    meant would be stored as one JSON string, and read back as text instead of the list or object."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        """The value itself; a str is a mistake (see the class docstring)."""
        if isinstance(value, str):
            raise TypeError(f"a JSON column takes the value, not its text: {value[:40]!r}")
        return value


@overload
def iso(moment: datetime, timespec: str = "seconds") -> str: ...
@overload
def iso(moment: None, timespec: str = "seconds") -> None: ...
def iso(moment: datetime | None, timespec: str = "seconds") -> str | None:
    """A stored time as the API and the CLI write it: ISO 8601 in UTC, `2026-12-06T09:30:00+00:00`
    (timespec "microseconds" for the webhook deliveries' sub-second back-off)."""
    return None if moment is None else moment.astimezone(UTC).isoformat(timespec=timespec)


class utc_day(FunctionElement[str]):  # lower case: an SQL function, used like `func.substr`
    """The UTC day (YYYY-MM-DD) of a `UtcDateTime` column, in SQL. The constants are written inline, so that
    PostgreSQL sees the same expression in SELECT and GROUP BY."""

    type = String()
    inherit_cache = True


@compiles(utc_day)
def _utc_day_sqlite(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 10)"  # the stored text starts with the UTC day


@compiles(utc_day, "postgresql")
def _utc_day_postgres(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    return f"to_char({compiler.process(element.clauses, **kw)} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


def make_engine(url: str) -> Engine:
    """An engine for url; SQLite gets WAL mode, a busy timeout and its folder created."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # A file database gets a pool as large as the server's thread pool, so requests do not queue for one.
        pool = {"pool_size": 20, "max_overflow": 30} if path and path != ":memory:" else {}
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, json_serializer=dumps,
                               **pool)

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
    return create_engine(url, pool_pre_ping=True, connect_args=connect, json_serializer=dumps)


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


def _alembic() -> Any:
    """Alembic's command module and a configuration of Deskpilot's migrations."""
    from alembic import command
    from alembic.config import Config

    import deskpilot.migrations

    config = Config()
    config.set_main_option("script_location", str(Path(deskpilot.migrations.__file__).parent))
    return command, config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to the newest Alembic revision (or to `revision`). A database made before migrations
    existed (tables but no alembic_version) gets its missing tables and is stamped; concurrent starts retry once."""
    command, config = _alembic()
    for attempt in range(3):
        try:
            with _MIGRATING, engine.begin() as connection:
                config.attributes["connection"] = connection
                tables = set(inspect(connection).get_table_names())
                if "alembic_version" not in tables and "ingest_sources" in tables:
                    Base.metadata.create_all(connection)
                    command.stamp(config, "head")
                else:
                    command.upgrade(config, revision)
            return
        except (OperationalError, IntegrityError):  # another worker is migrating the same database
            if attempt == 2:
                raise
            time.sleep(0.5 * (attempt + 1))


def downgrade(engine: Engine, revision: str) -> None:
    """Take the schema back to `revision` (the service only upgrades; this is for trying a migration both ways)."""
    command, config = _alembic()
    with _MIGRATING, engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def make_sessionmaker(engine: Engine) -> sessionmaker:  # type: ignore[type-arg]
    """Session factory bound to engine, with the schema migrated to the newest revision."""
    upgrade(engine)
    return sessionmaker(engine, expire_on_commit=False)
