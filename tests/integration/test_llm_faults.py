"""An OpenAI-compatible LLM endpoint that is down, slow or answers garbage: every ask escalates with
llm_unavailable and opens a ticket, never a 5xx; readiness reports a dead endpoint and recovers with it.
Answers are written by the model here (compose = generate); composed answers need no model in English
(tests/integration/test_assistant_fake_llm.py)."""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from fastapi.testclient import TestClient

from deskpilot.api.app import create_app
from deskpilot.container import Container
from deskpilot.ingest.sources import SourceSpec
from tests.conftest import KB, make_settings
from tests.servers import free_port

pytestmark = pytest.mark.integration

MODE = {"value": "ok"}


def fake_openai() -> FastAPI:
    """A minimal OpenAI-compatible server whose behaviour MODE switches."""
    app = FastAPI()

    @app.get("/v1/models")
    def models() -> dict:
        return {"object": "list", "data": [{"id": "fake", "object": "model"}]}

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        body = await request.json()
        mode = MODE["value"]
        if mode == "slow":
            await asyncio.sleep(4)
        if mode == "garbage":
            return HTMLResponse("<html><body>502 Bad Gateway</body></html>", status_code=200)
        if mode == "error":
            return JSONResponse({"error": {"message": "model crashed"}}, status_code=500)
        text = "Reset links are valid for 60 minutes [1]."
        if not body.get("stream"):
            return JSONResponse({"id": "x", "object": "chat.completion", "created": 0, "model": "fake", "choices": [
                {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}]})

        def events() -> Iterator[str]:
            for piece in (text[:20], text[20:]):
                chunk = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "fake",
                         "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
                yield f"data: {json.dumps(chunk)}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return app


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[tuple[TestClient, Container, int]]:
    tmp = tmp_path_factory.mktemp("faults")
    articles = tmp / "articles"
    articles.mkdir()
    for name in ("reset-password.md", "invite-teammates.md"):
        shutil.copy(KB / "articles" / name, articles)
    port = free_port()
    settings = make_settings(tmp, models_dir)
    settings.llm.provider = "openai"
    settings.llm.base_url = f"http://127.0.0.1:{port}/v1"
    settings.llm.model = "fake"
    settings.llm.timeout = 1.5
    settings.assistant.compose = "generate"  # the path that needs the model for every answer
    container = Container(settings)
    container.ingestor.run([SourceSpec(path=articles)])
    with TestClient(create_app(container)) as client:
        yield client, container, port


def ask(client: TestClient, container: Container) -> dict:
    key = container.keys.create("customer", "faults")[1]
    response = client.post("/v1/ask", json={"question": "How long is a password reset link valid?"},
                           headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200, response.text
    return response.json()


def test_a_dead_endpoint_escalates_and_readiness_recovers_with_it(setup: tuple[TestClient, Container, int]) -> None:
    client, container, port = setup
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["checks"]["llm"]["ok"] is False
    answer = ask(client, container)
    assert answer["decision"] == "escalate" and answer["reasons"] == ["llm_unavailable"]
    assert answer["ticket_id"] is not None and "60 minutes" not in answer["answer"]
    ticket = client.get(f"/v1/tickets/{answer['ticket_id']}",
                        headers={"Authorization": f"Bearer {container.keys.create('agent', 'a')[1]}"}).json()
    assert "llm_unavailable" in ticket["escalation"]["reasons"]

    server = uvicorn.Server(uvicorn.Config(fake_openai(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        MODE["value"] = "ok"
        assert client.get("/readyz").status_code == 200
        assert ask(client, container)["decision"] == "answer"  # the endpoint is back: answers again
        for mode in ("slow", "garbage", "error"):
            MODE["value"] = mode
            started = time.monotonic()
            answer = ask(client, container)
            assert (mode, answer["decision"], answer["reasons"]) == (mode, "escalate", ["llm_unavailable"])
            assert answer["ticket_id"] is not None
            assert time.monotonic() - started < 15  # the timeout holds (one retry at most)
    finally:
        MODE["value"] = "ok"
        server.should_exit = True
        thread.join(timeout=10)
