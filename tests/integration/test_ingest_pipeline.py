"""Ingestion end to end: real Chroma in a temp dir, real local embeddings, the sample kb/."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from deskpilot.container import Container
from deskpilot.errors import ConflictError
from deskpilot.ingest.sources import SourceSpec
from tests.conftest import FIXTURES, KB, REPO, make_settings

pytestmark = pytest.mark.integration

METADATA_KEYS = {"source_id", "title", "path", "url", "section", "kind", "audience", "language",
                 "updated_at", "content_hash", "chunk_index"}


def specs(kb: Path) -> list[SourceSpec]:
    return [
        SourceSpec(path=kb / "articles", kind="article", audience="public"),
        SourceSpec(path=kb / "internal", kind="article", audience="internal"),
        SourceSpec(path=kb / "tickets", kind="ticket", audience="public"),
    ]


def index_state(container: Container) -> dict[str, set[str]]:
    """source id -> chunk ids actually in Chroma."""
    state: dict[str, set[str]] = {}
    for chunk_id, source_id in container.store.all_ids().items():
        state.setdefault(source_id, set()).add(chunk_id)
    return state


def assert_consistent(container: Container) -> None:
    """Index and record agree exactly: no duplicates, no orphans, nothing pending."""
    records = container.record.sources()
    assert not container.record.pending()
    assert index_state(container) == {sid: set(r.ids) for sid, r in records.items()}
    assert container.store.count() == container.record.total_chunks()


@pytest.fixture(scope="module")
def full_kb(tmp_path_factory: pytest.TempPathFactory, models_dir: Path):
    """The whole sample kb/ ingested once (module-scoped: the expensive part)."""
    tmp = tmp_path_factory.mktemp("fullkb")
    kb = tmp / "kb"
    shutil.copytree(KB, kb)
    container = Container(make_settings(tmp, models_dir))
    first = container.ingestor.run(specs(kb))
    return container, kb, first


def test_first_ingest_indexes_every_source(full_kb) -> None:
    container, _, first = full_kb
    assert first.failed == []
    # 23 English + 4 French articles, 4 runbooks, 40 solved tickets (6 unsolved skipped).
    assert first.added == 31 + 40
    assert first.skipped == 6
    assert first.chunks_embedded == container.store.count() > 71
    assert_consistent(container)


def test_second_run_embeds_nothing(full_kb) -> None:
    container, kb, first = full_kb
    again = container.ingestor.run(specs(kb))
    assert again.as_json()["chunks_embedded"] == 0
    assert (again.added, again.updated, again.deleted, again.unchanged) == (0, 0, 0, first.added)
    assert_consistent(container)


def test_no_raw_pii_anywhere_in_the_collection(full_kb) -> None:
    container, _, _ = full_kb
    data = container.store.collection.get(include=["documents", "metadatas"])
    blob = "\n".join(data["documents"]) + "\n" + "\n".join(json.dumps(m) for m in data["metadatas"])
    pii = [line.strip() for line in (FIXTURES / "sample_pii.txt").read_text().splitlines() if line.strip()]
    assert len(pii) > 200
    leaks = [p for p in pii if re.search(r"(?<!\w)" + re.escape(p) + r"(?!\w)", blob)]
    assert leaks == []
    assert "[EMAIL]" in blob and "[PHONE]" in blob and "[CARD]" in blob and "[IBAN]" in blob and "[NAME]" in blob


def test_chunk_metadata_complete(full_kb) -> None:
    container, _, _ = full_kb
    metadatas = container.store.collection.get(include=["metadatas"])["metadatas"]
    for meta in metadatas:
        assert set(meta) >= METADATA_KEYS, meta
        assert meta["kind"] in ("article", "ticket") and meta["audience"] in ("public", "internal")
        assert meta["title"] and meta["source_id"] and len(meta["content_hash"]) == 64
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", meta["updated_at"]), meta
    by_source = {m["source_id"]: m for m in metadatas}
    assert by_source["reset-password"]["url"] == "https://help.orbitly.example/articles/reset-password"
    assert by_source["fr/reinitialiser-mot-de-passe"]["language"] == "fr"
    assert by_source["reset-password"]["language"] == "en"
    assert all(m["audience"] == "internal" for m in metadatas if m["source_id"] == "refund-approval")
    notes = [m for m in metadatas if m["kind"] == "ticket" and m["section"] == "Internal notes"]
    assert notes and all(m["audience"] == "internal" for m in notes)
    assert {"ticket-1001", "security-and-data-retention", "refund-policy", "import-projects",
            "scheduled-maintenance-2026-06-13", "roles-and-permissions"} <= set(by_source)


def small_kb(root: Path) -> Path:
    """A few articles and a tickets export: enough for the edit/delete/bad-input cases, quick to embed."""
    kb = root / "small"
    (kb / "articles").mkdir(parents=True)
    for name in ("reset-password.md", "webhooks.md", "refund-policy.docx", "roles-and-permissions.html"):
        shutil.copy(KB / "articles" / name, kb / "articles" / name)
    (kb / "tickets").mkdir()
    tickets = json.loads((KB / "tickets" / "tickets.json").read_text())[:8]
    (kb / "tickets" / "export.json").write_text(json.dumps(tickets, indent=1))
    return kb


def small_specs(kb: Path) -> list[SourceSpec]:
    return [SourceSpec(path=kb / "articles"), SourceSpec(path=kb / "tickets", kind="ticket")]


def test_editing_one_file_replaces_exactly_its_chunks(container: Container, tmp_path: Path) -> None:
    kb = small_kb(tmp_path)
    container.ingestor.run(small_specs(kb))
    before = index_state(container)
    article = kb / "articles" / "reset-password.md"
    article.write_text(article.read_text().replace("valid for **60 minutes**", "valid for **30 minutes**"))
    report = container.ingestor.run(small_specs(kb))
    after = index_state(container)
    assert (report.updated, report.added, report.deleted) == (1, 0, 0)
    assert 1 <= report.chunks_embedded < len(before["reset-password"])  # only the changed chunk(s)
    assert {k: v for k, v in after.items() if k != "reset-password"} == {
        k: v for k, v in before.items() if k != "reset-password"}
    changed = after["reset-password"] - before["reset-password"]
    assert len(after["reset-password"]) == len(before["reset-password"]) and changed
    texts = container.store.get(sorted(after["reset-password"]))
    assert any("valid for 30 minutes" in hit.text for hit in texts)
    assert not any("valid for 60 minutes" in hit.text for hit in texts)
    assert_consistent(container)


def test_deleting_a_file_removes_its_chunks(container: Container, tmp_path: Path) -> None:
    kb = small_kb(tmp_path)
    container.ingestor.run(small_specs(kb))
    (kb / "articles" / "webhooks.md").unlink()
    report = container.ingestor.run(small_specs(kb))
    assert (report.deleted, report.chunks_embedded) == (1, 0)
    assert container.store.ids_of_source("webhooks") == []
    assert "webhooks" not in container.record.sources()
    assert_consistent(container)


def test_ticket_export_changes_are_per_ticket(container: Container, tmp_path: Path) -> None:
    kb = small_kb(tmp_path)
    first = container.ingestor.run(small_specs(kb))
    export = kb / "tickets" / "export.json"
    tickets = json.loads(export.read_text())
    solved = [t for t in tickets if t["status"] in ("solved", "closed")]
    solved[0]["resolution"] = "A completely different resolution text about webhooks."
    removed = solved[1]
    tickets.remove(removed)
    export.write_text(json.dumps(tickets))
    report = container.ingestor.run(small_specs(kb))
    assert (report.updated, report.deleted, report.added) == (1, 1, 0)
    assert report.unchanged == first.added - 2
    assert container.store.ids_of_source(f"ticket-{removed['id']}") == []
    assert_consistent(container)


def test_bad_input_fails_alone_and_the_rest_goes_in(container: Container, tmp_path: Path) -> None:
    kb = small_kb(tmp_path)
    articles = kb / "articles"
    (articles / "empty.md").write_text("")
    (articles / "binary.md").write_bytes(b"\x00\x01\x02PNG\x00" * 50)
    (articles / "latin1.md").write_bytes("# Réinitialiser\n\nCafé très fermé".encode("latin-1"))
    (articles / "corrupt-docx.docx").write_bytes(b"PK\x03\x04 definitely not a zip file")
    (articles / "corrupt-pdf.pdf").write_bytes(b"%PDF-1.4\n garbage garbage")
    (articles / "notes.xyz").write_text("what is this")
    (articles / "huge.md").write_text("# Big\n\n" + "word " * 400_000)
    export = kb / "tickets" / "export.json"
    tickets = json.loads(export.read_text())
    tickets.append({"subject": "no id here", "status": "solved"})
    tickets.append({"id": 99999, "status": "solved"})
    export.write_text(json.dumps(tickets))
    (kb / "tickets" / "broken.json").write_text('[{"id": 1, "subject": "x"')
    container.settings.ingest.max_file_mb = 1.0
    container.forget("ingestor")

    report = container.ingestor.run(small_specs(kb))

    reasons = {f.source: f.error for f in report.failed}
    assert set(reasons) == {"empty", "binary", "latin1", "corrupt-docx", "corrupt-pdf", "notes", "huge",
                            "broken.json", "export.json#row-9", "export.json#row-10"}, reasons
    assert len(report.failed) == 10
    assert "empty" in reasons["empty"]
    assert "binary" in reasons["binary"]
    assert "UTF-8" in reasons["latin1"]
    assert "MB" in reasons["huge"] and "limit" in reasons["huge"]
    assert "unsupported format .xyz" in reasons["notes"]
    assert "invalid JSON" in reasons["broken.json"]
    assert "DOCX" in reasons["corrupt-docx"] and "PDF" in reasons["corrupt-pdf"]
    row_errors = [e for s, e in reasons.items() if "#row-" in s]
    assert len(row_errors) == 2 and all("malformed ticket row" in e for e in row_errors)
    solved = sum(t.get("status") in ("solved", "closed") and "id" in t and "subject" in t for t in tickets)
    assert report.added == 4 + solved  # the 4 good articles and every good solved ticket still went in
    assert_consistent(container)


def test_crash_mid_run_is_repaired_by_the_next_run(container: Container, tmp_path: Path, monkeypatch) -> None:
    kb = small_kb(tmp_path)
    container.ingestor.run(small_specs(kb)[:1])
    article = kb / "articles" / "webhooks.md"
    article.write_text(article.read_text().replace("Webhooks", "Outgoing webhooks"))
    calls = {"n": 0}
    real_upsert = container.store.upsert

    def crashing_upsert(chunks, progress=None, batch=64, embed_text=None):
        calls["n"] += 1
        real_upsert(chunks[: len(chunks) // 2], progress, batch, embed_text)  # half written, then the process "dies"
        raise KeyboardInterrupt

    monkeypatch.setattr(container.store, "upsert", crashing_upsert)
    with pytest.raises(KeyboardInterrupt):
        container.ingestor.run(small_specs(kb))
    assert calls["n"] == 1 and container.record.pending()
    monkeypatch.undo()

    report = container.ingestor.run(small_specs(kb))
    assert report.repaired >= 1 and report.failed == []
    assert_consistent(container)
    titles = {hit.metadata["title"] for hit in container.store.get(container.store.ids_of_source("webhooks"))}
    assert titles == {"Outgoing webhooks"}


def test_killed_process_leaves_a_repairable_index(tmp_path: Path, models_dir: Path) -> None:
    """A real SIGKILL of the ingesting process between the Chroma write and the record commit."""
    kb = small_kb(tmp_path)
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(REPO)!r})
        from tests.conftest import make_settings
        from deskpilot.container import Container
        from deskpilot.ingest.sources import SourceSpec
        from pathlib import Path
        container = Container(make_settings(Path({str(tmp_path)!r}), Path({str(models_dir)!r})))
        real = container.record.mark_done
        def die(*args, **kwargs):
            os.kill(os.getpid(), signal.SIGKILL)
        container.record.mark_done = die
        container.ingestor.run([SourceSpec(path=Path({str(kb / 'articles')!r}))])
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == -signal.SIGKILL, result.stderr[-2000:]
    container = Container(make_settings(tmp_path, models_dir))
    assert container.store.count() > 0 and container.record.pending()  # written but not committed
    report = container.ingestor.run(small_specs(kb))
    assert report.failed == [] and report.repaired >= 1
    assert_consistent(container)
    assert set(container.record.sources()) >= {"reset-password", "webhooks", "refund-policy", "roles-and-permissions"}


def test_a_second_ingestion_is_refused_while_one_writes(tmp_path: Path, models_dir: Path) -> None:
    """The CLI, an API job or another machine: one writer per index, the other gets a clear error."""
    kb = small_kb(tmp_path)
    running = Container(make_settings(tmp_path, models_dir))
    token = running.record.acquire_writer()
    other = Container(make_settings(tmp_path, models_dir))
    with pytest.raises(ConflictError, match="another ingestion is running"):
        other.ingestor.run(small_specs(kb))
    assert other.store.count() == 0 and other.record.sources() == {}
    running.record.release_writer(token)
    assert other.ingestor.run(small_specs(kb)).failed == []
    assert_consistent(other)


def test_orphan_chunks_are_removed(container: Container, tmp_path: Path) -> None:
    kb = small_kb(tmp_path)
    container.ingestor.run(small_specs(kb))
    container.store.collection.add(ids=["stray#0:abc"], documents=["stray"], embeddings=[[0.1] * 384],
                                   metadatas=[{"source_id": "stray"}])
    container.ingestor.run(small_specs(kb))
    assert container.store.ids_of_source("stray") == []
    assert_consistent(container)


def test_full_rebuild_and_single_file(container: Container, tmp_path: Path) -> None:
    kb = small_kb(tmp_path)
    first = container.ingestor.run(small_specs(kb))
    rebuilt = container.ingestor.run(small_specs(kb), full=True)
    assert rebuilt.added == first.added and rebuilt.chunks_embedded == first.chunks_embedded
    single = container.ingestor.run([SourceSpec(path=kb / "articles" / "webhooks.md")])
    assert single.failed == [] and single.deleted == 0
    assert_consistent(container)
