"""Secrets come from the environment (or .env) and go nowhere else: not into settings dumps, logs, readiness
output or error messages, even when the database and the model server behind them are unreachable."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from deskpilot.api.app import create_app
from deskpilot.config import Settings
from deskpilot.container import Container

LLM_KEY = "sk-live-llm-0123456789abcdef"
EMBED_KEY = "sk-live-embed-0123456789abcdef"
DB_PASSWORD = "pg-pass-0123456789"


def test_secrets_never_leave_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / ".env").write_text(f"DESKPILOT_EMBEDDING__API_KEY={EMBED_KEY}\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DESKPILOT_LLM__PROVIDER", "openai")
    monkeypatch.setenv("DESKPILOT_LLM__BASE_URL", "http://127.0.0.1:9/v1")  # nothing listens there
    monkeypatch.setenv("DESKPILOT_LLM__API_KEY", LLM_KEY)
    settings = Settings(data_dir=tmp_path / "data")  # reads .env from the working directory
    assert settings.llm.api_key is not None and settings.llm.api_key.get_secret_value() == LLM_KEY
    assert settings.embedding.api_key is not None and settings.embedding.api_key.get_secret_value() == EMBED_KEY
    dumps = [repr(settings), str(settings), settings.model_dump_json(), str(settings.model_dump())]
    assert not any(secret in text for text in dumps for secret in (LLM_KEY, EMBED_KEY))

    caplog.set_level(logging.DEBUG)
    settings.database_url = f"postgresql+psycopg://deskpilot:{DB_PASSWORD}@127.0.0.1:9/deskpilot"  # unreachable
    container = Container(settings)
    client = TestClient(create_app(container), raise_server_exceptions=False)
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["checks"]["database"] == {"ok": False, "error": "unavailable"}
    assert "127.0.0.1" not in ready.text and "psycopg" not in ready.text  # details go to the log only
    asked = client.post("/v1/ask", json={"question": "hello"}, headers={"Authorization": "Bearer dp_whatever_key"})
    assert asked.status_code in (401, 503)
    seen = "\n".join([ready.text, asked.text, caplog.text])
    for secret in (LLM_KEY, EMBED_KEY, DB_PASSWORD):
        assert secret not in seen, secret
