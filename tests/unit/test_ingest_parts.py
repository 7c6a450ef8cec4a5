"""Redaction, term normalisation, ticket exports and chunking on hand-made input with known answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deskpilot.errors import ConfigError, IngestionError
from deskpilot.index.documents import Section, SourceDocument, translation_group
from deskpilot.index.terms import TermNormalizer
from deskpilot.ingest.chunking import Chunker
from deskpilot.ingest.loaders import configure_unstructured, load_article
from deskpilot.ingest.redact import Redactor, iban_valid, luhn_valid
from deskpilot.ingest.tickets import load_ticket_export
from deskpilot.text.tokens import get_encoding
from tests.conftest import KB, REPO


def test_every_placeholder_type() -> None:
    text = ("Hi Maria, mail maria.g@acme.example or call +1 415-555-0134 / (415) 555-0199 / +33 6 12 34 56 78. "
            "Card 4111 1111 1111 1111, IBAN DE89 3704 0044 0532 0130 00, from 203.0.113.42 and 2001:db8::8a2e:370:7334. "
            "Thanks, Tom Becker")
    result = Redactor(["Maria Gonzalez", "Tom Becker"]).redact(text)
    assert result.text == ("Hi [NAME], mail [EMAIL] or call [PHONE] / [PHONE] / [PHONE]. Card [CARD], IBAN [IBAN], "
                           "from [IP] and [IP]. Thanks, [NAME]")
    assert dict(result.counts) == {"NAME": 2, "EMAIL": 1, "PHONE": 3, "CARD": 1, "IBAN": 1, "IP": 2}


def test_checksums_and_lookalikes_are_left_alone() -> None:
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert iban_valid("GB82 WEST 1234 5698 7654 32") and not iban_valid("GB82 WEST 1234 5698 7654 33")
    text = ("Invoice INV-2026-00481 for $1,440.00, version 4.12.1 on 2026-03-02 at 10:15:00, ticket #1042, "
            "ERR_SYNC_409, card 4111 1111 1111 1112, grace period, Priyanka")
    assert Redactor(["Grace Liu", "Priya Raman"]).redact(text).text == text


def test_terms_are_whole_words_and_never_inside_links(tmp_path: Path) -> None:
    terms = TermNormalizer({"password": ["pwd", "mdp"], "two-factor authentication": ["2fa"]})
    assert terms.normalize("Forgot my PWD and mdp; 2FA lost") == "Forgot my password and password; two-factor authentication lost"
    linked = "see https://x.example/pwd/reset or pwd@x.example"
    assert terms.normalize(linked) == linked
    assert terms.normalize("pwdx is not pwd") == "pwdx is not password"
    real = TermNormalizer.from_file(REPO / "ingest" / "terms.yaml")
    assert real.normalize("mdp oublié") == "password oublié"
    path = tmp_path / "terms.yaml"
    path.write_text("terms: [1, 2]")
    with pytest.raises(ConfigError):
        TermNormalizer.from_file(path)
    assert TermNormalizer.from_file(tmp_path / "missing.yaml").normalize("pwd") == "pwd"
    assert TermNormalizer({"a": ["b"]}).fingerprint != TermNormalizer({"a": ["c"]}).fingerprint


def ticket(**fields: object) -> dict:
    base = {"id": 7, "subject": "Export fails", "description": "Export stops at 50%", "status": "solved",
            "requester": {"name": "Ana Souza", "email": "ana@x.example"}, "comments": [
                {"author_role": "agent", "author_name": "Sam Lee", "public": True, "body": "Try a smaller range."},
                {"author_role": "agent", "author_name": "Sam Lee", "public": False, "body": "Known bug ORB-12."}],
            "resolution": "Fixed in 4.2."}
    base.update(fields)
    return base


def test_ticket_exports_in_three_formats() -> None:
    rows = [ticket(), ticket(id=8, status="open"), {"subject": "no id"}, ticket(id=9, title="Alias", subject=None)]
    docs, failures, skipped = load_ticket_export(json.dumps({"tickets": rows}).encode(), "t.json", ".json",
                                                 "t.json", "public", ["solved", "closed"])
    assert [d.source_id for d in docs] == ["ticket-7", "ticket-9"]
    assert skipped == 1
    assert [(f.source, f.error) for f in failures] == [("t.json#row-3", "malformed ticket row: missing or invalid ticket id")]
    sections = {s.heading: s for s in docs[0].sections}
    assert list(sections) == ["Problem", "Conversation", "Resolution", "Internal notes"]
    assert sections["Internal notes"].audience == "internal" and "ORB-12" in sections["Internal notes"].text
    assert docs[1].title == "Alias"
    assert {"Ana Souza", "Sam Lee", "ana@x.example"} <= set(docs[0].personal_names)

    jsonl = (json.dumps(ticket()) + "\n{broken\n").encode()
    docs, failures, _ = load_ticket_export(jsonl, "t.jsonl", ".jsonl", "t.jsonl", "public", ["solved"])
    assert len(docs) == 1 and failures[0].source == "t.jsonl#row-2"

    comments = '"[{""role"": ""agent"", ""body"": ""Reset done"", ""internal"": true}]"'
    header = "id,subject,description,status,tags,requester_name,comments"
    csv_text = f"{header}\n11,Login,Cannot log in,closed,a;b,Ana Souza,{comments}\n"
    docs, failures, _ = load_ticket_export(csv_text.encode(), "t.csv", ".csv", "t.csv", "public", ["closed"])
    assert failures == [] and docs[0].extra["tags"] == "a,b"
    assert docs[0].sections[-1].heading == "Internal notes"
    with pytest.raises(IngestionError, match="invalid JSON"):
        load_ticket_export(b"[{", "t.json", ".json", "t.json", "public", ["solved"])


def test_sample_export_has_40_solved_tickets() -> None:
    path = KB / "tickets" / "tickets.json"
    docs, failures, skipped = load_ticket_export(path.read_bytes(), path.name, ".json", "tickets.json", "public",
                                                 ["solved", "closed"])
    assert (len(docs), skipped, failures) == (40, 6, [])


def test_chunks_are_bounded_overlapping_and_deterministic(models_dir: Path) -> None:
    chunker = Chunker(get_encoding(models_dir), chunk_size=60, overlap=15)
    long = " ".join(f"Step {i} tells you to open Settings and click Save number {i}." for i in range(40))
    doc = SourceDocument("guide", "article", "public", "Guide", "kb/guide.md",
                         [Section("Intro", "Short intro line."), Section("Steps", long),
                          Section("Notes", "Internal only: use the admin console.", "internal")],
                         url="https://x/guide", updated_at="2026-01-01", language="en")
    chunks = chunker.chunk(doc)
    bodies = [c.text.split("\n\n", 1)[1] for c in chunks]
    assert all(chunker.count(b) <= 60 + 15 for b in bodies)
    steps = [c for c in chunks if c.metadata["section"] == "Steps"]
    assert len(steps) > 3
    last_sentences = [a.text.splitlines()[-1] for a in steps[:-1]]
    assert all(last in b.text for last, b in zip(last_sentences, steps[1:], strict=True))  # overlap
    assert chunks[-1].metadata["audience"] == "internal" and "Internal only" in chunks[-1].text
    assert all("Internal only" not in c.text for c in chunks[:-1])
    assert all(c.text.startswith("Guide\n") for c in chunks)
    assert [c.chunk_id for c in chunker.chunk(doc)] == [c.chunk_id for c in chunks]
    for chunk in chunks:
        assert all(isinstance(v, str | int | float | bool) for v in chunk.metadata.values())
    doc.sections[2] = Section("Notes", "Internal only: use the new console.", "internal")
    changed = {c.chunk_id for c in chunker.chunk(doc)} ^ {c.chunk_id for c in chunks}
    assert len(changed) == 2  # only the last chunk's id changed


@pytest.mark.parametrize("url", ["javascript:alert(document.cookie)", " JavaScript:alert(1)", "java\tscript:alert(1)",
                                 "data:text/html,<script>alert(1)</script>", "file:///etc/passwd"])
def test_only_web_links_are_kept_from_front_matter(tmp_path: Path, models_dir: Path, url: str) -> None:
    configure_unstructured(models_dir)  # the parser's data files, offline
    path = tmp_path / "a.md"
    path.write_text(f"---\ntitle: Hello\nurl: {json.dumps(url)}\n---\n\n## Steps\n\nDo this.\n")
    assert load_article(path, path.read_bytes(), "a", "a.md", "public").url == ""
    path.write_text("---\ntitle: Hello\nurl: https://help.example/a\n---\n\nDo this.\n")
    assert load_article(path, path.read_bytes(), "a", "a.md", "public").url == "https://help.example/a"


def test_numbered_steps_stay_numbered_and_bullets_stay_bullets(tmp_path: Path, models_dir: Path) -> None:
    configure_unstructured(models_dir)
    path = tmp_path / "reset.md"
    path.write_text("---\ntitle: Reset\n---\n\n## Reset\n\nTo reset it:\n\n1. Go to **Settings**.\n2. Click Reset.\n\n"
                    "## Rules\n\nIt must:\n\n- be long;\n- be new.\n")
    sections = load_article(path, path.read_bytes(), "reset", "reset.md", "public").sections
    assert [s.text for s in sections] == ["To reset it:\n1. Go to Settings.\n2. Click Reset.", "It must:\n- be long;\n- be new."]
    # options indented by 3 spaces under a step (CommonMark nests them; Python-Markdown puts them in the <ol>)
    path.write_text("---\ntitle: Keys\n---\n\n## Create a key\n\n1. Click **Create**.\n2. Choose a scope:\n"
                    "   - **Read only** – GET only.\n   - **Admin** – everything.\n3. Click Save.\n")
    sections = load_article(path, path.read_bytes(), "keys", "keys.md", "public").sections
    assert sections[0].text == ("1. Click Create.\n2. Choose a scope:\n- Read only – GET only.\n- Admin – everything.\n"
                                "3. Click Save.")
    page = tmp_path / "steps.html"
    page.write_text("<html><body><h1>Steps</h1><h2>Later steps</h2><ol start='3'><li>Open <b>File</b>.</li>"
                    "<li>Save.</li></ol><ul><li>A tip.</li></ul></body></html>")
    sections = load_article(page, page.read_bytes(), "steps", "steps.html", "public").sections
    assert sections[-1].text == "3. Open File.\n4. Save.\n- A tip."


def markdown_page(title: str, heading: str, body: str) -> str:
    """A Markdown article: front matter with its title, then one section."""
    return f"---\ntitle: {title}\n---\n\n## {heading}\n\n{body}"


def texts_of(tmp_path: Path, name: str, content: str) -> list[str]:
    """The sections' texts of an article file with this content."""
    path = tmp_path / name
    path.write_text(content)
    return [s.text for s in load_article(path, path.read_bytes(), path.stem, name, "public").sections]


def test_steps_with_paragraphs_of_their_own_keep_their_numbers(tmp_path: Path, models_dir: Path) -> None:
    configure_unstructured(models_dir)
    # Markdown: a paragraph indented under a step makes the list loose (each item's text in a <p>)
    assert texts_of(tmp_path, "merge.md", markdown_page("Merge", "To merge", "1. Choose **Tools - Mail Merge "
                    "Wizard**.\n\n    You see the wizard:\n\n2. Select a template.\n\n    You see the New dialog.\n\n"
                    "3. Select Letter.\n\n4. Click Finish.\n")) == [
        "1. Choose Tools - Mail Merge Wizard.\nYou see the wizard:\n2. Select a template.\nYou see the New dialog.\n"
        "3. Select Letter.\n4. Click Finish."]
    html = ("<html><body><h1>Merge</h1><h2>To merge</h2><ol><li><p>Choose Tools.</p><p>You see the wizard.</p></li>"
            "<li><p>Select a template.</p></li><li>Click Finish.</li></ol></body></html>")
    assert texts_of(tmp_path, "merge.html", html)[-1] == ("1. Choose Tools.\nYou see the wizard.\n2. Select a template.\n"
                                                          "3. Click Finish.")


def test_a_table_is_a_row_a_line_each_cell_named_by_its_header(tmp_path: Path, models_dir: Path) -> None:
    configure_unstructured(models_dir)
    assert texts_of(tmp_path, "prices.md", markdown_page("Prices", "Prices", "What each plan costs:\n\n"
                    "| Plan | Billed monthly | Billed yearly |\n|---|---|---|\n| Team | $12 per user | $10 per user |\n"
                    "| Enterprise | Custom | |\n")) == [
        "What each plan costs:\n- Plan: Team; Billed monthly: $12 per user; Billed yearly: $10 per user\n"
        "- Plan: Enterprise; Billed monthly: Custom"]
    # a first row of sentences is data, not a header (a converted two-column table of what to do and how)
    assert texts_of(tmp_path, "protect.md", markdown_page("Protect", "Passwords", "| Turning on protection | "
                    "Choose File - Save As. Mark Save with password. |\n|---|---|\n| Turning off protection | Clear "
                    "Save with password. |\n")) == [
        "- Turning on protection — Choose File - Save As. Mark Save with password.\n"
        "- Turning off protection — Clear Save with password."]
    # without a header row the cells are joined; a cell's sentences stay whole
    html = ("<html><body><h1>Keys</h1><h2>Shortcuts</h2><table><tr><td>Ctrl+Shift+Space</td><td>Inserts a "
            "non-breaking space. It keeps <b>10 kg</b> together.</td></tr><tr><td>Ctrl+Minus</td><td>A soft hyphen."
            "</td></tr></table></body></html>")
    assert texts_of(tmp_path, "keys.html", html)[-1] == (
        "- Ctrl+Shift+Space — Inserts a non-breaking space. It keeps 10 kg together.\n- Ctrl+Minus — A soft hyphen.")


def test_a_markdown_list_right_under_a_paragraph_line_is_a_list(tmp_path: Path, models_dir: Path) -> None:
    configure_unstructured(models_dir)
    assert texts_of(tmp_path, "2fa.md", markdown_page("2FA", "Lost your phone?", "**No recovery codes?**\n"
                    "- **Members**: ask an Admin to reset your 2FA.\n- **Owners**: contact support.\n\nTo reset:\n"
                    "1. Open Admin.\n2. Click Reset.\n\nWe charge\n2. per seat.\n\n```\nlog\n- not an item\n```\n")) == [
        "No recovery codes?\n- Members: ask an Admin to reset your 2FA.\n- Owners: contact support.\nTo reset:\n"
        "1. Open Admin.\n2. Click Reset.\nWe charge 2. per seat.\nlog\n- not an item"]


def test_a_page_and_its_translations_share_a_translation_group() -> None:
    from_front_matter = translation_group("fr/reinitialiser", "https://help.example/fr/articles/reinitialiser", "reset")
    assert from_front_matter == translation_group("reset", "https://help.example/articles/reset") == "reset"
    english = translation_group("a", "https://help.libreoffice.org/latest/en-US/text/swriter/guide/words_count.html")
    french = translation_group("fr/a", "https://help.libreoffice.org/latest/fr/text/swriter/guide/words_count.html")
    assert english == french == "https://help.libreoffice.org/latest/text/swriter/guide/words_count.html"
    assert translation_group("b", "https://help.example/hc/articles/b") == "b"  # no locale in the URL: itself
    assert translation_group("c") == "c"


def test_a_models_folder_without_the_parser_model_does_not_stop_a_later_one_from_configuring_it(
        tmp_path: Path, models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A container on a test's (or half-installed) models folder ingests first: the installed folder's spaCy model
    must still be used afterwards, not downloaded (a DOCX failed with "Failed to download spaCy model")."""
    import unstructured.nlp.tokenize as tokenize

    from deskpilot.ingest import loaders
    from deskpilot.providers.model_files import SPACY_DIR

    monkeypatch.setattr(loaders, "_setup_done", False)
    monkeypatch.setattr(tokenize, "_SPACY_MODEL_NAME", "en_core_web_sm")
    configure_unstructured(tmp_path)
    assert tokenize._SPACY_MODEL_NAME == "en_core_web_sm"
    configure_unstructured(models_dir)
    assert str(models_dir / SPACY_DIR) == tokenize._SPACY_MODEL_NAME
