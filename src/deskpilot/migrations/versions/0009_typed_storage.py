"""typed storage: times become DateTime (UTC) and JSON kept as text becomes JSON, existing rows converted

SQLite keeps no zone and has no ALTER COLUMN: its times are rewritten as UTC text in SQLAlchemy's DATETIME
format (`2026-12-06 09:30:00.000000`, which sorts as text), then each table is copied with the new column types.
Alembic's copy would CAST a changed column, and CAST(... AS DATETIME) makes a number of SQLite text (`2026`), so
the new types are given to the copy as the reflected ones instead. PostgreSQL converts in ALTER ... USING.

A time that cannot be read (SQLite) or an empty one becomes the time of the migration (kept for another retention
period rather than purged at once); an empty JSON text, or a malformed one (SQLite), becomes the column's empty
value.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"

TIMES: dict[str, tuple[str, ...]] = {
    "conversations": ("created_at", "updated_at"),
    "messages": ("created_at",),
    "tickets": ("created_at", "updated_at"),
    "ticket_messages": ("created_at",),
    "escalations": ("created_at", "updated_at"),
    "feedback": ("created_at",),
    "events": ("at",),
    "ingest_jobs": ("created_at", "updated_at"),
    "webhook_deliveries": ("next_attempt_at", "delivered_at", "created_at", "updated_at"),
    "action_runs": ("created_at", "updated_at"),
    "action_audit": ("at",),
}
NULLABLE = {("webhook_deliveries", "next_attempt_at"), ("webhook_deliveries", "delivered_at")}
MICROSECONDS = {*NULLABLE, ("webhook_deliveries", "updated_at")}  # written to the microsecond (back-off)
JSONS: dict[str, dict[str, str | None]] = {  # the empty value of each column (None: SQL NULL)
    "messages": {"meta": "{}"},
    "escalations": {"reasons": "[]", "sources_tried": "[]", "triggers": "[]"},
    "events": {"reasons": "[]", "detail": "{}"},
    "ingest_jobs": {"progress": "{}", "report": None},
    "webhook_deliveries": {"result": "{}"},
    "action_runs": {"params": "{}", "result": "{}"},
    "action_audit": {"params": "{}"},
}
SERVER_DEFAULTS = {("escalations", "triggers"): "[]"}
TABLES = list(dict.fromkeys([*TIMES, *JSONS]))


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in TABLES:
        times, jsons = TIMES.get(table, ()), JSONS.get(table, {})
        if sqlite:
            for column in times:
                op.execute(f"UPDATE {table} SET {column} = {_sqlite_datetime(column)} WHERE {column} IS NOT NULL")
            for column, empty in jsons.items():
                op.execute(f"UPDATE {table} SET {column} = {_sql(empty)} WHERE NOT json_valid({column})")
            _sqlite_retype(table, {**dict.fromkeys(times, sa.DateTime(timezone=True)), **dict.fromkeys(jsons, sa.JSON())})
            continue
        for column in times:
            cast = f"NULLIF({column}, '')::timestamptz"
            _postgres_retype(table, column, sa.DateTime(timezone=True),
                             cast if (table, column) in NULLABLE else f"COALESCE({cast}, now())")
        for column, empty in jsons.items():
            _postgres_retype(table, column, sa.JSON(), f"COALESCE(NULLIF({column}, ''), {_sql(empty)})::json")


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in TABLES:
        times, jsons = TIMES.get(table, ()), JSONS.get(table, {})
        if sqlite:
            _sqlite_retype(table, {**dict.fromkeys(times, sa.String(32)), **dict.fromkeys(jsons, sa.Text())})
            for column in times:
                op.execute(f"UPDATE {table} SET {column} = {_sqlite_iso(table, column)} WHERE {column} IS NOT NULL")
            continue
        for column in times:
            fraction = ".US" if (table, column) in MICROSECONDS else ""
            _postgres_retype(table, column, sa.String(32),
                             f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS{fraction}"+00:00"')""")
        for column in jsons:
            _postgres_retype(table, column, sa.Text(), f"{column}::text")


def _sql(text: str | None) -> str:
    return "NULL" if text is None else f"'{text}'"


def _sqlite_datetime(column: str) -> str:
    """The stored ISO 8601 text (`2026-12-06T09:30:00+00:00`, or with microseconds) as UTC in SQLAlchemy's DATETIME
    text. strftime converts any zone to UTC but keeps only milliseconds, so the six digits of a fraction written
    by Python are taken from the text."""
    seconds = f"strftime('%Y-%m-%d %H:%M:%S', {column})"
    fraction = (f"CASE WHEN substr({column}, 20, 1) = '.' AND length({column}) = 32 THEN substr({column}, 20, 7) "
                f"ELSE '.' || substr(strftime('%f', {column}), 4, 3) || '000' END")
    return f"COALESCE({seconds} || {fraction}, strftime('%Y-%m-%d %H:%M:%S.000000', 'now'))"


def _sqlite_iso(table: str, column: str) -> str:
    """A DATETIME text back as the ISO 8601 that the application wrote before 0009."""
    fraction = f" || substr({column}, 20, 7)" if (table, column) in MICROSECONDS else ""
    return f"strftime('%Y-%m-%dT%H:%M:%S', {column}){fraction} || '+00:00'"


def _sqlite_retype(table: str, types: dict[str, sa.types.TypeEngine]) -> None:  # type: ignore[type-arg]
    """Copy the table with new types for some columns (their values already in the new form; see the module
    docstring for why the types are given as the reflected ones rather than altered)."""
    reflected = {c["name"]: c for c in sa.inspect(op.get_bind()).get_columns(table)}
    columns = [sa.Column(name, type_, nullable=reflected[name]["nullable"],
                         server_default=SERVER_DEFAULTS.get((table, name))) for name, type_ in types.items()]
    with op.batch_alter_table(table, recreate="always", reflect_args=tuple(columns)):
        pass


def _postgres_retype(table: str, column: str, type_: sa.types.TypeEngine, using: str) -> None:  # type: ignore[type-arg]
    """ALTER COLUMN ... TYPE ... USING; a server default is dropped first (PostgreSQL cannot cast it) and set
    again after."""
    default = SERVER_DEFAULTS.get((table, column))
    if default is not None:
        op.alter_column(table, column, server_default=None)
    op.alter_column(table, column, type_=type_, postgresql_using=using)
    if default is not None:
        op.alter_column(table, column, server_default=default)
