"""The same ingestion and search against a Chroma server (`chroma run` on loopback) chosen by CHROMA_HOST."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from deskpilot.api.app import create_app
from deskpilot.container import Container
from deskpilot.errors import VectorStoreError
from deskpilot.ingest.sources import SourceSpec
from tests.conftest import KB, make_settings
from tests.servers import free_port, start_chroma

pytestmark = [pytest.mark.integration, pytest.mark.chroma_server]


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    port = free_port()
    try:
        process = start_chroma(tmp_path_factory.mktemp("chroma-server"), port)
    except RuntimeError as exc:
        pytest.fail(str(exc))
    try:
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_ingest_and_search_through_chroma_server(chroma_server: int, tmp_path: Path, models_dir: Path) -> None:
    settings = make_settings(tmp_path, models_dir)
    settings.chroma_host, settings.chroma_port = "127.0.0.1", chroma_server
    container = Container(settings)
    articles = tmp_path / "articles"
    articles.mkdir()
    for name in ("reset-password.md", "webhooks.md"):
        shutil.copy(KB / "articles" / name, articles)
    first = container.ingestor.run([SourceSpec(path=articles)])
    assert first.failed == [] and first.added == 2
    assert not (tmp_path / "data" / "chroma").exists()  # nothing written to the embedded store
    again = container.ingestor.run([SourceSpec(path=articles)])
    assert again.chunks_embedded == 0 and again.unchanged == 2
    hits = container.retriever.search("how long is a reset link valid").chunks
    assert hits[0].source_id == "reset-password"
    assert container.store.count() == container.record.total_chunks()


def test_unreachable_chroma_server_is_a_clear_error(tmp_path: Path, models_dir: Path) -> None:
    settings = make_settings(tmp_path, models_dir)
    settings.chroma_host, settings.chroma_port = "127.0.0.1", free_port()
    with pytest.raises(VectorStoreError, match="Chroma"):
        Container(settings).store.count()


def test_the_service_says_503_while_chroma_is_away_and_recovers(tmp_path: Path, models_dir: Path) -> None:
    port, path = free_port(), tmp_path / "chroma-server"
    process = start_chroma(path, port)
    settings = make_settings(tmp_path, models_dir, llm="fake")
    settings.chroma_host, settings.chroma_port = "127.0.0.1", port
    container = Container(settings)
    articles = tmp_path / "articles"
    articles.mkdir()
    shutil.copy(KB / "articles" / "reset-password.md", articles)
    container.ingestor.run([SourceSpec(path=articles)])
    question = {"question": "How long is a password reset link valid?"}
    try:
        with TestClient(create_app(container)) as client:
            headers = {"Authorization": f"Bearer {container.keys.create('customer', 'c')[1]}"}
            assert client.post("/v1/ask", json=question, headers=headers).json()["decision"] == "answer"
            process.terminate()
            process.wait(timeout=30)
            down = client.post("/v1/ask", json=question, headers=headers)
            assert down.status_code == 503 and "Chroma" in down.json()["detail"]
            other = client.post("/v1/ask", json={"question": "How do I invite a teammate?"}, headers=headers)
            assert other.status_code == 503
            ready = client.get("/readyz")
            assert ready.status_code == 503 and ready.json()["checks"]["index"]["ok"] is False
            process = start_chroma(path, port)  # back, with the same data
            assert client.get("/readyz").status_code == 200
            back = client.post("/v1/ask", json=question, headers=headers)
            assert back.status_code == 200 and back.json()["citations"][0]["source_id"] == "reset-password"
    finally:
        process.terminate()
        process.wait(timeout=30)
