"""ragas scoring through a judge chat model: real ragas prompts and parsers, a scripted judge."""

from __future__ import annotations

import json
import math

from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from deskpilot.evaluation.judge import RagasScorer
from deskpilot.evaluation.results import ItemResult
from deskpilot.evaluation.suite import SuiteItem

ITEM = SuiteItem(id="a", question="How long is a reset link valid?", gold_sources=["reset-password"])


def answered() -> ItemResult:
    result = ItemResult.start(ITEM, "en")
    result.decision, result.answer = "answer", "A reset link is valid for 60 minutes."
    result.retrieved = ["reset-password", "refund-policy"]
    result.contexts = ["A reset link is valid for 60 minutes and can be used once."]
    return result


def test_without_a_judge_only_the_model_free_metrics_run() -> None:
    result = answered()
    RagasScorer().score(ITEM, result)
    assert result.scores == {"context_recall": 1.0, "context_precision": 0.5}


def test_faithfulness_from_a_judge_that_answers_in_ragas_format() -> None:
    judge = FakeListChatModel(responses=[
        json.dumps({"statements": ["A reset link is valid for 60 minutes."]}),
        json.dumps({"statements": [{"statement": "A reset link is valid for 60 minutes.",
                                    "reason": "stated in the context", "verdict": 1}]}),
    ] + ["not json"] * 40)
    scorer = RagasScorer(judge, DeterministicFakeEmbedding(size=16), timeout=30)
    result = answered()
    scorer.score(ITEM, result)
    assert result.scores["faithfulness"] == 1.0


def test_a_judge_that_cannot_be_parsed_gives_undetermined_not_zero() -> None:
    scorer = RagasScorer(FakeListChatModel(responses=["I think it is fine."] * 60), DeterministicFakeEmbedding(size=16),
                         timeout=30)
    result = answered()
    scorer.score(ITEM, result)
    for name in ("faithfulness", "answer_relevancy", "llm_context_precision"):
        assert math.isnan(result.scores[name] or 0.0), name
    assert result.scores["context_recall"] == 1.0
    assert set(result.undetermined()) == {"faithfulness", "answer_relevancy", "llm_context_precision"}


def test_escalated_items_are_not_judged() -> None:
    result = answered()
    result.decision = "escalate"
    RagasScorer(FakeListChatModel(responses=["x"] * 5), DeterministicFakeEmbedding(size=16)).score(ITEM, result)
    assert "faithfulness" not in result.scores and result.scores["context_recall"] == 1.0
