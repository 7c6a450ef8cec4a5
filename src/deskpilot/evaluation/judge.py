"""ragas scoring of one item, with the judge LLM and embeddings always passed explicitly.

Without a judge only the model-free ragas metrics run (context precision and recall on source ids). With a
judge (local or an OpenAI-compatible server) faithfulness, answer relevancy and the LLM context precision and
recall run too. A judge that fails or answers unparseably gives NaN: undetermined, counted apart.
"""

from __future__ import annotations

import asyncio
import logging
import math
import warnings
from typing import Any

from langchain_core.embeddings import Embeddings
from langchain_core.language_models.chat_models import BaseChatModel

from deskpilot.evaluation.results import ItemResult
from deskpilot.evaluation.suite import SuiteItem

logger = logging.getLogger(__name__)


class RagasScorer:
    """Computes the ragas metrics of a result in place."""

    def __init__(self, judge: BaseChatModel | None = None, embeddings: Embeddings | None = None,
                 timeout: float = 300.0, strictness: int = 1) -> None:
        # ragas 0.4 keeps these classes for LangChain models (its new metric collections need an
        # instructor/OpenAI client, which an in-process GGUF model is not); imported from their modules to
        # avoid the deprecation shim. Pinned in constraints.txt.
        from ragas.metrics._context_precision import IDBasedContextPrecision
        from ragas.metrics._context_recall import IDBasedContextRecall

        self._id_precision = IDBasedContextPrecision()
        self._id_recall = IDBasedContextRecall()
        self._llm_metrics: dict[str, Any] = {}
        self.judged = judge is not None
        if judge is not None:
            self._llm_metrics = self._build_llm_metrics(judge, embeddings, timeout, strictness)

    @staticmethod
    def _build_llm_metrics(judge: BaseChatModel, embeddings: Embeddings | None, timeout: float,
                           strictness: int) -> dict[str, Any]:
        from ragas.embeddings.base import LangchainEmbeddingsWrapper
        from ragas.llms.base import LangchainLLMWrapper
        from ragas.metrics._answer_relevance import ResponseRelevancy
        from ragas.metrics._context_precision import (
            LLMContextPrecisionWithoutReference,
            LLMContextPrecisionWithReference,
        )
        from ragas.metrics._context_recall import LLMContextRecall
        from ragas.metrics._faithfulness import Faithfulness
        from ragas.run_config import RunConfig

        config = RunConfig(timeout=int(timeout), max_retries=1, max_workers=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            llm = LangchainLLMWrapper(judge, run_config=config)
            metrics: dict[str, Any] = {
                "faithfulness": Faithfulness(llm=llm),
                "llm_context_precision": LLMContextPrecisionWithReference(llm=llm),
                "llm_context_precision_noref": LLMContextPrecisionWithoutReference(llm=llm),
                "llm_context_recall": LLMContextRecall(llm=llm),
            }
            if embeddings is not None:
                metrics["answer_relevancy"] = ResponseRelevancy(
                    llm=llm, embeddings=LangchainEmbeddingsWrapper(embeddings, run_config=config), strictness=strictness)
        for metric in metrics.values():
            metric.init(config)
        return metrics

    def score(self, item: SuiteItem, result: ItemResult) -> None:
        """Add the ragas scores that apply to this item (None: not applicable; NaN: undetermined)."""
        from ragas.dataset_schema import SingleTurnSample

        if item.gold_sources:
            ids = SingleTurnSample(retrieved_context_ids=result.retrieved or [""],
                                   reference_context_ids=list(item.gold_sources))
            result.scores["context_recall"] = self._run(self._id_recall, ids) if result.retrieved else 0.0
            result.scores["context_precision"] = self._run(self._id_precision, ids) if result.retrieved else None
        answered = result.decision == "answer" and result.answer.strip() and result.contexts
        if not self._llm_metrics or not answered:
            return
        sample = SingleTurnSample(user_input=item.question, response=result.answer,
                                  retrieved_contexts=list(result.contexts), reference=item.gold_answer)
        for name in ("faithfulness", "answer_relevancy"):
            if name in self._llm_metrics:
                result.scores[name] = self._run(self._llm_metrics[name], sample)
        if item.gold_answer:
            result.scores["llm_context_precision"] = self._run(self._llm_metrics["llm_context_precision"], sample)
            result.scores["llm_context_recall"] = self._run(self._llm_metrics["llm_context_recall"], sample)
        else:
            result.scores["llm_context_precision"] = self._run(self._llm_metrics["llm_context_precision_noref"],
                                                               sample)

    @staticmethod
    def _run(metric: Any, sample: Any) -> float:
        try:
            value = asyncio.run(metric.single_turn_ascore(sample))
        except Exception as exc:  # ragas raises parser, timeout and provider errors of many types
            logger.info("%s undetermined: %s: %s", metric.name, type(exc).__name__, exc)
            return math.nan
        try:
            value = float(value)
        except (TypeError, ValueError):
            return math.nan
        return value if math.isfinite(value) else math.nan
