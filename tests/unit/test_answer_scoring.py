"""Scoring an evaluated item: key points on the answer (or on the draft an escalation held back) and the judge's
verdict through a scripted model."""

from __future__ import annotations

import json

from langchain_core.language_models.fake_chat_models import FakeListChatModel

from deskpilot.assist.prompts import PromptLibrary
from deskpilot.config import LLMSettings
from deskpilot.evaluation.judge import RagasScorer
from deskpilot.evaluation.keypoints import KeyPointScorer
from deskpilot.evaluation.results import ItemResult
from deskpilot.evaluation.scoring import AnswerJudge, ItemScorer
from deskpilot.evaluation.suite import SuiteItem
from deskpilot.providers.llm import LLMClient
from tests.conftest import REPO

ITEM = SuiteItem(id="a", question="How long is a reset link valid?", gold_answer="60 minutes, once.",
                 key_points=["A reset link is valid for 60 minutes", "It can be used only once"])


def result(decision: str, text: str) -> ItemResult:
    out = ItemResult.start(ITEM, "en")
    out.decision = decision
    if decision == "answer":
        out.answer = out.draft = text
    else:
        out.answer, out.draft = "I'm passing your question to our support team.", text
    return out


def judge(*replies: str) -> AnswerJudge:
    model = FakeListChatModel(responses=list(replies))
    return AnswerJudge(LLMClient(model, LLMSettings(provider="openai", base_url="http://unused")),
                       PromptLibrary(REPO / "prompts"))


def test_an_answer_is_scored_on_its_key_points_and_judged() -> None:
    scorer = ItemScorer(RagasScorer(), KeyPointScorer(), judge(json.dumps({"verdict": "partial",
                                                                           "reason": "single use not said"})))
    scored = result("answer", "A reset link is valid for 60 minutes. [1]")
    scorer.score(ITEM, scored)
    assert scored.keypoints is not None and (scored.keypoints["covered"], scored.keypoints["total"]) == (1, 2)
    assert scored.answer_correct is False and scored.wrong
    assert (scored.verdict, scored.verdict_reason) == ("partial", "single use not said")


def test_an_escalation_is_scored_on_its_draft_but_is_never_a_correct_answer() -> None:
    scored = result("escalate", "A reset link is valid for 60 minutes and can be used only once.")
    ItemScorer(RagasScorer(), KeyPointScorer(), judge()).score(ITEM, scored)
    assert scored.would_be_correct is True  # what calibration weighs
    assert scored.answer_correct is False and not scored.wrong and scored.verdict is None  # not shown, not judged


def test_an_unparseable_verdict_stays_undetermined() -> None:
    scored = result("answer", "A reset link is valid for 60 minutes and can be used only once.")
    ItemScorer(RagasScorer(), KeyPointScorer(), judge("it is fine i guess", "still not json")).score(ITEM, scored)
    assert scored.answer_correct is True and scored.verdict is None
