"""deploy/compose.yaml stays true to the code: its settings parse into what the services expect, its
commands use options the CLIs have, and the model server loads the file `make install` puts in place."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from typer.main import get_command

from deskpilot.cli import app as cli_app
from deskpilot.config import LLMSettings, Settings
from deskpilot.providers.model_files import local_model
from tests.conftest import REPO

COMPOSE = yaml.safe_load((REPO / "deploy" / "compose.yaml").read_text())


def expand(value: str) -> str:
    """Compose's ${VAR:-default} and ${VAR:?message} with no variable set (a placeholder for :?)."""
    return re.sub(r"\$\{(\w+)(?::-([^}]*)|:\?[^}]*)?\}", lambda m: m.group(2) if m.group(2) is not None
                  else "dp_placeholder_widget_key", value)


def test_the_services_and_the_app_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert set(COMPOSE["services"]) == {"app", "chroma", "llm", "postgres"}
    for name, value in COMPOSE["services"]["app"]["environment"].items():
        monkeypatch.setenv(name, expand(str(value)))
    settings = Settings(data_dir=tmp_path, _env_file=None)  # type: ignore[call-arg]
    assert settings.database_url and settings.database_url.startswith("postgresql+psycopg://deskpilot:")
    assert (settings.chroma_host, settings.chroma_port) == ("chroma", 8000)
    assert (settings.llm.provider, settings.llm.base_url) == ("openai", "http://llm:8080/v1")
    assert settings.llm.model == LLMSettings().model  # the name the model server serves (--model_alias)
    assert settings.api.allowed_origins == ["https://help.example.com"]


def test_the_commands_use_real_options() -> None:
    services = COMPOSE["services"]
    serve = get_command(cli_app).commands["serve"]  # type: ignore[attr-defined]
    known = {opt for param in serve.params for opt in param.opts}
    app_command = services["app"]["command"]
    assert app_command[:2] == ["deskpilot", "serve"]
    assert {a for a in app_command[2:] if a.startswith("--")} <= known
    llm = services["llm"]["command"]
    model_file = Path(llm[llm.index("--model") + 1])
    assert str(model_file).endswith("/" + local_model(LLMSettings().model).target)
    assert llm[llm.index("--model_alias") + 1] == LLMSettings().model
    chroma = services["chroma"]["command"]
    assert chroma[:2] == ["chroma", "run"] and chroma[chroma.index("--port") + 1] == "8000"


def test_the_deployment_defaults_are_safe() -> None:
    app = COMPOSE["services"]["app"]
    assert all(str(p).startswith("127.0.0.1:") for p in app["ports"])  # behind a TLS proxy, never 0.0.0.0
    for text in (app["environment"]["DATABASE_URL"], COMPOSE["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"]):
        assert "${POSTGRES_PASSWORD:?" in text and "change-me" not in text  # no default password
    assert not any(str(v).endswith(":ro") and "/app/kb" in str(v) for v in app["volumes"])  # articles can be saved
    dockerfile = (REPO / "deploy" / "Dockerfile").read_text()
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.M)  # the image does not run as root
