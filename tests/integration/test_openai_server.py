"""Scale-out of the model: llama-cpp-python's OpenAI-compatible server on loopback with the bundled model,
and the service answering through the `openai` provider settings alone (the same settings reach vLLM,
Ollama or OpenAI in production)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from deskpilot.api.app import create_app
from deskpilot.config import LLMSettings
from deskpilot.container import Container
from deskpilot.ingest.sources import SourceSpec
from deskpilot.providers.model_files import local_model_file
from tests.conftest import KB, make_settings
from tests.servers import free_port, wait_until_up

pytestmark = [pytest.mark.integration, pytest.mark.llm]


@pytest.fixture(scope="module")
def model_server(models_dir: Path) -> Iterator[str]:
    name = LLMSettings().model
    gguf = local_model_file(models_dir, name)
    if not gguf.is_file():
        pytest.fail(f"local LLM missing in {models_dir}: run `make install`")
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", name,
                               "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--n_threads", "2"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        try:
            wait_until_up(f"http://127.0.0.1:{port}/v1/models", server)
        except RuntimeError as exc:
            pytest.fail(f"llama_cpp.server: {exc}")
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_the_service_answers_through_an_openai_compatible_server(model_server: str, tmp_path: Path,
                                                                 models_dir: Path) -> None:
    articles = tmp_path / "articles"
    articles.mkdir()
    for name in ("reset-password.md", "invite-teammates.md"):
        shutil.copy(KB / "articles" / name, articles)
    settings = make_settings(tmp_path, models_dir)
    settings.llm.provider, settings.llm.base_url = "openai", model_server  # nothing else changes
    settings.assistant.compose = "generate"  # the model writes the answer: every answer goes through the server
    container = Container(settings)
    container.ingestor.run([SourceSpec(path=articles)])
    with TestClient(create_app(container)) as client:
        assert client.get("/readyz").json()["checks"]["llm"]["ok"] is True
        headers = {"Authorization": f"Bearer {container.keys.create('customer', 'c')[1]}"}
        body = client.post("/v1/ask", json={"question": "How long is a password reset link valid?"},
                           headers=headers).json()
    assert body["decision"] == "answer", body
    assert body["citations"][0]["source_id"] == "reset-password"
    assert "llm_ms" in body["timings"] and "first_token_ms" in body["timings"]  # streamed from the server
