"""Personal data customers type never reaches the logs: questions, hand-offs, feedback and tickets with an
e-mail address, a phone number and a card number go through the API while every logger records at DEBUG."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from deskpilot.api.app import create_app
from deskpilot.container import Container
from deskpilot.ingest.sources import SourceSpec
from tests.conftest import KB, make_settings

pytestmark = pytest.mark.integration

PII = ["jane.doe@example.com", "+1 415 555 0134", "4111 1111 1111 1111", "Jane Doe"]
TEXT = f"Hi, I'm {PII[3]} ({PII[0]}, {PII[1]}). My card {PII[2]} was charged twice, and I forgot my password."


def test_nothing_customers_type_is_logged(tmp_path: Path, models_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    articles = tmp_path / "articles"
    articles.mkdir()
    for name in ("reset-password.md", "payment-methods-and-failed-payments.md"):
        shutil.copy(KB / "articles" / name, articles)
    settings = make_settings(tmp_path, models_dir, llm="fake")
    container = Container(settings)
    container.ingestor.run([SourceSpec(path=articles)])
    caplog.set_level(logging.DEBUG)
    with TestClient(create_app(container)) as client:
        customer = {"Authorization": f"Bearer {container.keys.create('customer', 'c')[1]}"}
        agent = {"Authorization": f"Bearer {container.keys.create('agent', 'a')[1]}"}
        first = client.post("/v1/ask", json={"question": TEXT}, headers=customer).json()
        conversation = first["conversation_id"]
        client.post("/v1/ask", json={"question": f"Please call me at {PII[1]}", "conversation_id": conversation},
                    headers=customer)
        with client.stream("POST", "/v1/ask", json={"question": TEXT, "stream": True}, headers=customer) as streamed:
            "".join(streamed.iter_text())
        client.post(f"/v1/conversations/{conversation}/handoff", json={"reason": f"e-mail me at {PII[0]}"},
                    headers=customer)
        client.post("/v1/feedback", json={"rating": "down", "comment": TEXT, "conversation_id": conversation},
                    headers=customer)
        ticket = client.post("/v1/tickets", json={"subject": PII[3], "body": TEXT}, headers=agent).json()["id"]
        for tool in ("draft", "summary", "suggest", "classify"):
            client.post(f"/v1/tickets/{ticket}/{tool}", headers=agent)
        client.post("/v1/ask", json={"question": TEXT * 200}, headers=customer)  # refused: too long
        client.post("/v1/ask", json={"question": TEXT, "nonsense": PII[0]}, headers=customer)  # refused: 422
    logged = "\n".join(f"{r.name}: {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert caplog.records, "nothing was logged at all: the check would prove nothing"
    offending = [r.getMessage()[:300] for r in caplog.records if any(p in r.getMessage() for p in PII)]
    assert not [p for p in PII if p in logged], offending[:5]
