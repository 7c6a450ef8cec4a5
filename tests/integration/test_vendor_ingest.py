"""Zendesk and Freshdesk exports through the whole ingestion: real Chroma and embeddings, and the CLI (tests/cli.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from deskpilot.container import Container
from deskpilot.ingest.sources import SourceSpec
from tests.cli import deskpilot
from tests.conftest import FIXTURES, make_settings
from tests.unit.test_vendor_imports import PEOPLE

pytestmark = pytest.mark.integration


def test_pipeline_indexes_vendor_exports(tmp_path: Path, models_dir: Path) -> None:
    exports = tmp_path / "exports"
    for vendor in ("zendesk", "freshdesk"):
        shutil.copytree(FIXTURES / vendor, exports / vendor)
    (exports / "zendesk" / "broken.json").write_text('{"tickets": [{"id": 1,')
    container = Container(make_settings(tmp_path, models_dir))
    specs = [SourceSpec(path=exports / "zendesk", format="zendesk"),
             SourceSpec(path=exports / "freshdesk", format="freshdesk")]

    report = container.ingestor.run(specs)
    # 4 + 3 articles, 3 + 2 solved tickets; 2 drafts and 3 unsolved tickets skipped; one broken file.
    assert (report.added, report.skipped) == (12, 5)
    assert [f.source for f in report.failed] == ["broken.json"]
    assert report.failed[0].error.startswith("invalid JSON at line 1")

    _, texts, metadatas = container.store.load_all()
    by_source: dict[str, list[dict[str, object]]] = {}
    for meta in metadatas:
        by_source.setdefault(str(meta["source_id"]), []).append(meta)
    assert {m["audience"] for m in by_source["zendesk-article-360001234503"]} == {"internal"}
    assert {m["audience"] for m in by_source["freshdesk-article-70000040201"]} == {"internal"}
    assert by_source["zendesk-article-360001234505"][0]["language"] == "fr"
    assert by_source["freshdesk-article-70000040103"][0]["language"] == "fr"  # detected
    notes = [m for m in metadatas if m["kind"] == "ticket" and m["section"] == "Internal notes"]
    assert {m["source_id"] for m in notes} == {"ticket-4101", "ticket-4102", "ticket-4104", "ticket-5501"}
    assert all(m["audience"] == "internal" for m in notes)
    indexed = "\n".join(texts)
    assert not [p for p in PEOPLE if p in indexed]  # names and e-mails redacted
    assert "Sign-on with Okta" not in indexed and "Passkeys" not in indexed

    question = "a customer disputes a charge above 500 EUR, escalate to finance Tier 2"
    customer = container.retriever.search(question, role="customer", k=8)
    agent = container.retriever.search(question, role="agent", k=8)
    assert customer.chunks and all(c.metadata["audience"] == "public" for c in customer.chunks)
    assert "zendesk-article-360001234503" not in {c.metadata["source_id"] for c in customer.chunks}
    assert agent.chunks[0].metadata["source_id"] == "zendesk-article-360001234503"

    again = container.ingestor.run(specs)
    assert (again.added, again.updated, again.deleted, again.unchanged, again.chunks_embedded) == (0, 0, 0, 12, 0)


def test_cli_ingest_with_a_vendor_format(tmp_path: Path, models_dir: Path) -> None:
    shutil.copytree(FIXTURES / "zendesk", tmp_path / "zendesk")
    data = tmp_path / "data"
    ok = deskpilot(["ingest", "--format", "zendesk", "zendesk", "--json"], data, models_dir, tmp_path)
    assert ok.returncode == 0, ok.stderr
    report = json.loads(ok.stdout)
    assert set(report) == {"added", "updated", "unchanged", "deleted", "failed", "chunks_embedded", "seconds"}
    assert (report["added"], report["failed"]) == (7, []) and report["chunks_embedded"] > 0

    again = json.loads(deskpilot(["ingest", "--format", "zendesk", "zendesk", "--json"], data, models_dir, tmp_path).stdout)
    assert (again["added"], again["unchanged"], again["chunks_embedded"]) == (0, 7, 0)

    wrong = deskpilot(["ingest", "zendesk", "--format", "intercom"], data, models_dir, tmp_path)
    assert wrong.returncode == 2
    assert "--format must be auto or one of freshdesk, zendesk, not 'intercom'" in wrong.stderr
    assert "Traceback" not in wrong.stderr
