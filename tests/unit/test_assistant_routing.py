"""The assistant's paths to an answer or a hand-off, run for real on the fakes (in-memory index, hashed embeddings,
scripted model): each decision comes with the reason routing gives for it."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deskpilot.container import Container
from deskpilot.ingest.sources import SourceSpec
from deskpilot.providers.llm import ExtractiveFakeChat, LLMClient
from tests.conftest import KB
from tests.fakes import BrokenChat, fake_container, fake_llm

ARTICLES = ("reset-password.md", "invite-teammates.md", "two-factor-authentication.md", "export-your-data.md",
            "webhooks.md")


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Container:
    """Five help articles and the internal runbooks, ingested into the fakes."""
    tmp = tmp_path_factory.mktemp("assistant")
    articles = tmp / "articles"
    articles.mkdir()
    for name in ARTICLES:
        shutil.copy(KB / "articles" / name, articles)
    container = fake_container(tmp)
    report = container.ingestor.run([SourceSpec(path=articles), SourceSpec(path=KB / "internal", audience="internal")])
    assert report.failed == [] and report.added >= len(ARTICLES)
    return container


@pytest.fixture
def assistant(ingested: Container, monkeypatch: pytest.MonkeyPatch) -> Iterator[Container]:
    """The ingested container; a test may swap its model and settings, which are put back afterwards."""
    monkeypatch.setattr(ingested.settings.assistant, "compose", ingested.settings.assistant.compose)
    yield ingested
    ingested.override(llm=fake_llm())


def test_a_question_the_kb_answers_is_answered_with_the_articles_own_line(assistant: Container) -> None:
    answer = assistant.assistant.answer("How long is a password reset link valid?")
    assert (answer.decision, answer.reasons) == ("answer", [])
    assert [c.source_id for c in answer.citations] == ["reset-password"]
    assert "valid for 60 minutes" in answer.answer and answer.answer.endswith("[1]")
    assert answer.confidence >= assistant.routing.min_confidence
    assert answer.signals is not None and answer.signals.claims_kept >= 1


def test_a_question_no_source_is_about_goes_to_a_human(assistant: Container) -> None:
    answer = assistant.assistant.answer("Can I pay my invoice with bitcoin?")
    assert (answer.decision, answer.reasons) == ("escalate", ["no_relevant_source"])
    assert answer.confidence == 0.0 and "passing your question to our support" in answer.answer


def test_a_model_reply_the_sources_do_not_back_is_low_support(assistant: Container, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(assistant.settings.assistant, "compose", "generate")
    assistant.override(llm=fake_llm("Every reset link comes with a free month of the Business plan [1]."))
    answer = assistant.assistant.answer("How long is a password reset link valid?")
    assert (answer.decision, answer.reasons) == ("escalate", ["low_support"])
    assert answer.removed_claims == ["Every reset link comes with a free month of the Business plan."]
    assert "free month" not in answer.answer


def test_an_answer_in_doubt_is_shown_only_when_the_model_says_it_answers(assistant: Container) -> None:
    question = "How long is a password reset link valid?"
    plain = assistant.assistant.answer(question)
    assert plain.signals is not None and plain.signals.check is None  # clear of the threshold: no check asked
    routing = assistant.routing
    asked: list[str] = []

    class Checked(ExtractiveFakeChat):
        def yes_odds(self, messages: Any) -> float:
            asked.append(str(messages[-1].content))
            return super().yes_odds(messages)

    try:
        for below, odds, decision in ((True, 2.0, "answer"), (True, 0.2, "escalate"), (False, -1.0, "escalate"),
                                      (False, 1.0, "answer")):
            # the same answer with the threshold just above (below=True) or just under its confidence
            near = plain.confidence + (0.05 if below else -0.05)
            assistant.override(routing=routing.model_copy(update={"min_confidence": near, "answer_check": "model"}),
                               llm=fake_llm(model=Checked(odds=[odds])))
            assistant.forget("assistant")
            answer = assistant.assistant.answer(question)
            assert answer.decision == decision and answer.signals is not None and answer.signals.check == odds
            assert answer.reasons == ([] if decision == "answer" else ["no_relevant_source"])
            assert ("valid for 60 minutes" in answer.answer) == (decision == "answer")
            assert "check_ms" in answer.timings
        # the model is shown the question and the answer's own lines
        assert question in asked[0] and "valid for 60 minutes" in asked[0]
        # a model that fails: the confidence alone decides, as without the check
        assistant.override(routing=routing.model_copy(update={"min_confidence": plain.confidence - 0.05,
                                                              "answer_check": "model"}),
                           llm=fake_llm(model=BrokenChat()))
        assistant.forget("assistant")
        assert assistant.assistant.answer(question).decision == "answer"
    finally:
        assistant.override(routing=routing)
        assistant.forget("assistant")


def test_a_sensitive_message_goes_to_a_human_even_with_a_relevant_source(assistant: Container) -> None:
    answer = assistant.assistant.answer("My account was hacked, how do I reset my password?")
    assert (answer.decision, answer.reasons) == ("escalate", ["sensitive_topic"])
    assert any(link.source_id == "reset-password" for link in answer.citations)  # offered as a link, not answered
    assert "- Reset your password:" in answer.answer


def test_the_model_down_where_an_answer_needs_it_is_llm_unavailable(assistant: Container,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    assistant.override(llm=fake_llm(model=BrokenChat()))
    # A composed English answer needs no model: the article's own line goes out.
    assert assistant.assistant.answer("How long is a password reset link valid?").decision == "answer"
    monkeypatch.setattr(assistant.settings.assistant, "compose", "generate")
    written = assistant.assistant.answer("How long is a password reset link valid?")
    assert (written.decision, written.reasons) == ("escalate", ["llm_unavailable"])
    assert written.citations[0].source_id == "reset-password"  # links offered with the hand-off


def test_a_question_in_another_language_needs_the_model_to_be_searched(assistant: Container) -> None:
    assistant.override(llm=fake_llm(model=BrokenChat()))
    answer = assistant.assistant.answer("Comment réinitialiser mon mot de passe ?")
    assert answer.decision == "escalate" and "llm_unavailable" in answer.reasons
    assert answer.language == "fr" and answer.answer.startswith("Je ne peux pas")


def _ingested(tmp_path: Path, pages: dict[str, str], llm: LLMClient | None = None) -> Container:
    """A container on the fakes with these Markdown pages (path under articles/: text) ingested."""
    articles = tmp_path / "articles"
    for name, text in pages.items():
        (articles / name).parent.mkdir(parents=True, exist_ok=True)
        (articles / name).write_text(text)
    container = fake_container(tmp_path, llm=llm)
    assert container.ingestor.run([SourceSpec(path=articles)]).failed == []
    return container


def test_asked_in_the_knowledge_bases_language_its_own_page_wins_over_a_translated_one(tmp_path: Path) -> None:
    """The embedder compares text across languages by shared words: a French page that repeats the question's words
    scores above the English page that answers (0.69 against 0.61 here). An English question gets the English page."""
    container = _ingested(tmp_path, {
        "version.md": "---\ntitle: Versions and build numbers\n---\n\n## Which version do I have\n\n"
        "To see which version of LibreOffice you have, choose Help - About. The dialog shows the build number.\n",
        "fr/parametres.md": "---\ntitle: Paramètres de ligne de commande\nlanguage: fr\n---\n\n"
        "## Which version of LibreOffice do I have\n\n"
        "Which version of LibreOffice do I have? --version : affiche la version de LibreOffice, puis quitte.\n"})
    answer = container.assistant.answer("Which version of LibreOffice do I have?")
    assert answer.decision == "answer" and [c.source_id for c in answer.citations] == ["version"]
    assert answer.answer.startswith("To see which version of LibreOffice you have, choose Help - About.")


def test_asked_in_another_language_the_chosen_pages_own_translation_answers(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The page that answers has a French translation (front matter `translation_of`): a French asker gets that
    translation's own sentence, not the model's translation of the English one, even when the search ranked only
    the English page."""
    container = _ingested(tmp_path, {
        "reset.md": "---\ntitle: Reset your password\n---\n\n## How long is the reset link valid\n\n"
        "The reset link is valid for 60 minutes and works only once.\n",
        "fr/reinitialiser.md": "---\ntitle: Réinitialiser son mot de passe\nlanguage: fr\ntranslation_of: reset\n---\n\n"
        "## Combien de temps le lien de réinitialisation reste valable\n\n"
        "Le lien de réinitialisation est valable 60 minutes et ne sert qu'une fois.\n"},
        fake_llm("How long is the reset link valid?"))
    monkeypatch.setattr(container.settings.assistant, "sources", 1)  # only the best page's sections are read
    answer = container.assistant.answer("Combien de temps le lien de réinitialisation reste-t-il valable ?")
    assert answer.decision == "answer" and [c.source_id for c in answer.citations] == ["fr/reinitialiser"]
    assert answer.answer.startswith("Le lien de réinitialisation est valable 60 minutes")
    assert answer.model == "extractive"  # the page's own words: nothing translated by the model


def _solved_ticket(tmp_path: Path, resolution: str) -> Container:
    """The fakes with one solved ticket: the customer's report, their reply and an agent's two-line answer."""
    export = tmp_path / "tickets.json"
    export.write_text(json.dumps([{
        "id": 7, "subject": "Every offline timer is saved twice", "status": "solved", "resolution": resolution,
        "description": "Since the update to 4.12.0 every timer I track offline ends up as two identical time entries.",
        "comments": [
            {"author_role": "customer", "public": True, "body": "It happens every day since the update, on two phones."},
            {"author_role": "agent", "public": True,
             "body": "Thanks for the details.\nUpdate the app to version 4.12.1, which stops the duplicated entries."}]}]),
        encoding="utf-8")
    container = fake_container(tmp_path)
    assert container.ingestor.run([SourceSpec(path=export, kind="ticket")]).failed == []
    return container


@pytest.mark.parametrize(("resolution", "expected"), [
    ("Bug in Android app 4.12.0 synced offline timers twice; fixed in app version 4.12.1.", "fixed in app version 4.12.1"),
    ("", "Update the app to version 4.12.1"),  # no resolution: the agent's reply, past its first line
])
def test_a_solved_ticket_answers_staff_with_how_it_was_solved_never_the_customers_words(
        tmp_path: Path, resolution: str, expected: str) -> None:
    container = _solved_ticket(tmp_path, resolution)
    answer = container.assistant.answer("Every timer tracked offline ends up as two identical time entries since "
                                        "4.12.0. Known issue?", role="agent")
    assert answer.citations and answer.citations[0].source_id == "ticket-7"
    assert expected in answer.answer
    assert "Since the update" not in answer.answer and "every day" not in answer.answer


def test_staff_get_the_internal_runbook_before_the_public_article_when_sections_tie(assistant: Container) -> None:
    """Sections within compose.TIE of the best are told apart by their page's rank: for staff an internal runbook's
    sections rank before a public article's, even when the search found the article first (the procedure staff
    follow, not the policy customers are told); for customers the search's order stands."""
    question = "Webhook deliveries are failing for many customers: is this an incident, and what severity?"
    service = assistant.assistant
    found = service._retriever.source_chunks(["webhooks", "incident-escalation"], "agent")  # the article first
    sections = service._sections([question], found, "agent")
    internal = [s.rank for s in sections if s.source_id == "incident-escalation"]
    public = [s.rank for s in sections if s.source_id == "webhooks"]
    assert internal and public and max(internal) < min(public)
    order = ["webhooks", "reset-password"]
    public_only = service._sections([question], service._retriever.source_chunks(order, "customer"), "customer")
    assert public_only and all(s.rank == order.index(s.source_id) for s in public_only)
