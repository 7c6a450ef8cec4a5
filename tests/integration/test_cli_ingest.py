"""`deskpilot ingest` and `deskpilot search` as a KB editor runs them (in a process of their own where what a process
does is the point: exit codes, one-line errors, JSON alone on stdout; else in the test process, see tests/cli.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.cli import deskpilot
from tests.conftest import KB

pytestmark = pytest.mark.integration


def test_ingest_paths_json_contract_and_exit_codes(tmp_path: Path, models_dir: Path) -> None:
    articles = tmp_path / "articles"
    articles.mkdir()
    for name in ("reset-password.md", "webhooks.md"):
        shutil.copy(KB / "articles" / name, articles / name)
    data = tmp_path / "data"

    ok = deskpilot(["ingest", "articles", "--kind", "article", "--audience", "public", "--json"], data, models_dir, tmp_path,
                   process=True)
    assert ok.returncode == 0, ok.stderr
    report = json.loads(ok.stdout)
    assert set(report) == {"added", "updated", "unchanged", "deleted", "failed", "chunks_embedded", "seconds"}
    assert (report["added"], report["failed"]) == (2, []) and report["chunks_embedded"] > 0

    (articles / "broken.docx").write_bytes(b"not a docx")
    bad = deskpilot(["ingest", "articles", "--json"], data, models_dir, tmp_path)
    assert bad.returncode == 1
    report = json.loads(bad.stdout)
    assert report["unchanged"] == 2 and report["chunks_embedded"] == 0
    assert report["failed"] == [{"source": "broken", "error": report["failed"][0]["error"]}]
    assert "DOCX" in report["failed"][0]["error"]

    table = deskpilot(["ingest", "articles"], data, models_dir, tmp_path)
    assert table.returncode == 1
    assert "Ingestion summary" in table.stdout and "broken" in table.stdout and "unchanged" in table.stdout

    found = deskpilot(["search", "how long is a reset link valid", "--json"], data, models_dir, tmp_path)
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)
    assert hits[0]["source_id"] == "reset-password" and 0 < hits[0]["score"] <= 1


def test_ingest_reports_configuration_errors_in_one_line(tmp_path: Path, models_dir: Path) -> None:
    missing = deskpilot(["ingest"], tmp_path / "data", models_dir, tmp_path, process=True)  # no ingest/sources.yaml
    assert missing.returncode == 2
    assert "sources file" in missing.stderr and "Traceback" not in missing.stderr
    wrong = deskpilot(["ingest", "x", "--kind", "video"], tmp_path / "data", models_dir, tmp_path)
    assert wrong.returncode == 2 and "--kind must be article or ticket" in wrong.stderr


def test_missing_model_files_say_what_to_run(tmp_path: Path) -> None:
    articles = tmp_path / "articles"
    articles.mkdir()
    shutil.copy(KB / "articles" / "webhooks.md", articles)
    result = deskpilot(["ingest", "articles", "--json"], tmp_path / "data", tmp_path / "no-models", tmp_path,
                       process=True)
    assert result.returncode == 2
    assert "deskpilot models install" in result.stderr and "Traceback" not in result.stderr


def test_ask_json_contract_with_the_fake_llm(tmp_path: Path, models_dir: Path) -> None:
    articles = tmp_path / "articles"
    articles.mkdir()
    shutil.copy(KB / "articles" / "reset-password.md", articles)
    data = tmp_path / "data"
    assert deskpilot(["ingest", "articles", "--json"], data, models_dir, tmp_path).returncode == 0
    env_fake = {"DESKPILOT_LLM__PROVIDER": "fake"}
    result = deskpilot(["ask", "How long is a password reset link valid?", "--json"], data, models_dir, tmp_path, env_fake,
                       process=True)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert set(answer) == {"answer", "citations", "confidence", "decision", "reasons", "language"}
    assert answer["decision"] == "answer" and answer["language"] == "en"
    assert set(answer["citations"][0]) == {"source_id", "title", "url", "snippet"}
    # A conversation: --record stores the turn and gives its id, --conversation continues it (as the API does)
    first = deskpilot(["ask", "How long is a password reset link valid?", "--record", "--json"], data, models_dir,
                      tmp_path, env_fake)
    assert first.returncode == 0, first.stderr
    started = json.loads(first.stdout)
    assert started["conversation_id"] and started["ticket_id"] is None
    follow = deskpilot(["ask", "and can I use it twice?", "--conversation", started["conversation_id"], "--json"],
                       data, models_dir, tmp_path, env_fake)
    assert follow.returncode == 0, follow.stderr
    assert json.loads(follow.stdout)["conversation_id"] == started["conversation_id"]
    lost = deskpilot(["ask", "anything", "--conversation", "nope", "--json"], data, models_dir, tmp_path, env_fake)
    assert lost.returncode == 2 and "no conversation 'nope'" in lost.stderr
    empty = deskpilot(["ask", "  ", "--json"], data, models_dir, tmp_path, env_fake)
    assert empty.returncode == 2 and "empty" in empty.stderr
    unknown = deskpilot(["draft", "ticket-424242", "--json"], data, models_dir, tmp_path, env_fake)
    assert unknown.returncode == 2 and "no ticket ticket-424242" in unknown.stderr
