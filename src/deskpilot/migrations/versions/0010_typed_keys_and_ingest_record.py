"""typed storage, the rest: the times of API keys and of the ingestion record become DateTime (UTC), a source's
chunk ids JSON; existing rows converted as 0009 converted the helpdesk's (its docstring says how, and why so).

A source's `updated_at` stays text: it is the date its source states (front matter, a date in the text, a ticket's
solved day: `2026-05-14`, or empty), read as a day and never a time that Deskpilot wrote.
"""

from __future__ import annotations

import importlib

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"

# 0009's conversions of a column, used as they are rather than written again: a released revision does not change,
# so neither can they under this one. Its file name starts with a digit, hence importlib; none of the columns below
# is in its lists of exceptions (nullable, microseconds, server defaults), so its helpers treat them as plain ones.
typed = importlib.import_module("deskpilot.migrations.versions.0009_typed_storage")

TIMES = {"api_keys": "created_at", "ingest_sources": "ingested_at", "ingest_files": "seen_at"}  # table: column
CHUNK_IDS = ("ingest_sources", "chunk_ids")  # a JSON list of the source's chunk ids, "[]" when it has none
# Every value ever written was `datetime.now(UTC).isoformat(timespec="seconds")`: the downgrade writes that form.
ISO_SECONDS = """'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'"""


def upgrade() -> None:
    table, column = CHUNK_IDS
    if op.get_bind().dialect.name != "sqlite":
        for name, time in TIMES.items():
            typed._postgres_retype(name, time, sa.DateTime(timezone=True),
                                   f"COALESCE(NULLIF({time}, '')::timestamptz, now())")
        typed._postgres_retype(table, column, sa.JSON(), f"COALESCE(NULLIF({column}, ''), '[]')::json")
        return
    op.execute(f"UPDATE {table} SET {column} = '[]' WHERE NOT json_valid({column})")
    for name, time in TIMES.items():
        op.execute(f"UPDATE {name} SET {time} = {typed._sqlite_datetime(time)}")
        typed._sqlite_retype(name, {time: sa.DateTime(timezone=True), **({column: sa.JSON()} if name == table else {})})


def downgrade() -> None:
    table, column = CHUNK_IDS
    if op.get_bind().dialect.name != "sqlite":
        for name, time in TIMES.items():
            typed._postgres_retype(name, time, sa.String(32), f"to_char({time} AT TIME ZONE 'UTC', {ISO_SECONDS})")
        typed._postgres_retype(table, column, sa.Text(), f"{column}::text")
        return
    for name, time in TIMES.items():
        typed._sqlite_retype(name, {time: sa.String(32), **({column: sa.Text()} if name == table else {})})
        op.execute(f"UPDATE {name} SET {time} = {typed._sqlite_iso(name, time)}")
