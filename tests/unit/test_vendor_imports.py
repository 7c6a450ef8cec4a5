"""Zendesk and Freshdesk exports: mapping on fixtures written from the vendors' documented schemas."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deskpilot.errors import ConfigError, IngestionError, UnsupportedFormatError
from deskpilot.index.documents import SourceDocument
from deskpilot.ingest.loaders import configure_unstructured
from deskpilot.ingest.sources import load_sources
from deskpilot.ingest.vendors import VendorFormat, html_to_text, load_vendor_export
from tests.conftest import FIXTURES

SOLVED = ["solved", "closed", "resolved"]
PEOPLE = ["Marie Dubois", "marie.dubois@example.com", "Tom Becker", "tom.becker@example.org",
          "Sofia Lindqvist", "sofia.lindqvist@example.net", "Lukas Meyer", "lukas.meyer@example.de"]


@pytest.fixture(autouse=True)
def _unstructured(models_dir: Path) -> None:
    configure_unstructured(models_dir)


def load(fmt: VendorFormat, name: str) -> tuple[dict[str, SourceDocument], list[str], int]:
    path = FIXTURES / fmt / name
    docs, failures, skipped = load_vendor_export(fmt, path.read_bytes(), path.name, path.suffix, name, "public", SOLVED)
    return {d.source_id: d for d in docs}, [f"{f.source}: {f.error}" for f in failures], skipped


def sections(doc: SourceDocument) -> dict[str, tuple[str, str | None]]:
    return {s.heading: (s.text, s.audience) for s in doc.sections}


def test_zendesk_articles_keep_title_audience_dates_language_and_url() -> None:
    docs, failures, skipped = load("zendesk", "articles.json")
    assert failures == [] and skipped == 1  # the draft (Single sign-on with Okta)
    assert {sid: (d.title, d.audience, d.updated_at, d.language) for sid, d in docs.items()} == {
        "zendesk-article-360001234501": ("How to reset your password", "public", "2024-03-12", "en"),
        "zendesk-article-360001234502": ("Exporting invoices as CSV", "public", "2024-02-01", "en"),
        "zendesk-article-360001234503": ("Escalating billing disputes to finance", "internal", "2024-04-20", "en"),
        "zendesk-article-360001234505": ("Activer la validation en deux étapes", "public", "2024-01-17", "fr"),
    }
    reset = docs["zendesk-article-360001234501"]
    assert reset.url == "https://acme.zendesk.com/hc/en-us/articles/360001234501-How-to-reset-your-password"
    assert reset.kind == "article" and reset.extra["tags"] == "password,login"
    # HTML cleaned like .html articles: headings become section headings, list items "- ", no tags left.
    assert [s.heading for s in reset.sections] == ["", "Request a reset link", "The e-mail does not arrive"]
    assert sections(reset)["Request a reset link"][0].splitlines()[0] == (
        "- Open the sign-in page and click Forgot password?")
    assert all("<" not in s.text for d in docs.values() for s in d.sections)


def test_zendesk_translation_gets_its_locale_in_the_source_id() -> None:
    article = json.loads((FIXTURES / "zendesk" / "articles.json").read_text())["articles"][0]
    translated = {**article, "locale": "de", "title": "Passwort zurücksetzen",
                  "body": "<p>Klicken Sie auf Passwort vergessen.</p>"}
    data = json.dumps({"articles": [article, translated]}).encode()
    docs, failures, _ = load_vendor_export("zendesk", data, "a.json", ".json", "a.json", "public", SOLVED)
    assert failures == []
    assert [(d.source_id, d.language) for d in docs] == [
        ("zendesk-article-360001234501", "en"), ("zendesk-article-360001234501-de", "de")]


def test_zendesk_tickets_keep_comments_in_order_and_internal_notes_internal() -> None:
    docs, failures, skipped = load("zendesk", "tickets.json")
    assert failures == [] and skipped == 1  # 4103 is open
    assert sorted(docs) == ["ticket-4101", "ticket-4102"]
    ticket = docs["ticket-4101"]
    assert (ticket.kind, ticket.title, ticket.updated_at) == ("ticket", "Password reset email never arrives", "2024-04-03")
    assert ticket.extra["status"] == "solved" and ticket.extra["priority"] == "normal"
    parts = sections(ticket)
    assert list(parts) == ["Problem", "Conversation", "Internal notes"]
    # The first comment repeats the description and is dropped; the rest keep their order and roles.
    conversation = parts["Conversation"][0].splitlines()
    assert conversation[0].startswith("Agent: Hello Marie, our mail provider bounced")
    assert conversation[1] == "Customer: That worked, the reset link arrived after allow-listing the sender. Thanks!"
    assert parts["Internal notes"] == (
        "Agent note: Internal: Mailgun log shows a 550 SPF rejection for this domain. Jonas Weber confirmed "
        "it is on the customer side, no action for ops.", "internal")
    # Redaction gets every person of the export (side-loaded users), names and e-mails.
    assert {"Marie Dubois", "marie.dubois@example.com", "Jonas Weber", "tom.becker@example.org"} <= set(
        ticket.personal_names)
    # A comment with only html_body is cleaned to text.
    closed = sections(docs["ticket-4102"])["Conversation"][0]
    assert closed == ("Agent: Hi Tom, the export used the account currency.\n"
                      "We switched it to your subscription currency; please export again.")


def test_zendesk_incremental_ndjson() -> None:
    docs, failures, skipped = load("zendesk", "incremental.ndjson")
    assert failures == [] and skipped == 1  # 4105 is pending
    parts = sections(docs["ticket-4104"])
    assert parts["Conversation"][0].startswith("Agent: After rotating the secret")
    assert parts["Internal notes"][1] == "internal"


def test_freshdesk_nested_solutions_map_visibility_drafts_and_urls() -> None:
    docs, failures, skipped = load("freshdesk", "solutions.json")
    assert failures == [] and skipped == 1  # "Passkeys (coming soon)" is status 1, a draft
    assert {sid: (d.title, d.audience, d.updated_at) for sid, d in docs.items()} == {
        "freshdesk-article-70000040101": ("Changing the email address of your account", "public", "2024-05-20"),
        "freshdesk-article-70000040103": ("Supprimer votre compte", "public", "2024-02-11"),
        "freshdesk-article-70000040201": ("Verifying identity before an account takeover fix", "internal", "2024-04-30"),
    }
    change = docs["freshdesk-article-70000040101"]
    assert change.url == "https://acme.freshdesk.com/support/solutions/articles/70000040101"
    assert [s.heading for s in change.sections] == ["Before you start", "Change the address"]
    assert "<b>" not in change.text and "- Open Profile settings." in change.text


def test_freshdesk_flat_article_list_uses_folder_visibility() -> None:
    nested = json.loads((FIXTURES / "freshdesk" / "solutions.json").read_text())
    folders = nested["categories"][0]["folders"]
    articles = [a for f in folders for a in f.pop("articles")]
    data = json.dumps({"folders": folders, "articles": articles}).encode()
    docs, failures, skipped = load_vendor_export("freshdesk", data, "f.json", ".json", "f.json", "public", SOLVED)
    assert failures == [] and skipped == 1
    assert {d.source_id: d.audience for d in docs}["freshdesk-article-70000040201"] == "internal"
    assert sum(d.audience == "public" for d in docs) == 2


def test_freshdesk_tickets_map_status_priority_and_private_notes() -> None:
    docs, failures, skipped = load("freshdesk", "tickets.json")
    assert failures == [] and skipped == 1  # 5503 is status 2, open
    first, second = docs["ticket-5501"], docs["ticket-5502"]
    assert (first.extra["status"], first.extra["priority"], first.updated_at) == ("solved", "medium", "2024-06-02")
    assert (second.extra["status"], second.extra["priority"]) == ("closed", "high")
    parts = sections(first)
    assert parts["Problem"][0].startswith("Hi, I changed my email yesterday")
    assert [line.split(":")[0] for line in parts["Conversation"][0].splitlines()] == ["Agent", "Customer"]
    assert parts["Internal notes"] == ("Agent note: Internal: the confirmation mail went to spam, resent it "
                                       "manually from the admin console.", "internal")
    # HTML-only bodies are cleaned; an embedded requester object names the customer for redaction.
    assert sections(second)["Problem"][0] == "Our CSV import of contacts stops at row 5000 without an error."
    assert "<" not in second.text and "Lukas Meyer" in second.personal_names
    assert {"Sofia Lindqvist", "Daniel Okafor", "sofia.lindqvist@example.net"} <= set(first.personal_names)


def test_malformed_vendor_files_fail_clearly() -> None:
    def run(fmt: VendorFormat, body: str, ext: str = ".json") -> tuple[int, list[str], int]:
        docs, failures, skipped = load_vendor_export(fmt, body.encode(), "x" + ext, ext, "x" + ext, "public", SOLVED)
        return len(docs), [f"{f.source}: {f.error}" for f in failures], skipped

    with pytest.raises(IngestionError, match="invalid JSON at line 1"):
        run("zendesk", '{"articles": [')
    with pytest.raises(IngestionError, match="not a Zendesk export: expected an 'articles' or 'tickets'"):
        run("zendesk", '{"sections": []}')
    with pytest.raises(IngestionError, match="not a Freshdesk export"):
        run("freshdesk", '{"companies": []}')
    with pytest.raises(UnsupportedFormatError, match=r"unsupported vendor export format \.csv"):
        run("zendesk", "id,subject", ".csv")
    count, failures, _ = run("zendesk", json.dumps({"tickets": [
        {"subject": "no id", "status": "solved"}, {"id": 7, "subject": "ok", "status": "solved"}, {"id": 8}]}))
    assert count == 1
    assert failures == ["x.json#row-1: malformed zendesk ticket: missing or invalid ticket id",
                        "x.json#row-3: not a zendesk article or ticket (no title or subject)"]
    count, failures, _ = run("freshdesk", '{"id": 1, "subject": "a", "status": 4}\n{not json\n', ".ndjson")
    assert count == 1 and failures == ["x.ndjson#line-2: invalid JSON (Expecting property name enclosed in double quotes)"]


def test_html_to_text_keeps_blocks_as_lines() -> None:
    assert html_to_text("<div>Hi,<br>line two &amp; more</div><p> x  y </p>") == "Hi,\nline two & more\nx y"


def test_sources_yaml_accepts_a_vendor_format(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n  - path: exports/zendesk\n    format: zendesk\n  - path: kb/articles\n")
    specs = load_sources(path)
    assert [s.format for s in specs] == ["zendesk", "auto"]
    path.write_text("sources:\n  - path: exports\n    format: intercom\n")
    with pytest.raises(ConfigError, match="format"):
        load_sources(path)


def test_vendor_formats_are_the_registered_vendors_and_an_unknown_format_is_refused_by_name(tmp_path: Path) -> None:
    from deskpilot.ingest.vendors import VENDORS

    assert {"zendesk", "freshdesk"} <= set(VENDORS)
    assert all(key == vendor.key for key, vendor in VENDORS.items())
    sources = tmp_path / "sources.yaml"
    sources.write_text("sources:\n  - path: exports\n    format: helpscout\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="helpscout"):
        load_sources(sources)
    sources.write_text("sources:\n  - path: exports\n    format: zendesk\n", encoding="utf-8")
    assert load_sources(sources)[0].format == "zendesk"
