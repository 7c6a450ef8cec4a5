"""Times stored typed since migration 0010 are shown as they were when they were text: ISO 8601 in UTC, to the second."""

from __future__ import annotations

import re
from typing import Any

from deskpilot.container import Container
from deskpilot.db import iso
from deskpilot.ingest.records import SourceRecord

STORED_TEXT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00")  # what `_now()` wrote before 0010


def test_sources_show_when_each_was_ingested_as_before_and_the_source_s_own_date_as_stated(
        fake_app: Any, fake_container: Container) -> None:
    editor = {"Authorization": f"Bearer {fake_container.keys.create('editor', 'kb')[1]}"}
    record = fake_container.record
    record.mark_done([SourceRecord(source_id="reset-password", root="/kb/articles", origin="reset-password.md",
                                   kind="article", audience="public", title="Reset your password",
                                   chunk_ids=["c0", "c1"], chunk_count=2, updated_at="2026-05-14")])
    [item] = fake_app.get("/v1/sources", headers=editor).json()["items"]
    assert STORED_TEXT.fullmatch(item["ingested_at"])
    assert item["ingested_at"] == iso(record.sources()["reset-password"].ingested_at)
    assert (item["updated_at"], item["chunks"], record.sources()["reset-password"].ids) == (
        "2026-05-14", 2, ["c0", "c1"])
