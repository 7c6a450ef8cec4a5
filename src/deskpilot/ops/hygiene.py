"""Knowledge hygiene for KB editors: stale articles, never-cited articles and conflicting passages.

- **Citations** are counted from the stored answer events (every role and decision: an escalated answer's
  links were shown too); an answer citing a source several times counts once.
- **Stale**: an article cited at least `stale_min_citations` times in the last `citation_window_days` whose own
  date (`updated_at`: front matter, stated date or file time) is more than `stale_after_days` old. An article
  without a date has an unknown age: it is listed as `undated` when often cited, never as stale.
- **Never cited**: indexed articles no answer cited in the window. Customers' answers cite only public
  articles, so an internal article counts as cited only when an agent's answer cited it; each entry carries
  its audience, public ones first.
- **Conflicts**: pairs of chunks of different sources at least `conflict_similarity` alike (cosine, computed
  block by block) in which the model-free heuristic of `deskpilot.text.facts` finds disagreeing numbers,
  versions or steps; optionally each pair is put to the LLM (prompts/conflict_check.yaml).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, StringConstraints
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from deskpilot.assist.prompts import PromptLibrary
from deskpilot.config import OpsSettings
from deskpilot.db import retry_transient
from deskpilot.errors import ConfigError, LLMError, PromptError, VectorStoreError
from deskpilot.helpdesk.models import EventRow
from deskpilot.index.store import ChunkStore
from deskpilot.ingest.records import IngestRecord
from deskpilot.ops.period import Period
from deskpilot.providers.llm import LLMClient
from deskpilot.text.facts import Disagreement, Facts, compare, extract

logger = logging.getLogger(__name__)

PAGE = 1000  # chunks read from the index at once
BLOCK_ENTRIES = 8_000_000  # similarities computed at once (32 MB of float32)
MAX_PAIRS = 100_000  # the most similar chunk pairs checked for disagreements
PASSAGE_CHARS = 1500  # of each passage shown to the LLM


class Verdict(BaseModel):
    """The LLM's judgement of one conflict (parsed from its JSON; a parse failure is an error)."""

    conflict: bool
    explanation: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=600)]

    def as_json(self) -> dict[str, Any]:
        """`{"conflict", "explanation"}`."""
        return self.model_dump()


@dataclass(frozen=True)
class ArticleUsage:
    """An article with its citations in the window and its age in days (None: no date known)."""

    source_id: str
    title: str
    audience: str
    updated_at: str
    age_days: int | None
    citations: int

    def as_json(self) -> dict[str, Any]:
        """Plain JSON form."""
        return {"source_id": self.source_id, "title": self.title, "audience": self.audience,
                "updated_at": self.updated_at or None, "age_days": self.age_days, "citations": self.citations}


@dataclass
class StaleReport:
    """Stale (most cited first), often cited but undated, and never-cited articles (public first)."""

    today: date
    period: Period
    stale_after_days: int
    min_citations: int
    stale: list[ArticleUsage] = field(default_factory=list)
    undated: list[ArticleUsage] = field(default_factory=list)
    never_cited: list[ArticleUsage] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """`{"today", "window": {"from", "to"}, "stale_after_days", "min_citations", "stale": [...], "undated": [...],
        "never_cited": [...]}`, each article `{"source_id", "title", "audience", "updated_at", "age_days",
        "citations"}`."""
        return {"today": self.today.isoformat(), "window": self.period.as_json(),
                "stale_after_days": self.stale_after_days, "min_citations": self.min_citations,
                "stale": [a.as_json() for a in self.stale], "undated": [a.as_json() for a in self.undated],
                "never_cited": [a.as_json() for a in self.never_cited]}


@dataclass(frozen=True)
class ChunkRef:
    """One side of a conflict: the chunk, its source and its text."""

    chunk_id: str
    source_id: str
    title: str
    url: str
    kind: str
    audience: str
    section: str
    updated_at: str
    text: str

    @classmethod
    def of(cls, chunk_id: str, text: str, meta: dict[str, Any]) -> ChunkRef:
        """From a chunk's id, text and index metadata."""
        def get(key: str) -> str:
            return str(meta.get(key) or "")

        return cls(chunk_id=chunk_id, source_id=get("source_id") or chunk_id, title=get("title"), url=get("url"),
                   kind=get("kind"), audience=get("audience"), section=get("section"), updated_at=get("updated_at"),
                   text=text)

    def as_json(self) -> dict[str, Any]:
        """Plain JSON form."""
        return {"chunk_id": self.chunk_id, "source_id": self.source_id, "title": self.title, "url": self.url,
                "kind": self.kind, "audience": self.audience, "section": self.section, "updated_at": self.updated_at,
                "text": self.text}


@dataclass
class Conflict:
    """Two highly similar chunks of different sources that state something differently."""

    a: ChunkRef
    b: ChunkRef
    similarity: float
    disagreements: list[Disagreement]
    verdict: Verdict | None = None
    verdict_error: str | None = None

    def as_json(self) -> dict[str, Any]:
        """`{"similarity", "a": {...}, "b": {...}, "disagreements": [{"kind", "value_a", "value_b", "context_a",
        "context_b"}], "verdict": {"conflict", "explanation"} | None, "verdict_error": str | None}`."""
        return {"similarity": self.similarity, "a": self.a.as_json(), "b": self.b.as_json(),
                "disagreements": [d.as_json() for d in self.disagreements],
                "verdict": self.verdict.as_json() if self.verdict else None, "verdict_error": self.verdict_error}


def similar_pairs(vectors: np.ndarray, groups: np.ndarray, threshold: float, max_pairs: int = MAX_PAIRS,
                  block_entries: int = BLOCK_ENTRIES) -> list[tuple[int, int, float]]:
    """Row pairs (i < j) of different groups with cosine similarity >= threshold, most similar first.

    Rows are normalised and compared block by block (at most `block_entries` similarities at once), so tens of
    thousands of vectors never need an N x N matrix. Only the `max_pairs` most similar pairs are kept.
    """
    count = len(vectors)
    if count < 2:
        return []
    unit = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(unit, axis=1)
    unit = (unit / np.where(norms > 0, norms, 1.0)[:, None]).astype(np.float32)
    block = max(1, min(count, block_entries // count))
    rows, cols, sims = np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float32)
    for start in range(0, count, block):
        part = unit[start:start + block] @ unit[start:].T  # rows start.., columns start..
        r, c = np.nonzero(part >= threshold)
        keep = (c > r) & (groups[r + start] != groups[c + start])
        rows = np.concatenate([rows, r[keep] + start])
        cols = np.concatenate([cols, c[keep] + start])
        sims = np.concatenate([sims, part[r[keep], c[keep]]])
        if len(sims) > 2 * max_pairs:
            top = np.argpartition(-sims, max_pairs)[:max_pairs]
            rows, cols, sims = rows[top], cols[top], sims[top]
    order = np.lexsort((cols, rows, -sims))[:max_pairs]
    return [(int(rows[k]), int(cols[k]), float(sims[k])) for k in order]


def _age(updated_at: str, today: date) -> int | None:
    try:
        return (today - date.fromisoformat((updated_at or "")[:10])).days
    except ValueError:
        return None


def _fence(text: str) -> str:
    """A passage for the prompt, cut to size, unable to close its own delimiters."""
    return text[:PASSAGE_CHARS].replace("<passage", "‹passage").replace("</passage", "‹/passage")


class KnowledgeHygiene:
    """Stale and never-cited articles from the answer events, and conflicts from the chunk index."""

    def __init__(self, sessions: sessionmaker, store: ChunkStore, record: IngestRecord,  # type: ignore[type-arg]
                 llm: Callable[[], LLMClient], prompts: PromptLibrary, settings: OpsSettings) -> None:
        self._sessions = sessions
        self._store = store
        self._record = record
        self._llm = llm
        self._prompts = prompts
        self._settings = settings

    @retry_transient
    def citations(self, period: Period) -> Counter[str]:
        """Answers citing each source id in the period (an answer citing a source twice counts once)."""
        counts: Counter[str] = Counter()
        stmt = (select(EventRow.detail).where(EventRow.kind == "answer", EventRow.at >= period.start,
                                              EventRow.at < period.end).execution_options(yield_per=1000))
        with self._sessions() as session:
            for detail in session.scalars(stmt):
                try:
                    cited = (detail or {}).get("cited") or []
                except AttributeError:  # not an object
                    continue
                counts.update({str(source_id) for source_id in cited if source_id} if isinstance(cited, list) else ())
        return counts

    def stale(self, today: date | None = None) -> StaleReport:
        """Stale, often cited but undated, and never-cited articles (see the module docstring).

        Args:
            today: the last day of the citation window (UTC); default today.
        """
        day = today or datetime.now(UTC).date()
        end = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
        start = end - timedelta(days=self._settings.citation_window_days)
        period = Period(start.isoformat(timespec="seconds"), end.isoformat(timespec="seconds"))
        counts = self.citations(period)
        usage = [ArticleUsage(r.source_id, r.title, r.audience, r.updated_at or "", _age(r.updated_at, day),
                              counts[r.source_id])
                 for r in self._record.sources().values() if r.kind == "article" and r.state == "ok"]
        often = [u for u in usage if u.citations >= self._settings.stale_min_citations]
        report = StaleReport(
            day, period, self._settings.stale_after_days, self._settings.stale_min_citations,
            stale=sorted((u for u in often if u.age_days is not None and u.age_days > self._settings.stale_after_days),
                         key=lambda u: (-u.citations, -(u.age_days or 0), u.source_id)),
            undated=sorted((u for u in often if u.age_days is None), key=lambda u: (-u.citations, u.source_id)),
            never_cited=sorted((u for u in usage if u.citations == 0),
                               key=lambda u: (u.audience != "public", u.source_id)))
        logger.info("stale articles until %s: %d stale, %d undated, %d never cited", day, len(report.stale),
                    len(report.undated), len(report.never_cited))
        return report

    def conflicts(self, llm_check: bool = False, limit: int = 100) -> list[Conflict]:
        """Pairs of highly similar chunks of different sources that disagree on numbers, versions or steps.

        Args:
            llm_check: ask the LLM whether each listed pair really conflicts. A failure on one pair leaves its
                verdict None with `verdict_error` set; the list is never lost.
            limit: the most conflicts listed (most disagreements first, then the most similar).

        Raises:
            VectorStoreError: the index cannot be read.
        """
        ids, texts, metas, vectors = self._chunks()
        sources = [str(m.get("source_id") or i) for i, m in zip(ids, metas, strict=True)]
        groups = np.unique(np.array(sources, dtype=object), return_inverse=True)[1] if sources else np.empty(0)
        pairs = similar_pairs(vectors, groups, self._settings.conflict_similarity)
        facts: dict[int, Facts] = {}
        found: list[Conflict] = []
        for i, j, similarity in pairs:
            first, second = sorted((i, j), key=lambda k: (sources[k], ids[k]))
            for k in (first, second):
                if k not in facts:
                    facts[k] = extract(texts[k])
            disagreements = compare(facts[first], facts[second])
            if disagreements:
                found.append(Conflict(ChunkRef.of(ids[first], texts[first], metas[first]),
                                      ChunkRef.of(ids[second], texts[second], metas[second]),
                                      round(min(similarity, 1.0), 4), disagreements))
        found.sort(key=lambda c: (-len(c.disagreements), -c.similarity, c.a.chunk_id, c.b.chunk_id))
        logger.info("conflicts: %d chunks, %d similar pairs, %d with disagreements", len(ids), len(pairs), len(found))
        found = found[:max(0, limit)]
        if llm_check:
            for conflict in found:
                try:
                    conflict.verdict = self.check(conflict)
                except (LLMError, ConfigError, PromptError) as exc:
                    logger.warning("conflict %s / %s: no verdict: %s", conflict.a.chunk_id, conflict.b.chunk_id, exc)
                    conflict.verdict_error = str(exc)[:200]
        return found

    def check(self, conflict: Conflict) -> Verdict:
        """The LLM's verdict on one conflict (prompts/conflict_check.yaml; the passages are data, not instructions).

        Raises:
            LLMError: the model failed; LLMOutputError when its reply is not a valid verdict.
        """
        differences = "\n".join(f"- {d.kind}: A says {d.value_a!r} ({d.context_a}); B says {d.value_b!r} ({d.context_b})"
                                for d in conflict.disagreements)
        system, user = self._prompts.get("conflict_check").render(
            title_a=conflict.a.title, passage_a=_fence(conflict.a.text), title_b=conflict.b.title,
            passage_b=_fence(conflict.b.text), differences=differences)
        return self._llm().complete_model(system, user, Verdict, "the conflict verdict", max_tokens=200)

    def _chunks(self) -> tuple[list[str], list[str], list[dict[str, Any]], np.ndarray]:
        """Ids, texts, metadata and vectors of at most `conflict_max_chunks` chunks, articles first."""
        cap = self._settings.conflict_max_chunks
        ids: list[str] = []
        texts: list[str] = []
        metas: list[dict[str, Any]] = []
        vectors: list[np.ndarray] = []
        for where in ({"kind": "article"}, {"kind": {"$ne": "article"}}):
            offset = 0
            while len(ids) < cap:
                size = min(PAGE, cap - len(ids))
                try:
                    page = self._store.collection.get(where=where, include=["embeddings", "documents", "metadatas"],
                                                      limit=size, offset=offset)
                except (ConfigError, VectorStoreError):
                    raise
                except Exception as exc:
                    raise VectorStoreError(f"Chroma get failed: {exc}") from exc
                ids += page["ids"]
                texts += [d or "" for d in page["documents"]]
                metas += [dict(m or {}) for m in page["metadatas"]]
                if len(page["ids"]):
                    vectors.append(np.asarray(page["embeddings"], dtype=np.float32))
                if len(page["ids"]) < size:
                    break
                offset += size
        if len(ids) >= cap and self._store.count() > cap:
            logger.warning("conflicts: only the first %d of %d chunks are compared (articles first); raise "
                           "DESKPILOT_OPS__CONFLICT_MAX_CHUNKS to compare more", cap, self._store.count())
        return ids, texts, metas, np.concatenate(vectors) if vectors else np.empty((0, 0), np.float32)
