"""Everything scored about one evaluated item: ragas metrics, key points (model-free) and a judge's verdict."""

from __future__ import annotations

import logging
from typing import Literal, Protocol

from pydantic import BaseModel, Field

from deskpilot.assist.prompts import PromptLibrary
from deskpilot.errors import LLMError
from deskpilot.evaluation.judge import RagasScorer
from deskpilot.evaluation.keypoints import KeyPointScorer
from deskpilot.evaluation.results import ItemResult
from deskpilot.evaluation.suite import SuiteItem
from deskpilot.providers.llm import LLMClient

logger = logging.getLogger(__name__)


class Scorer(Protocol):
    """Adds scores to a finished result."""

    def score(self, item: SuiteItem, result: ItemResult) -> None:
        """Score result in place."""


class Verdict(BaseModel):
    """The judge's reply."""

    verdict: Literal["correct", "partial", "unhelpful", "wrong"]
    reason: str = Field("", max_length=600)


class AnswerJudge:
    """An LLM's verdict on an answer against the reference answer and its key points."""

    def __init__(self, llm: LLMClient, prompts: PromptLibrary) -> None:
        self._llm = llm
        self._prompts = prompts

    def judge(self, item: SuiteItem, result: ItemResult) -> None:
        """Set result.verdict and its reason; an unparseable or failed judge leaves the verdict unset."""
        system, user = self._prompts.get("judge_answer").render(
            question=item.question, reference=item.gold_answer or "", key_points=list(item.key_points),
            answer=result.answer)
        try:
            verdict = self._llm.complete_model(system, user, Verdict, "the verdict",
                                               max_tokens=120)
        except LLMError as exc:
            logger.info("verdict undetermined for %s: %s", item.id, exc)
            return
        result.verdict, result.verdict_reason = verdict.verdict, verdict.reason


class ItemScorer:
    """ragas metrics, then the key points of an answerable item, then (with a judge) its verdict."""

    def __init__(self, ragas: RagasScorer, keypoints: KeyPointScorer, judge: AnswerJudge | None = None) -> None:
        self._ragas = ragas
        self._keypoints = keypoints
        self._judge = judge

    def score(self, item: SuiteItem, result: ItemResult) -> None:
        """Score result in place."""
        self._ragas.score(item, result)
        if item.key_points:
            # the answer, or the draft an escalation held back (answer_correct still requires an answer)
            found = self._keypoints.score(result.answer if result.answered else result.draft, item.key_points,
                                          item.gold_answer or "")
            result.keypoints = {"covered": found.covered, "total": len(found.points), "in_order": found.in_order,
                                "missing": found.missing, "contradictions": found.contradictions}
        if self._judge is not None and result.answered and item.gold_answer and not item.must_escalate:
            self._judge.judge(item, result)
