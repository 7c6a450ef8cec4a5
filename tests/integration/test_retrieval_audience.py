"""Audience enforcement when the in-memory snapshot is behind the index (the text is read only for winners)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from deskpilot.container import Container
from deskpilot.ingest.sources import SourceSpec
from tests.conftest import KB, make_settings

pytestmark = pytest.mark.integration


def test_a_chunk_made_internal_after_the_snapshot_never_reaches_a_customer(tmp_path: Path, models_dir: Path) -> None:
    articles = tmp_path / "articles"
    articles.mkdir()
    for name in ("reset-password.md", "refund-policy.docx", "webhooks.md"):
        shutil.copy(KB / "articles" / name, articles)
    container = Container(make_settings(tmp_path, models_dir))
    container.ingestor.run([SourceSpec(path=articles)])
    retriever = container.retriever
    question = "How long is a password reset link valid?"
    before = retriever.search(question, role="customer")
    assert before.chunks[0].source_id == "reset-password"

    # The index says internal now; the keyword snapshot (built by the first search) still says public.
    ids = container.store.ids_of_source("reset-password")
    metas = container.store.get_metadata(ids)
    container.store.collection.update(ids=ids, metadatas=[{**metas[i], "audience": "internal"} for i in ids])

    after = retriever.search(question, role="customer")
    assert after.chunks and all(c.source_id != "reset-password" for c in after.chunks)
    assert all(c.metadata["audience"] == "public" for c in after.chunks)
    agent = retriever.search(question, role="agent")
    assert agent.chunks[0].source_id == "reset-password"
