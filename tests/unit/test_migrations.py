"""Alembic migrations: a fresh database gets the whole schema, an older one is brought up, no drift."""

from __future__ import annotations

import threading
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

import deskpilot.helpdesk.models
import deskpilot.ingest.records
import deskpilot.integrations.models
import deskpilot.keys  # noqa: F401
from deskpilot.db import Base, make_engine, upgrade


def test_fresh_database_matches_the_models(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    upgrade(engine)
    with engine.connect() as connection:
        assert set(Base.metadata.tables) <= set(inspect(connection).get_table_names())
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0008"
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
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0008"


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
