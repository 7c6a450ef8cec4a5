"""`deskpilot analytics`, `deskpilot review` and `deskpilot gaps` as a support manager and a KB editor run them
(on a database with recorded conversations; run as in tests/cli.py)."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from deskpilot.api.app import create_app
from deskpilot.container import Container
from deskpilot.ingest.sources import SourceSpec
from tests.cli import deskpilot
from tests.conftest import KB, make_settings

pytestmark = pytest.mark.integration


def test_operations_commands(tmp_path: Path, models_dir: Path) -> None:
    articles = tmp_path / "articles"
    articles.mkdir()
    shutil.copy(KB / "articles" / "reset-password.md", articles)
    settings = make_settings(tmp_path, models_dir, llm="fake")
    container = Container(settings)
    container.ingestor.run([SourceSpec(path=articles)])
    with TestClient(create_app(container)) as client:
        customer = {"Authorization": f"Bearer {container.keys.create('customer', 'c')[1]}"}
        decisions = [client.post("/v1/ask", json={"question": q}, headers=customer).json()["decision"]
                     for q in ("How do I reset my password?", "Can I pay my invoice with bitcoin?",
                               "Do you accept bitcoin or other cryptocurrencies?", "Is bitcoin accepted as payment?")]
    data = settings.data_dir
    env = {"DESKPILOT_LLM__PROVIDER": "fake"}

    kpis = deskpilot(["analytics", "--since", "1h", "--json"], data, models_dir, tmp_path, env)
    assert kpis.returncode == 0, kpis.stderr
    assert json.loads(kpis.stdout)["conversations"]["started"] == 4
    assert json.loads(kpis.stdout)["answers"]["escalated"] == decisions.count("escalate")
    table = deskpilot(["analytics", "--from", "2020-01-01", "--to", "2020-01-31"], data, models_dir, tmp_path, env)
    assert table.returncode == 0 and "conversations started" in table.stdout
    bad = deskpilot(["analytics", "--from", "last tuesday"], data, models_dir, tmp_path, env)
    assert bad.returncode == 2 and "not a date" in bad.stderr

    exported = tmp_path / "review.csv"
    review = deskpilot(["review", "--since", "1d", "--csv", str(exported)], data, models_dir, tmp_path, env)
    assert review.returncode == 0, review.stderr
    rows = list(csv.DictReader(exported.open(encoding="utf-8")))
    assert len(rows) == decisions.count("escalate") and all(r["kind"] == "escalation" for r in rows)

    gaps = deskpilot(["gaps", "--since", "7d", "--json"], data, models_dir, tmp_path, env)
    assert gaps.returncode == 0, gaps.stderr
    report = json.loads(gaps.stdout)
    bitcoin = [c for c in report["clusters"] if any("bitcoin" in e for e in c["examples"])]
    assert len(bitcoin) == 1 and bitcoin[0]["size"] == 3
    # The fake model answers with whatever the proposal's schema asks (a title and three outline points); a
    # reply that is not a proposal is tests/unit/test_ops_gaps.py's case.
    proposal = bitcoin[0]["proposal"]
    assert bitcoin[0]["proposal_error"] is None and proposal["title"] and 3 <= len(proposal["outline"]) <= 7
    text = deskpilot(["gaps", "--since", "7d", "--no-propose"], data, models_dir, tmp_path, env)
    assert text.returncode == 0 and "bitcoin" in text.stdout
    wrong = deskpilot(["gaps", "--since", "soon"], data, models_dir, tmp_path, env)
    assert wrong.returncode == 2 and "not a duration" in wrong.stderr

    hygiene = deskpilot(["hygiene", "--json"], data, models_dir, tmp_path, env)
    assert hygiene.returncode == 0, hygiene.stderr
    found = json.loads(hygiene.stdout)
    assert found["conflicts"] == [] and set(found) >= {"stale", "undated", "never_cited", "window"}
    assert "reset-password" not in {a["source_id"] for a in found["never_cited"]}  # cited by the first answer
    table = deskpilot(["hygiene"], data, models_dir, tmp_path, env)
    assert table.returncode == 0 and "Never cited" in table.stdout and "Conflicts: 0" in table.stdout

    # Retention: nothing here is a day old, so a one-day purge removes nothing; without a period it is an error.
    kept = deskpilot(["purge", "--older-than", "1", "--dry-run", "--json"], data, models_dir, tmp_path, env)
    assert kept.returncode == 0, kept.stderr
    assert json.loads(kept.stdout)["conversations"] == 0 and json.loads(kept.stdout)["dry_run"] is True
    assert container.helpdesk.escalations("open")  # still there
    none = deskpilot(["purge"], data, models_dir, tmp_path, env)
    assert none.returncode == 2 and "retention period" in none.stderr
