"""The assistant with the real default local LLM (llama-cpp-python), real embeddings and the sample kb/."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from deskpilot.container import Container
from deskpilot.ingest.sources import SourceSpec
from deskpilot.providers.model_files import local_model_file
from deskpilot.text.language import detect_language, foreign_fragments
from tests.conftest import KB, make_settings

pytestmark = [pytest.mark.integration, pytest.mark.llm]


@pytest.fixture(scope="module")
def assistant_container(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Container:
    tmp = tmp_path_factory.mktemp("llm")
    kb = tmp / "kb"
    shutil.copytree(KB, kb)
    settings = make_settings(tmp, models_dir)
    if not local_model_file(models_dir, settings.llm.model).is_file():
        pytest.fail(f"local LLM {settings.llm.model} missing in {models_dir}: run `make install`")
    container = Container(settings)
    report = container.ingestor.run([SourceSpec(path=kb / "articles"),
                                     SourceSpec(path=kb / "internal", audience="internal"),
                                     SourceSpec(path=kb / "tickets", kind="ticket")])
    assert report.failed == []
    return container


def test_real_composed_answer_translated_for_a_german_customer(assistant_container: Container) -> None:
    """The English section's own sentences, translated by the real model and checked: German only, same numbers."""
    answer = assistant_container.assistant.answer("Wie lange ist der Link zum Zurücksetzen des Passworts gültig?")
    assert answer.decision == "answer", (answer.draft, answer.reasons)
    assert answer.language == "de" and answer.prompt == "compose"
    assert "60" in answer.answer and answer.citations[0].source_id == "reset-password"
    assert detect_language(answer.answer, "en") == "de" and foreign_fragments(answer.answer, "de") == []


def test_real_answer_is_grounded_and_cited(assistant_container: Container) -> None:
    """The model writes the answer (compose = generate, for stronger models); every kept sentence is checked."""
    assistant_container.settings.assistant.compose = "generate"
    try:
        answer = assistant_container.assistant.answer("How long is a password reset link valid?")
    finally:
        assistant_container.settings.assistant.compose = "extract"
    assert answer.decision == "answer", (answer.answer, answer.reasons, answer.removed_claims)
    assert "60" in answer.answer
    assert answer.citations and answer.citations[0].source_id in {"reset-password", "ticket-1023"}
    assert answer.language == "en" and 0.5 <= answer.confidence <= 1
    assert "[1]" in answer.answer
    assert answer.prompt.startswith("answer@") and answer.model.startswith("local:")
    assert answer.timings["first_token_ms"] > 0


def test_out_of_scope_question_is_handed_off_without_invented_steps(assistant_container: Container) -> None:
    answer = assistant_container.assistant.answer("Do you sell garden furniture and ship it to Norway?")
    assert answer.decision == "escalate"
    assert answer.reasons and set(answer.reasons) <= {"no_relevant_source", "low_support"}
    assert answer.answer.startswith("I'm not able to answer this reliably")


def test_real_draft_reply_cites_sources(assistant_container: Container) -> None:
    services = assistant_container.tickets
    ticket = services.load("Hi, I requested a password reset three times and none of the links work, "
                           "they all say the link has expired. What am I doing wrong?")
    draft = services.draft(ticket)
    assert draft.language == "en"
    assert len(draft.reply) > 40
    assert draft.citations, (draft.reply, draft.warnings)
    assert {c.source_id for c in draft.citations} & {"reset-password", "ticket-1023", "ticket-1002"}


def test_real_summary_of_an_ingested_ticket(assistant_container: Container) -> None:
    services = assistant_container.tickets
    summary = services.summarize(services.load("ticket-1016"))
    assert summary.problem and summary.status and summary.next_action
    assert summary.sentiment in ("positive", "neutral", "negative", "angry")


def test_answers_from_several_threads_with_embeddings_in_between_stay_correct(assistant_container: Container) -> None:
    # Regression: llama.cpp's AMX kernels trust a per-thread tile configuration that ONNX Runtime's int8
    # kernels (the embeddings) overwrite; generations on request threads then produced garbage after the
    # first embedding. The model now runs on its own thread; this runs answers from request threads with
    # embeddings before, between and beside them.
    container = assistant_container
    questions = {"How long is a password reset link valid?": "60", "How do I connect Slack?": "Integrations"}

    def ask(question: str) -> tuple[str, str]:
        container.embeddings.embed_documents([f"{question} (embedded on this thread first)"])
        return question, container.assistant.answer(question).answer

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(ask, [*questions, *questions]))
    for question, answer in results:
        assert questions[question] in answer, (question, answer)


def test_the_local_models_answer_check_tells_an_answer_from_another_task(assistant_container: Container) -> None:
    """The check read from the model's next-token scores (routing.answer_check): the help centre's own answer is
    more of a yes than another task's steps, and asking again with the same system prompt gives the same odds."""
    prompt = assistant_container.prompts.get("answer_check")
    question = "How long is a password reset link valid?"
    right = prompt.render(question=question, answer="A reset link is valid for 60 minutes and can be used only once.")
    other = prompt.render(question=question, answer="To invite a teammate, open Settings > Team and click Invite.")
    llm = assistant_container.llm
    odds = [llm.yes_odds(*right), llm.yes_odds(*other), llm.yes_odds(*right)]
    assert odds[0] > odds[1] and odds[2] == pytest.approx(odds[0], abs=0.05)


def test_the_local_model_replies_the_same_whatever_came_before(assistant_container: Container) -> None:
    """A reply depends on its prompt alone, not on the calls before it (the context and the sampler's seed): an
    evaluation of part of a suite gives the answers of the whole run, and a customer the answer QA saw."""
    llm = assistant_container.llm
    system = "Translate the user's text into French. Reply with the translation only."
    text = ("To export your data, open Settings > Workspace > Export and click Export now. "
            "The link is valid for 24 hours.")
    first = llm.complete(system, text, max_tokens=60)
    llm.complete(system, "Only the workspace Owner can request a refund. E-mail support with the invoice number.",
                 max_tokens=60)
    assert llm.complete(system, text, max_tokens=60) == first and first
