"""Content gaps: customer questions escalated for want of a source (no_relevant_source, low_support) or answered
with low confidence, embedded in their English or standalone form (identical texts merged, counts kept), grouped
by average-linkage agglomerative clustering on cosine distance and ranked by volume; each topic with the closest
public article and a proposed title and outline for the missing one."""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Annotated, Any

import numpy as np
from langchain_core.embeddings import Embeddings
from pydantic import BaseModel, Field, StringConstraints
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import pdist
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import sessionmaker

from deskpilot.assist.language import language_name
from deskpilot.assist.prompts import PromptLibrary
from deskpilot.config import OpsSettings
from deskpilot.db import iso
from deskpilot.errors import ConfigError, InvalidInputError, LLMError, RetrievalError, VectorStoreError
from deskpilot.helpdesk.models import EventRow
from deskpilot.ingest.redact import Redactor
from deskpilot.ops.period import Period
from deskpilot.providers.llm import LLMClient
from deskpilot.retrieval.search import HybridRetriever

logger = logging.getLogger(__name__)

GAP_REASONS = frozenset({"no_relevant_source", "low_support"})
NOT_GAPS = frozenset({"injection_suspected", "user_requested_human", "sensitive_topic"})
LOW_CONFIDENCE = "low_confidence"  # the reason counted for an answered question below gap_max_confidence
EXAMPLES = 5
PROMPT_QUESTIONS = 20
QUESTION_CHARS = 300

_Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]


class Proposal(BaseModel):
    """A proposed article (parsed from the model's JSON; a parse failure is an error)."""

    title: _Line
    outline: list[_Line] = Field(min_length=3, max_length=7)

    def as_json(self) -> dict[str, Any]:
        """`{"title", "outline"}`."""
        return self.model_dump()


@dataclass(frozen=True)
class GapQuestion:
    """One gap question: `text` is what is clustered (the English translation, the standalone rewrite or the
    question itself), `question` the customer's own words; both with personal data redacted."""

    text: str
    question: str
    language: str
    reasons: list[str]
    confidence: float | None
    at: str
    conversation_id: str | None

    def as_json(self) -> dict[str, Any]:
        """Plain JSON form (the fields)."""
        return asdict(self)


@dataclass(frozen=True)
class Article:
    """The existing public article closest to a cluster: fused retrieval score and cosine similarity."""

    source_id: str
    title: str
    url: str
    score: float
    similarity: float

    def as_json(self) -> dict[str, Any]:
        """Plain JSON form (the fields)."""
        return asdict(self)


@dataclass
class GapCluster:
    """A topic customers asked about without a good answer. `texts`: its distinct questions, most central first."""

    size: int
    examples: list[str]
    languages: dict[str, int]
    reasons: dict[str, int]
    first_at: str
    last_at: str
    texts: list[str]
    article: Article | None = None
    proposal: Proposal | None = None
    proposal_error: str | None = None
    rank: int = 0

    def as_json(self) -> dict[str, Any]:
        """Plain JSON form (without the full question list)."""
        return {"rank": self.rank, "size": self.size, "distinct": len(self.texts), "examples": self.examples,
                "languages": self.languages, "reasons": self.reasons, "first_at": self.first_at,
                "last_at": self.last_at, "article": self.article.as_json() if self.article else None,
                "proposal": self.proposal.as_json() if self.proposal else None, "proposal_error": self.proposal_error}


@dataclass
class GapReport:
    """Content gaps of a period: clusters largest first, and how many gap questions fell in no cluster."""

    period: Period
    total: int
    unclustered: int
    clusters: list[GapCluster] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """`{"period": {"from", "to"}, "total", "clustered", "unclustered", "clusters": [...]}`."""
        return {"period": self.period.as_json(), "total": self.total, "clustered": self.total - self.unclustered,
                "unclustered": self.unclustered, "clusters": [c.as_json() for c in self.clusters]}


def normalize(text: str) -> str:
    """The form under which two questions count as identical (case, spacing and end punctuation ignored)."""
    return re.sub(r"\s+", " ", text).strip().casefold().rstrip("?!.。？！ ")


def cluster_labels(vectors: np.ndarray, similarity: float) -> list[int]:
    """Average-linkage agglomerative clusters on cosine distance, cut at distance 1 - similarity.

    Returns:
        A label per row, 0-based.
    """
    if len(vectors) < 2:
        return [0] * len(vectors)
    distances = np.clip(np.nan_to_num(pdist(vectors, metric="cosine"), nan=1.0), 0.0, 2.0)
    tree = linkage(distances, method="average")
    return [int(label) - 1 for label in fcluster(tree, t=1.0 - similarity, criterion="distance")]


class ContentGaps:
    """Finds, ranks and explains content gaps from the stored answer events."""

    def __init__(self, sessions: sessionmaker, embeddings: Embeddings,  # type: ignore[type-arg]
                 retriever: HybridRetriever, llm: Callable[[], LLMClient], prompts: PromptLibrary,
                 settings: OpsSettings, company: str = "our company", kb_language: str = "en",
                 redactor: Redactor | None = None) -> None:
        self._sessions = sessions
        self._embeddings = embeddings
        self._retriever = retriever
        self._llm = llm
        self._prompts = prompts
        self._settings = settings
        self._company = company
        self._kb_language = kb_language
        self._redactor = redactor or Redactor()

    def questions(self, period: Period) -> list[GapQuestion]:
        """The customers' gap questions of the period, newest first (at most `gap_max_questions`)."""
        limit, found = self._settings.gap_max_questions, []
        stmt = (select(EventRow.question, EventRow.detail, EventRow.language, EventRow.reasons, EventRow.decision,
                       EventRow.confidence, EventRow.at, EventRow.conversation_id)
                .where(EventRow.kind == "answer", EventRow.role == "customer", EventRow.at >= period.start,
                       EventRow.at < period.end,
                       or_(EventRow.decision == "escalate",
                           and_(EventRow.decision == "answer", EventRow.confidence < self._settings.gap_max_confidence)))
                .order_by(EventRow.at.desc(), EventRow.id.desc()).execution_options(yield_per=1000))
        with self._sessions() as session:
            for question, detail, language, stored_reasons, decision, confidence, at, conversation_id in session.execute(stmt):
                reasons = [str(r) for r in _stored(stored_reasons, [])]
                if NOT_GAPS.intersection(reasons) or (decision == "escalate" and not GAP_REASONS.intersection(reasons)):
                    continue
                extra = _stored(detail, {})
                text = str(extra.get("translation") or extra.get("standalone") or question or "")
                if not text.strip():
                    continue
                found.append(GapQuestion(self._redact(text), self._redact(question or text), language or "",
                                         [*reasons, LOW_CONFIDENCE] if decision == "answer" else reasons,
                                         confidence, iso(at), conversation_id))
                if len(found) >= limit:
                    break
        return found

    def report(self, period: Period, propose: bool = True) -> GapReport:
        """Cluster the period's gap questions and rank the clusters by volume (then the most recent first).

        Args:
            period: the questions' time range.
            propose: ask the LLM for an article title and outline for the `gap_proposals` largest clusters.
                A failure for one cluster leaves that cluster's proposal None with `proposal_error` set.

        Raises:
            EmbeddingError: the questions could not be embedded.
            PromptError: prompts/gap_article.yaml is missing or malformed (only when proposing).
        """
        questions = self.questions(period)
        groups: dict[str, list[GapQuestion]] = {}
        for question in questions:
            groups.setdefault(normalize(question.text), []).append(question)
        merged = list(groups.values())
        vectors = np.asarray(self._embeddings.embed_documents([g[0].text for g in merged]), dtype=np.float64)
        members: dict[int, list[int]] = {}
        for index, label in enumerate(cluster_labels(vectors, self._settings.gap_similarity)):
            members.setdefault(label, []).append(index)
        clusters, unclustered = [], 0
        for indices in members.values():
            size = sum(len(merged[i]) for i in indices)
            if size < self._settings.gap_min_size:
                unclustered += size
            else:
                clusters.append(self._cluster([merged[i] for i in indices], vectors[indices]))
        clusters.sort(key=lambda c: (c.size, c.last_at), reverse=True)
        for rank, gap in enumerate(clusters, 1):
            gap.rank = rank
            gap.article = self._closest_article(gap.texts[0])
            if propose and rank <= self._settings.gap_proposals:
                try:
                    gap.proposal = self.propose(gap.texts)
                except (LLMError, ConfigError) as exc:
                    logger.warning("content gap %d: no proposal: %s", rank, exc)
                    gap.proposal_error = str(exc)[:200]
        logger.info("content gaps %s..%s: %d questions, %d clusters, %d unclustered", period.start, period.end,
                    len(questions), len(clusters), unclustered)
        return GapReport(period, len(questions), unclustered, clusters)

    def propose(self, questions: list[str]) -> Proposal:
        """An article title and a 3-7 point outline for a group of questions (redacted before the LLM sees them).

        Raises:
            InvalidInputError: no non-empty question.
            LLMError: the model failed; LLMOutputError when its reply is not a valid proposal.
        """
        texts = _distinct(self._redact(q)[:QUESTION_CHARS] for q in questions if q and q.strip())[:PROMPT_QUESTIONS]
        if not texts:
            raise InvalidInputError("no questions to propose an article for")
        system, user = self._prompts.get("gap_article").render(
            company=self._company, language=language_name(self._kb_language),
            questions="\n".join(f"- {text}" for text in texts))
        return self._llm().complete_model(system, user, Proposal, "the article proposal",
                                          max_tokens=300)

    def _cluster(self, groups: list[list[GapQuestion]], vectors: np.ndarray) -> GapCluster:
        counts = np.array([len(g) for g in groups], dtype=np.float64)
        norms = np.linalg.norm(vectors, axis=1)
        unit = vectors / np.where(norms > 0, norms, 1.0)[:, None]
        centroid = (unit * counts[:, None]).sum(axis=0)
        order = np.argsort(-(unit @ centroid), kind="stable")
        every = [q for g in groups for q in g]
        examples = _distinct(q.question for i in order for q in groups[i])  # each group is newest first
        return GapCluster(size=len(every), examples=examples[:EXAMPLES],
                          languages=dict(Counter(q.language or "unknown" for q in every).most_common()),
                          reasons=dict(Counter(r for q in every for r in q.reasons).most_common()),
                          first_at=min(q.at for q in every), last_at=max(q.at for q in every),
                          texts=[groups[i][0].text for i in order])

    def _closest_article(self, question: str) -> Article | None:
        try:
            chunks = self._retriever.search(question, role="customer", k=1, kind="article").chunks
        except (RetrievalError, VectorStoreError) as exc:
            logger.warning("content gaps: no article search: %s", exc)
            return None
        top = chunks[0] if chunks else None
        return Article(top.source_id, top.title, top.url, round(top.score, 4), round(top.dense, 4)) if top else None

    def _redact(self, text: str) -> str:
        return " ".join(self._redactor.redact(text).text.split())


def _distinct(texts: Iterable[str]) -> list[str]:
    """Texts in order, without repeats of the same normalised form."""
    seen: dict[str, str] = {}
    for text in texts:
        seen.setdefault(normalize(text), text)
    return list(seen.values())


def _stored(value: Any, default: Any) -> Any:
    """The value of a JSON column, or `default` when it is empty or of another type."""
    return value if isinstance(value, type(default)) else default
