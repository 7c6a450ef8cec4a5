"""Citation checking with hand-made chunks: support, contradiction, attribution, URLs."""

from __future__ import annotations

import hashlib

import pytest
from langchain_core.embeddings import Embeddings

from deskpilot.assist.citations import CitationChecker, lexical_support, negated, split_claims
from deskpilot.retrieval.search import RetrievedChunk
from tests.fakes import fake_llm


class BagOfWords(Embeddings):
    """A tiny deterministic embedding: hashed word counts (similar words -> similar vectors)."""

    def _vec(self, text: str) -> list[float]:
        vector = [0.0] * 64
        for word in text.lower().split():
            vector[int(hashlib.md5(word.strip(".,[]").encode()).hexdigest(), 16) % 64] += 1.0
        return vector

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._vec(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vec(text)


def chunk(source_id: str, title: str, section: str, body: str) -> RetrievedChunk:
    return RetrievedChunk(f"{source_id}#0:x", f"{title}\n{section}\n\n{body}",
                          {"source_id": source_id, "title": title, "section": section, "url": f"https://x/{source_id}"},
                          0.7, 0.7)


RESET = chunk("reset-password", "Reset your password", "How long the link is valid",
              "A reset link is valid for 60 minutes and can be used only once. Visit https://app.example/login to start.")
REFUND = chunk("refund-policy", "Refund policy", "Monthly plans",
               "Monthly plans are not refunded, including partial months. Yearly plans are refunded within 14 days.")
CHECKER = CitationChecker(BagOfWords())


def test_split_claims_parses_markers_and_list_items() -> None:
    claims = split_claims("The link lasts 60 minutes [1]. Refunds take 14 days [1, 2].\n- Open Settings [2]")
    assert [(c.text, c.cited) for c in claims] == [
        ("The link lasts 60 minutes.", [1]), ("Refunds take 14 days.", [1, 2]), ("- Open Settings", [2])]


def test_numbers_must_match_the_source() -> None:
    assert lexical_support("A reset link is valid for 60 minutes", RESET.body) == pytest.approx(1.0)
    assert lexical_support("A reset link is valid for 30 minutes", RESET.body) == 0.0


def test_supported_claims_are_kept_and_invented_ones_removed() -> None:
    result = CHECKER.check("A reset link is valid for 60 minutes [1]. Reset links are valid for 2 weeks [1]. "
                           "You can pay with bitcoin and gift cards [1].", [RESET, REFUND])
    assert [c.text for c in result.kept] == ["A reset link is valid for 60 minutes."]
    assert [c.text for c in result.removed] == ["Reset links are valid for 2 weeks.",
                                                "You can pay with bitcoin and gift cards."]
    assert result.coverage == pytest.approx(1 / 3)
    assert result.kept[0].supported_by == 1


def test_uncited_claims_are_attributed_to_the_best_source() -> None:
    result = CHECKER.check("Monthly plans are not refunded.", [RESET, REFUND])
    assert result.kept[0].supported_by == 2


def test_a_claim_contradicted_by_a_source_is_removed_even_when_it_cites_another() -> None:
    assert negated("Monthly plans are not refunded.") and not negated("You can get a refund on a monthly plan.")
    result = CHECKER.check("You can get a refund on a monthly plan [1].", [RESET, REFUND])
    assert result.kept == []
    assert result.removed[0].support < CHECKER.min_support


def test_links_not_in_the_sources_are_dropped() -> None:
    result = CHECKER.check("Start at https://app.example/login to reset it [1]. Or use http://evil.example/reset "
                           "for a reset link valid 60 minutes [1].", [RESET])
    assert result.removed_urls == ["http://evil.example/reset"]
    assert all("evil.example" not in c.text for c in result.kept + result.removed)
    assert any("https://app.example/login" in c.text for c in result.kept)


def test_echoed_titles_and_meta_sentences_are_not_claims() -> None:
    result = CHECKER.check("Reset your password — How long the link is valid [1]. This article explains resets [1].",
                           [RESET])
    assert result.kept == [] and result.removed == []


def test_optional_judge_can_veto_a_claim() -> None:
    vetoing = CitationChecker(BagOfWords(), judge=lambda claim, source: "60" not in claim)
    result = vetoing.check("A reset link is valid for 60 minutes [1].", [RESET])
    assert result.kept == []
    assert [c.text for c in result.removed] == ["A reset link is valid for 60 minutes."]


def test_claims_with_redaction_placeholders_are_removed() -> None:
    result = CHECKER.check("Call support at [PHONE] about the 60 minutes reset link [1].", [RESET])
    assert result.kept == []
    assert len(result.removed) == 1


def test_greetings_and_lead_ins_are_neither_kept_nor_flagged() -> None:
    result = CHECKER.check("Bonjour [NAME], Here are the steps:\nThanks for your patience. Je suis désolé du retard.",
                           [RESET])
    assert result.kept == [] and result.removed == []


def test_a_repeated_sentence_counts_once() -> None:
    claims = split_claims("Links last 60 minutes [1]. Links last 60 minutes [1]. Links last 60 minutes.")
    assert [c.text for c in claims] == ["Links last 60 minutes."]


def test_a_claim_cited_to_the_wrong_source_is_reattributed_to_the_one_that_states_it() -> None:
    result = CHECKER.check("A reset link is valid for 60 minutes [2].", [RESET, REFUND])
    assert [c.supported_by for c in result.kept] == [1]
    unsupported = CHECKER.check("Refunds are sent by carrier pigeon [1].", [RESET, REFUND])
    assert unsupported.kept == [] and len(unsupported.removed) == 1


def test_questions_and_restated_questions_are_not_claims() -> None:
    question = "My whole team gets error SSO-101 with Okta since this morning, what changed?"
    answer = ("Your whole team gets error SSO-101 with Okta since this morning. What changed? "
              "A reset link is valid for 60 minutes [1].")
    result = CHECKER.check(answer, [RESET], question=question)
    assert [c.text for c in result.kept] == ["A reset link is valid for 60 minutes."]
    assert result.removed == [] and result.coverage == 1.0


def test_the_claim_judge_counts_only_a_clear_yes() -> None:
    from deskpilot.assist.citations import LLMClaimJudge
    from deskpilot.assist.prompts import PromptLibrary
    from tests.conftest import REPO

    prompts = PromptLibrary(REPO / "prompts")
    for reply, expected in (("Yes.", True), ("oui", True), ("Sí", True), ("No", False), ("unclear", False)):
        llm = fake_llm(reply)
        assert LLMClaimJudge(lambda llm=llm: llm, prompts)("The link lasts 60 minutes.", "Valid for 60 minutes.") \
            is expected


def test_a_merged_faq_question_line_never_contradicts_its_answer() -> None:
    # The chunker merges small FAQ sections as "Question?:" lines: the question repeats the answer's words without
    # its "not", and must not be read as the source saying the opposite of the answer.
    faq = chunk("fish-house", "Fish House", "", "Do you take reservations?:\nYes, we take reservations.\n"
                "Does Fish House offer delivery services?:\nFish House does not offer delivery services.")
    result = CitationChecker(BagOfWords()).check("Fish House does not offer delivery services. [1]", [faq])
    assert [c.text for c in result.kept] == ["Fish House does not offer delivery services."]
    assert result.support > 0.9
