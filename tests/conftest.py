"""Shared fixtures. Model files come from `make install` (data/models) or DESKPILOT_TEST_MODELS_DIR."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from deskpilot.config import EmbeddingSettings, IngestSettings, Settings
from deskpilot.container import Container
from deskpilot.ingest.sources import SourceSpec

REPO = Path(__file__).resolve().parents[1]
KB = REPO / "kb"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")

pytest_plugins = ["tests.margins"]
QUANTIZED_EMBEDDER = os.environ.get("DESKPILOT_EMBEDDING__QUANTIZE", "true").strip().lower() not in ("0", "false", "no")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that use the Postgres server (the fixture, or a database parameter "postgres") are marked
    `postgres`, so `make test-fast` leaves them out."""
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "postgres" in getattr(item, "fixturenames", ()) or "postgres" in params.values():
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(scope="session")
def models_dir() -> Path:
    """The installed model files; fails clearly when `make install` has not put them in place."""
    path = Path(os.environ.get("DESKPILOT_TEST_MODELS_DIR", REPO / "data" / "models"))
    if not (path / "all-MiniLM-L6-v2" / "onnx" / "model.onnx").is_file():
        pytest.fail(f"model files missing in {path}: run `make install` (or `deskpilot models install`)")
    return path


def make_settings(tmp_path: Path, models_dir: Path, provider: str = "local", llm: str | None = None,
                  **ingest: object) -> Settings:
    """Settings isolated in tmp_path (index + database), sharing the installed model files. `provider` is the
    embedding provider, `llm` the LLM provider when given ("fake": the scripted model, no model file loaded).

    With DESKPILOT_TEST_CHROMA=host:port the index is a collection of its own on that Chroma server instead
    of the embedded store (`make test` runs the index-facing tests both ways).
    """
    settings = Settings(
        data_dir=tmp_path / "data",
        models_dir=models_dir,
        # DESKPILOT_EMBEDDING__QUANTIZE=false runs the suite with the fp32 source model instead of the int8 one
        embedding=EmbeddingSettings(provider=provider, quantize=QUANTIZED_EMBEDDER),  # type: ignore[arg-type]
        ingest=IngestSettings(terms_file=REPO / "ingest" / "terms.yaml", **ingest),  # type: ignore[arg-type]
        _env_file=None,  # type: ignore[call-arg]
    )
    if llm is not None:
        settings.llm.provider = llm  # type: ignore[assignment]
    server = os.environ.get("DESKPILOT_TEST_CHROMA", "")
    if server:
        host, _, port = server.rpartition(":")
        settings.chroma_host, settings.chroma_port = host, int(port)
        settings.index.collection = "t" + hashlib.sha256(str(tmp_path.resolve()).encode()).hexdigest()[:16]
    return settings


def sample_service(tmp: Path, models_dir: Path, articles: Sequence[str], *, internal: bool = False, tickets: bool = False,
                   extra: dict[str, str] | None = None,
                   configure: Callable[[Settings], None] | None = None) -> Container:
    """A container with the scripted model and the real index in tmp, over copies of these kb/ articles (and `extra`
    files written beside them: name -> text), plus the internal runbooks and the sample tickets when asked,
    ingested. `configure` changes the settings before anything is built."""
    folder = tmp / "articles"
    folder.mkdir()
    for name in articles:
        shutil.copy(KB / "articles" / name, folder)
    for name, text in (extra or {}).items():
        (folder / name).write_text(text, encoding="utf-8")
    settings = make_settings(tmp, models_dir, llm="fake")
    if configure is not None:
        configure(settings)
    container = Container(settings)
    specs = [SourceSpec(path=folder)]
    if internal:
        specs.append(SourceSpec(path=KB / "internal", audience="internal"))
    if tickets:
        specs.append(SourceSpec(path=KB / "tickets", kind="ticket"))
    report = container.ingestor.run(specs)
    assert report.failed == [], report.failed
    return container


@pytest.fixture
def container(tmp_path: Path, models_dir: Path) -> Container:
    """A container with real Chroma in tmp_path and the real local embedding model."""
    return Container(make_settings(tmp_path, models_dir))


@pytest.fixture
def fake_container(tmp_path: Path) -> Container:
    """A container on the fakes of tests/fakes.py: hashed embeddings, an in-memory index, the scripted model (no
    Chroma, no model files); its database is SQLite in tmp_path."""
    from tests.fakes import fake_container as build

    return build(tmp_path)


@pytest.fixture
def fake_app(fake_container: Container) -> Iterator[Any]:
    """A TestClient on the API built over `fake_container`, its lifespan run."""
    from fastapi.testclient import TestClient

    from deskpilot.api.app import create_app

    with TestClient(create_app(fake_container)) as client:
        yield client


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    """A writable copy of the sample kb/ (articles, internal runbooks, tickets)."""
    target = tmp_path / "kb"
    shutil.copytree(KB, target)
    return target


@contextmanager
def serve_in_thread(app: Any) -> Iterator[str]:
    """Run an ASGI app with uvicorn on a free loopback port in a thread; yields its base URL."""
    import socket
    import threading
    import time

    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "test server did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Callable[[], str]]:
    """A PostgreSQL server on loopback (Debian's binaries); yields a function that makes an empty database
    and returns its URL. Skipped, with the reason, where PostgreSQL is not installed."""
    from tests.postgres import new_database, postgres_server

    try:
        server = postgres_server()
        url = server.__enter__()
    except RuntimeError as exc:
        if "postgres" in os.environ.get("DESKPILOT_TEST_REQUIRE", ""):
            pytest.fail(f"{exc} (`make test` installs Debian's postgresql package: make services)")
        pytest.skip(str(exc))
    try:
        yield lambda: new_database(url)
    finally:
        server.__exit__(None, None, None)
