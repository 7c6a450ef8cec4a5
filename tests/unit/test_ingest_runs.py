"""Ingestion runs on the fakes (in-memory index, hashed embeddings): a changed file is indexed again, an unchanged one
skipped without embedding, a deleted one removed from the index, and a corrupt file reported while the rest goes
through."""

from __future__ import annotations

from pathlib import Path

from deskpilot.container import Container
from deskpilot.ingest.sources import SourceSpec


def article(folder: Path, name: str, title: str, body: str) -> None:
    (folder / f"{name}.md").write_text(f"---\ntitle: {title}\n---\n\n## {title}\n\n{body}\n", encoding="utf-8")


def test_changed_files_are_indexed_again_unchanged_skipped_and_deleted_removed(fake_container: Container,
                                                                                tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    article(folder, "refunds", "Refunds", "Refunds are paid back within 5 days.")
    article(folder, "invoices", "Invoices", "Invoices are sent on the first day of the month.")
    article(folder, "sso", "Single sign-on", "Single sign-on works with SAML and OIDC providers.")
    spec = [SourceSpec(path=folder)]
    first = fake_container.ingestor.run(spec)
    assert (first.added, first.updated, first.unchanged, first.deleted, first.failed) == (3, 0, 0, 0, [])
    before = fake_container.store.all_ids()
    assert set(before.values()) == {"refunds", "invoices", "sso"} and first.chunks_embedded == len(before)

    article(folder, "refunds", "Refunds", "Refunds are paid back within 10 days.")
    (folder / "sso.md").unlink()
    second = fake_container.ingestor.run(spec)
    assert (second.added, second.updated, second.unchanged, second.deleted, second.failed) == (0, 1, 1, 1, [])
    after = fake_container.store.all_ids()
    assert set(after.values()) == {"refunds", "invoices"}
    assert {c for c, s in after.items() if s == "invoices"} == {c for c, s in before.items() if s == "invoices"}
    refunds = [hit.text for hit in fake_container.store.get([c for c, s in after.items() if s == "refunds"])]
    assert any("10 days" in text for text in refunds) and not any("5 days" in text for text in refunds)
    assert second.chunks_embedded == len(refunds)  # only the changed article was embedded again
    assert fake_container.record.total_chunks() == len(after)

    third = fake_container.ingestor.run(spec)
    assert (third.unchanged, third.chunks_embedded, fake_container.store.all_ids()) == (2, 0, after)


def test_a_corrupt_file_is_reported_and_the_others_go_through(fake_container: Container, tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    article(folder, "refunds", "Refunds", "Refunds are paid back within 5 days.")
    (folder / "broken.md").write_bytes(b"\x00\x01binary garbage\x00")
    (folder / "empty.docx").write_bytes(b"not a zip file")
    article(folder, "invoices", "Invoices", "Invoices are sent on the first day of the month.")
    report = fake_container.ingestor.run([SourceSpec(path=folder)])
    assert report.added == 2 and set(fake_container.store.all_ids().values()) == {"refunds", "invoices"}
    failed = {f.source: f.error for f in report.failed}
    assert set(failed) == {"broken", "empty"}
    assert "binary content" in failed["broken"]
    # Fixed, the file goes in on the next run; the others are left alone.
    article(folder, "broken", "Export", "Exports are e-mailed as a link.")
    again = fake_container.ingestor.run([SourceSpec(path=folder)])
    assert (again.added, again.unchanged) == (1, 2) and [f.source for f in again.failed] == ["empty"]
