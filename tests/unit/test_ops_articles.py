"""Solved ticket -> draft KB article: name detection in redaction, drafts from the helpdesk database and from
the index (no personal data, no internal notes reach the model or the draft), and saving into the KB folder."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest
import yaml
from langchain_core.messages import BaseMessage
from pydantic import Field
from sqlalchemy.orm import sessionmaker

from deskpilot.assist.language import handoff_message
from deskpilot.assist.prompts import PromptLibrary
from deskpilot.config import AssistantSettings
from deskpilot.db import make_engine, make_sessionmaker
from deskpilot.errors import ConflictError, InvalidInputError, LLMError, LLMOutputError, NotFoundError
from deskpilot.helpdesk.models import TicketMessageRow, TicketRow
from deskpilot.helpdesk.store import HelpdeskStore
from deskpilot.index.store import ChunkStore, SearchHit
from deskpilot.ingest.records import IngestRecord, SourceRecord
from deskpilot.ingest.redact import Redactor, introduced_names
from deskpilot.ops.articles import TicketArticles, parse_article, slugify
from deskpilot.providers.llm import ExtractiveFakeChat
from tests.conftest import KB, REPO, make_settings
from tests.fakes import fake_llm

ARTICLE = ("# Fix a sync that stopped after a password change\n\n"
           "When the mobile app stops syncing after you changed your password, sign in again.\n\n"
           "## Steps\n1. Open **Settings > Account**.\n2. Tap **Sign out**, then sign in with the new password.\n")
PII = ["jane.doe@acme.example", "+1 415-555-0134", "4111 1111 1111 1111", "Jane", "Doe"]


# -- redaction: names people introduce or sign with ----------------------------------------------

@pytest.mark.parametrize(("text", "names"), [
    ("Hi, I'm Jane Doe and I can't log in.", ["Jane Doe"]),
    ("my name is Jane, owner of the workspace", ["Jane"]),
    ("Hello, this is Jane from Acme.", ["Jane"]),
    ("Bonjour, je m'appelle Marie Dupont et je suis cliente.", ["Marie Dupont"]),
    ("Hallo, ich bin Hans Müller.", ["Hans Müller"]),
    ("Ich heiße Hans Müller und habe eine Frage.", ["Hans Müller"]),
    ("Hola, me llamo Ana.", ["Ana"]),
    ("Ciao, mi chiamo Luca.", ["Luca"]),
    ("I’m Jane O’Brien", ["Jane O’Brien"]),
    ("It fails again.\n\nThanks,\nTom\nOrbitly Support", ["Tom"]),
    ("Best regards,\n\nMaria Gonzalez", ["Maria Gonzalez"]),
    ("Merci d'avance.\nCordialement,\nMarie-Claire de la Tour", ["Marie-Claire de la Tour"]),
    ("Gruß,\nJürgen", ["Jürgen"]),
    ("Saludos,\nAna María López", ["Ana María López"]),
    ("Cheers,\nPriya", ["Priya"]),
    ("Hi Maria,\n\nthe refund is on its way.", ["Maria"]),
    ("Dear Mr Smith,\nplease check.", ["Smith"]),
    ("Thanks,\nTom Becker\n\nI'm Jane.", ["Tom Becker", "Jane"]),
])
def test_introduced_and_signed_names_are_found_in_several_languages(text: str, names: list[str]) -> None:
    assert introduced_names(text) == names


@pytest.mark.parametrize("text", [
    "I'm having trouble with the timer.",
    "I'm Not able to log in since Monday.",
    "this is Urgent, please help",
    "This is Urgent!!",
    "This is Chrome on Windows 11.",
    "I am Admin of our workspace and I'm the owner.",
    "Ich bin Kunde seit 2020 und Ich bin Neu hier.",
    "Je suis Client depuis 2019.",
    "I'm JANE",
    "Thanks,\nThe Orbitly Team",
    "Thanks,\nAcme Support",
    "Dear Sir or Madam,\nHi all,\nHi there,",
    "Thanks for the quick answer, Regards",
])
def test_ordinary_sentences_are_not_taken_for_names(text: str) -> None:
    assert introduced_names(text) == []
    result = Redactor(detect_names=True).redact(text)
    assert (result.text, dict(result.counts)) == (text, {})


def test_detected_names_are_replaced_everywhere_in_the_text() -> None:
    text = "Hi, I'm Jane Doe. Call me Jane; JANE on the badge. Mail jane.doe@acme.example.\nThanks,\nJane"
    result = Redactor(detect_names=True).redact(text)
    assert result.text == "Hi, I'm [NAME]. Call me [NAME]; [NAME] on the badge. Mail [EMAIL].\nThanks,\n[NAME]"
    assert dict(result.counts) == {"NAME": 4, "EMAIL": 1}
    known = Redactor(["Tom Becker"], detect_names=True).redact("I'm Jane. Tom Becker replied.")
    assert known.text == "I'm [NAME]. [NAME] replied."


def test_without_the_option_redaction_is_unchanged() -> None:
    text = "Hi, I'm Jane Doe.\nThanks,\nTom Becker, tom@orbitly.example"
    assert Redactor().redact(text).text == "Hi, I'm Jane Doe.\nThanks,\nTom Becker, [EMAIL]"
    assert Redactor(["Tom Becker"]).redact(text).text == "Hi, I'm Jane Doe.\nThanks,\n[NAME], [EMAIL]"


# -- fixtures -------------------------------------------------------------------------------------

class CapturingFake(ExtractiveFakeChat):
    """The fake model, remembering every prompt it was given."""

    seen: list[str] = Field(default_factory=list)

    def _reply(self, messages: list[BaseMessage], **kwargs: Any) -> str:
        self.seen.append("\n".join(str(m.content) for m in messages))
        return super()._reply(messages, **kwargs)


class FakeChunks:
    """The two ChunkStore calls the article service makes, over fixed hits."""

    def __init__(self, hits: list[SearchHit]) -> None:
        self.hits = {h.chunk_id: h for h in hits}

    def get(self, ids: list[str]) -> list[SearchHit]:
        return [self.hits[i] for i in ids if i in self.hits]

    def ids_of_source(self, source_id: str) -> list[str]:
        return [i for i, h in self.hits.items() if h.metadata["source_id"] == source_id]


@pytest.fixture
def sessions(tmp_path: Path) -> sessionmaker:  # type: ignore[type-arg]
    return make_sessionmaker(make_engine(f"sqlite:///{tmp_path / 'db' / 'deskpilot.db'}"))


def _service(sessions: sessionmaker, tmp_path: Path, model: CapturingFake,  # type: ignore[type-arg]
             store: Any = None) -> TicketArticles:
    llm = fake_llm(model=model)
    return TicketArticles(HelpdeskStore(sessions), cast(ChunkStore, store or FakeChunks([])), IngestRecord(sessions),
                          lambda: llm, PromptLibrary(REPO / "prompts"), AssistantSettings(company="Orbitly"),
                          tmp_path / "kb" / "articles" / "from-tickets")


def _solved_ticket(sessions: sessionmaker, status: str = "solved") -> int:  # type: ignore[type-arg]
    helpdesk = HelpdeskStore(sessions)
    ticket_id = helpdesk.create_ticket(
        "Sync stopped after password change",
        "Hi, I'm Jane Doe. The iPhone app stopped syncing after I changed my password. "
        "Reach me at jane.doe@acme.example or +1 415-555-0134. Card on file 4111 1111 1111 1111.")
    with sessions.begin() as session:
        session.add_all([
            TicketMessageRow(ticket_id=ticket_id, role="assistant", content=handoff_message("en", False)),
            TicketMessageRow(ticket_id=ticket_id, role="note", content="SECRET-NOTE: reset her token in Mission Control"),
            TicketMessageRow(ticket_id=ticket_id, role="agent", content="Hi Jane,\n\nplease sign out and sign in again "
                             "with the new password.\n\nBest,\nTom"),
            TicketMessageRow(ticket_id=ticket_id, role="customer", content="That worked, thanks!\n\nCheers,\nJane"),
        ])
        row = session.get(TicketRow, ticket_id)
        assert row is not None
        row.status = status
    return ticket_id


def _front_matter(markdown: str) -> dict[str, Any]:
    assert markdown.startswith("---\n")
    return cast(dict[str, Any], yaml.safe_load(markdown.split("---\n", 2)[1]))


# -- drafts ---------------------------------------------------------------------------------------

def test_draft_from_a_helpdesk_ticket_is_redacted_with_provenance(sessions: sessionmaker, tmp_path: Path,  # type: ignore[type-arg]
                                                                  models_dir: Path) -> None:
    ticket_id = _solved_ticket(sessions)
    leaky = ARTICLE + "3. Still stuck? Write to jane.doe@acme.example.\n"
    model = CapturingFake(scripted=[leaky])
    draft = _service(sessions, tmp_path, model).draft(f"helpdesk:{ticket_id}")

    prompt = model.seen[0]
    for secret in [*PII, "Tom", "SECRET-NOTE", "Mission Control", handoff_message("en", False)[:40]]:
        assert secret not in prompt
        assert secret not in draft.markdown
    assert "Customer: Hi, I'm [NAME]. The iPhone app stopped syncing" in prompt
    assert "[EMAIL]" in prompt and "[PHONE]" in prompt and "[CARD]" in prompt
    assert "Agent: Hi [NAME],\n\nplease sign out" in prompt and "Write the article in English." in prompt
    assert draft.redactions == {"CARD": 1, "EMAIL": 2, "NAME": 4, "PHONE": 1}
    assert draft.title == "Fix a sync that stopped after a password change"
    assert draft.slug == "fix-a-sync-that-stopped-after-a-password-change"
    assert any("placeholders ([EMAIL])" in note for note in draft.notes)

    today = datetime.now(UTC).date().isoformat()
    front = _front_matter(draft.markdown)
    assert front["title"] == draft.title and front["status"] == "draft" and front["source"] == f"helpdesk:{ticket_id}"
    assert str(front["updated_at"]) == today
    assert front["provenance"] == {k: v for k, v in draft.provenance.items() if k != "status"}
    assert draft.provenance["ticket"] == f"helpdesk:{ticket_id}"
    assert draft.provenance["subject"] == "Sync stopped after password change"
    assert draft.provenance["prompt"] == "ticket_article@1"
    assert draft.provenance["generated_by"] == "fake:qwen2.5-1.5b-instruct"
    assert draft.provenance["redactions"] == 8 and draft.provenance["status"] == "draft"
    assert draft.markdown.split("---\n", 2)[2].startswith("\nWhen the mobile app stops syncing")
    assert json.loads(json.dumps(draft.as_json()))["slug"] == draft.slug

    saved = _service(sessions, tmp_path, model).save(draft.markdown)
    path = tmp_path / "kb" / "articles" / "from-tickets" / f"{draft.slug}.md"
    assert Path(saved["path"]).resolve() == path and saved["bytes"] == len(path.read_bytes())
    assert saved["pii_warnings"] == {} and saved["overwritten"] is False

    from deskpilot.ingest.loaders import configure_unstructured, load_article

    configure_unstructured(models_dir)
    document = load_article(path, path.read_bytes(), f"from-tickets/{draft.slug}", f"from-tickets/{path.name}", "public")
    assert (document.title, document.updated_at, document.language) == (draft.title, today, "en")
    text = document.text
    assert "sign in with the new password" in text and "[EMAIL]" in text and "helpdesk:" not in text


def test_only_solved_tickets_and_known_refs_are_drafted(sessions: sessionmaker, tmp_path: Path) -> None:  # type: ignore[type-arg]
    open_id = _solved_ticket(sessions, status="open")
    model = CapturingFake(scripted=[ARTICLE])
    service = _service(sessions, tmp_path, model)
    with pytest.raises(InvalidInputError, match="not solved"):
        service.draft(f"helpdesk:{open_id}")
    with pytest.raises(NotFoundError):
        service.draft("helpdesk:999")
    with pytest.raises(NotFoundError):
        service.draft("index:ticket-404")
    for bad in ("1042", "zendesk:1", "helpdesk:abc", "index:"):
        with pytest.raises(InvalidInputError):
            service.draft(bad)
    assert model.seen == []


def test_an_empty_model_answer_is_an_error(sessions: sessionmaker, tmp_path: Path) -> None:  # type: ignore[type-arg]
    ticket_id = _solved_ticket(sessions)
    with pytest.raises(LLMOutputError):
        _service(sessions, tmp_path, CapturingFake(scripted=["```markdown\n# \n```"])).draft(f"helpdesk:{ticket_id}")
    article, notes = parse_article("Sure! Here it is:\n\n```md\n# Title\n\nBody\n```", "Subject")
    assert (article.title, article.body, notes) == ("Title", "Body", [])
    article, notes = parse_article("```markdown\n# Reset 2FA\n\n1. Step\n\n```bash\ncurl x\n```\n```", "Subject")
    assert (article.title, article.body, notes) == ("Reset 2FA", "1. Step\n\n```bash\ncurl x\n```", [])
    article, notes = parse_article("---\ntitle: x\n---\n# **Bold title**\nText", "Subject")
    assert (article.title, article.body) == ("Bold title", "Text")
    article, notes = parse_article("1. Step one", "Lost phone")
    assert article.title == "Lost phone" and notes and "subject" in notes[0]


class BrokenFake(CapturingFake):
    def _reply(self, messages: list[BaseMessage], **kwargs: Any) -> str:
        raise ConnectionError("connection refused")


def test_model_failure_propagates_as_llm_error(sessions: sessionmaker, tmp_path: Path) -> None:  # type: ignore[type-arg]
    ticket_id = _solved_ticket(sessions)
    with pytest.raises(LLMError, match="connection refused"):
        _service(sessions, tmp_path, BrokenFake()).draft(f"helpdesk:{ticket_id}")


def test_the_company_greeted_by_name_is_not_redacted(sessions: sessionmaker, tmp_path: Path) -> None:  # type: ignore[type-arg]
    helpdesk = HelpdeskStore(sessions)
    ticket_id = helpdesk.create_ticket("Export", "Hi Orbitly,\nhow do I export my data from Orbitly?\n\nThanks,\nPriya")
    with sessions.begin() as session:
        session.add(TicketMessageRow(ticket_id=ticket_id, role="agent", content="Hi Priya, use Admin > Export."))
        row = session.get(TicketRow, ticket_id)
        assert row is not None
        row.status = "solved"
    model = CapturingFake(scripted=[ARTICLE])
    draft = _service(sessions, tmp_path, model).draft(f"helpdesk:{ticket_id}")
    assert "Customer: Hi Orbitly,\nhow do I export my data from Orbitly?\n\nThanks,\n[NAME]" in model.seen[0]
    assert "Agent: Hi [NAME], use Admin > Export." in model.seen[0] and draft.redactions == {"NAME": 2}


def _indexed_ticket(sessions: sessionmaker) -> FakeChunks:  # type: ignore[type-arg]
    meta = {"source_id": "ticket-1001", "title": "Refund for annual renewal", "kind": "ticket"}
    hits = [
        SearchHit("c0", "Refund for annual renewal\nProblem\n\nOur plan renewed. Can we get a refund?\n\nThanks,\n"
                  "Maria Gonzalez", {**meta, "section": "Problem", "audience": "public", "chunk_index": 0}, 1.0),
        SearchHit("c1", "Refund for annual renewal\nConversation\n\nAgent: Hi Maria, you asked within 14 days.\n"
                  "Agent: Go to Admin > Billing > Plan.", {**meta, "section": "Conversation", "audience": "public",
                                                            "chunk_index": 1}, 1.0),
        SearchHit("c2", "Refund for annual renewal\nConversation\n\nAgent: Go to Admin > Billing > Plan.\n"
                  "Customer: Done, thanks!\nResolution:\nRefunded in full within 14 days.",
                  {**meta, "section": "Conversation", "audience": "public", "chunk_index": 2}, 1.0),
        SearchHit("c3", "Refund for annual renewal\nInternal notes\n\nAgent note: above my $200 limit, posted in "
                  "#billing-approvals", {**meta, "section": "Internal notes", "audience": "internal",
                                         "chunk_index": 3}, 1.0),
    ]
    record = IngestRecord(sessions)
    record.mark_done([SourceRecord(source_id="ticket-1001", root="/kb/tickets", origin="tickets.json", kind="ticket",
                                   audience="public", title="Refund for annual renewal",
                                   chunk_ids=["c0", "c1", "c2", "c3"], chunk_count=4,
                                   updated_at="2021-03-03"),
                      SourceRecord(source_id="reset-password", root="/kb/articles", origin="reset-password.md",
                                   kind="article", audience="public", title="Reset your password", updated_at="2026-05-14")])
    return FakeChunks(hits)


def test_draft_from_an_indexed_ticket_leaves_internal_notes_out(sessions: sessionmaker, tmp_path: Path) -> None:  # type: ignore[type-arg]
    store = _indexed_ticket(sessions)
    model = CapturingFake(scripted=[ARTICLE])
    draft = _service(sessions, tmp_path, model, store).draft("index:ticket-1001")
    prompt = model.seen[0]
    assert "Problem:\nOur plan renewed. Can we get a refund?\nThanks,\n[NAME]" in prompt
    assert ("Conversation:\nAgent: Hi [NAME], you asked within 14 days.\nAgent: Go to Admin > Billing > Plan.\n"
            "Customer: Done, thanks!\nResolution:\nRefunded in full within 14 days.") in prompt
    assert "Maria" not in prompt and "$200" not in prompt and "billing-approvals" not in prompt
    assert prompt.count("Go to Admin > Billing > Plan.") == 1  # chunk overlap removed
    assert draft.provenance["solved_at"] == "2021-03-03" and draft.redactions == {"NAME": 2}
    with pytest.raises(NotFoundError):
        _service(sessions, tmp_path, model, store).draft("index:reset-password")


def test_solved_lists_both_origins_newest_first(sessions: sessionmaker, tmp_path: Path) -> None:  # type: ignore[type-arg]
    store = _indexed_ticket(sessions)
    solved_id = _solved_ticket(sessions)
    _solved_ticket(sessions, status="open")
    items = _service(sessions, tmp_path, CapturingFake(), store).solved()
    assert [(i["ref"], i["origin"]) for i in items] == [(f"helpdesk:{solved_id}", "helpdesk"),
                                                        ("index:ticket-1001", "index")]
    assert items[0]["subject"] == "Sync stopped after password change" and items[1]["solved_at"] == "2021-03-03"
    assert set(items[0]) == {"ref", "subject", "solved_at", "origin"}
    assert len(_service(sessions, tmp_path, CapturingFake(), store).solved(limit=1)) == 1


# -- saving ---------------------------------------------------------------------------------------

def test_slugs_are_sanitised_and_paths_refused(sessions: sessionmaker, tmp_path: Path) -> None:  # type: ignore[type-arg]
    service = _service(sessions, tmp_path, CapturingFake())
    folder = tmp_path / "kb" / "articles" / "from-tickets"
    assert slugify("Réinitialiser le mot de passe (2FA) !") == "reinitialiser-le-mot-de-passe-2fa"
    assert len(slugify("word " * 40)) <= 80 and not slugify("word " * 40).endswith("-")
    body = "---\ntitle: Export your data\n---\n\nSome text.\n"
    assert service.save(body)["slug"] == "export-your-data"
    assert service.save(body, slug="My Custom_Slug.md")["slug"] == "my-custom-slug"
    assert service.save("# Heading Only Title\n\nText.")["slug"] == "heading-only-title"
    for bad in ("../x", "../../etc/passwd", "/etc/passwd", "a/b", "..\\x", "C:x", ".hidden", "~root", "!!!"):
        with pytest.raises(InvalidInputError):
            service.save(body, slug=bad)
    assert sorted(p.name for p in folder.iterdir()) == ["export-your-data.md", "heading-only-title.md",
                                                        "my-custom-slug.md"]
    assert not (tmp_path / "kb" / "articles" / "x.md").exists()
    for bad_text in ("", "   \n", "---\ntitle: [unclosed\n---\n\nText", "---\ntitle: Only front matter\n---\n",
                     "x" * (200 * 1024 + 1), "Just text without any title."):
        with pytest.raises(InvalidInputError):
            service.save(bad_text)


def test_overwrite_is_refused_then_allowed_and_writes_are_atomic(sessions: sessionmaker, tmp_path: Path) -> None:  # type: ignore[type-arg]
    service = _service(sessions, tmp_path, CapturingFake())
    folder = tmp_path / "kb" / "articles" / "from-tickets"
    first = service.save("---\ntitle: Webhooks retry\n---\n\nVersion one.\n")
    with pytest.raises(ConflictError):
        service.save("---\ntitle: Webhooks retry\n---\n\nVersion two.\n")
    assert (folder / "webhooks-retry.md").read_text() == "---\ntitle: Webhooks retry\n---\n\nVersion one.\n"
    second = service.save("---\ntitle: Webhooks retry\n---\n\nVersion two.\n", overwrite=True)
    assert (first["overwritten"], second["overwritten"]) == (False, True)
    assert (folder / "webhooks-retry.md").read_text().endswith("Version two.\n")
    assert [p.name for p in folder.iterdir()] == ["webhooks-retry.md"]  # no temp files left
    assert os.stat(folder / "webhooks-retry.md").st_mode & 0o444 == 0o444


def test_personal_data_in_an_edit_is_reported_not_changed(sessions: sessionmaker, tmp_path: Path) -> None:  # type: ignore[type-arg]
    service = _service(sessions, tmp_path, CapturingFake())
    text = "---\ntitle: Contact billing\n---\n\nWrite to anna@orbitly.example.\n\nThanks,\nAnna Berg\n"
    result = service.save(text)
    assert result["pii_warnings"] == {"EMAIL": 1, "NAME": 1}
    assert Path(result["path"]).resolve().read_text() == text


# -- integration: a ticket ingested from the sample export ---------------------------------------

@pytest.mark.integration
def test_draft_from_the_ingested_sample_export(tmp_path: Path, models_dir: Path) -> None:
    from deskpilot.container import Container
    from deskpilot.ingest.sources import SourceSpec

    container = Container(make_settings(tmp_path, models_dir))
    container.ingestor.run([SourceSpec(path=KB / "tickets", kind="ticket")])
    model = CapturingFake(scripted=[ARTICLE])
    llm = fake_llm(model=model)
    service = TicketArticles(container.helpdesk, container.store, container.record, lambda: llm, container.prompts,
                             container.settings.assistant, tmp_path / "from-tickets")
    refs = [item["ref"] for item in service.solved(limit=500)]
    assert "index:ticket-1001" in refs and "index:ticket-1042" not in refs  # 1042 is open: never ingested
    draft = service.draft("index:ticket-1001")
    prompt = model.seen[0]
    assert "Refund for annual renewal" in prompt and "14 days" in prompt
    for internal in ("Mission Control", "$200 limit", "#billing-approvals", "Approved as lead"):
        assert internal not in prompt
    for person in ("Maria", "Gonzalez", "Tom", "maria.gonzalez@", "415-555-0134"):
        assert person not in prompt
    assert draft.provenance["ticket"] == "index:ticket-1001" and draft.provenance["solved_at"] == "2026-03-03"
