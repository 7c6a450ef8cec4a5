"""Hybrid retrieval: vector similarity and BM25 over the same chunks, fused with weights, diversified.

The audience filter comes from the caller's role and is applied inside both searches: a customer's
query never scores, let alone returns, an internal chunk.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from langchain_core.embeddings import Embeddings

from deskpilot.config import RetrievalSettings
from deskpilot.errors import RetrievalError
from deskpilot.ingest.terms import TermNormalizer
from deskpilot.retrieval.keyword import KeywordIndex
from deskpilot.retrieval.store import ChunkStore, SearchHit

logger = logging.getLogger(__name__)

Role = Literal["customer", "agent", "editor", "qa", "admin"]
INTERNAL_ROLES = frozenset({"agent", "editor", "qa", "admin"})


def can_see_internal(role: str) -> bool:
    """Only staff roles see internal sources; anything unknown is treated as a customer."""
    return role in INTERNAL_ROLES


@dataclass
class RetrievedChunk:
    """A retrieved chunk with its fused score and the two scores it came from."""

    chunk_id: str
    text: str
    metadata: dict[str, Any]
    score: float
    dense: float = 0.0
    keyword: float = 0.0
    vector: list[float] | None = None

    @property
    def source_id(self) -> str:
        """The chunk's source id."""
        return str(self.metadata.get("source_id", ""))

    @property
    def title(self) -> str:
        """The source's title."""
        return str(self.metadata.get("title", ""))

    @property
    def url(self) -> str:
        """The source's URL or, without one, its path."""
        return str(self.metadata.get("url") or self.metadata.get("path") or "")

    @property
    def body(self) -> str:
        """The chunk text without the title/section header that was added for embedding."""
        return self.text.split("\n\n", 1)[-1]

    def snippet(self, limit: int = 240) -> str:
        """A short excerpt of the body."""
        body = " ".join(self.body.split())
        return body if len(body) <= limit else body[: limit - 1].rsplit(" ", 1)[0] + "…"


@dataclass
class RetrievalResult:
    """Chunks in rank order, plus the strongest raw similarity seen (a routing signal)."""

    chunks: list[RetrievedChunk]
    top_dense: float = 0.0
    queries: list[str] = field(default_factory=list)


class HybridRetriever:
    """Vector + BM25 search with audience filtering, weighted fusion and per-source diversity."""

    def __init__(self, store: ChunkStore, embeddings: Embeddings, terms: TermNormalizer,
                 settings: RetrievalSettings, generation: Callable[[], object]) -> None:
        self._store = store
        self._embeddings = embeddings
        self._terms = terms
        self._settings = settings
        self._generation = generation
        self._keyword = KeywordIndex()

    def search(self, query: str, role: str = "customer", k: int | None = None, kind: str | None = None,
               extra_queries: Sequence[str] = ()) -> RetrievalResult:
        """Retrieve chunks for a query (and optional reformulations, e.g. a translation).

        Args:
            query: the user's question or a standalone rewrite of it.
            role: the caller's role; customers get public chunks only.
            k: how many chunks to return (default settings.top_k).
            kind: restrict to "article" or "ticket".
            extra_queries: more phrasings of the same need; candidates of all are fused.
        """
        k = k or self._settings.top_k
        public_only = not can_see_internal(role)
        queries = [q for q in dict.fromkeys([query, *extra_queries]) if q and q.strip()]
        if not queries:
            raise RetrievalError("empty query")
        normalized = [self._terms.normalize(q) for q in queries]
        try:
            vectors = self._embeddings.embed_documents(normalized)
        except Exception as exc:
            raise RetrievalError(f"could not embed the query: {exc}") from exc
        candidates: dict[str, SearchHit] = {}
        dense: dict[str, float] = {}
        for vector in vectors:
            for hit in self._dense(vector, public_only, kind):
                candidates.setdefault(hit.chunk_id, hit)
                dense[hit.chunk_id] = max(dense.get(hit.chunk_id, -1.0), hit.score)
        keyword: dict[str, float] = {}
        if self._settings.keyword_k:
            self._keyword.ensure(self._generation(), self._store.load_all, self._terms.normalize)
            for text in normalized:
                keyword_hits = self._keyword.search(text, self._settings.keyword_k, public_only, kind)
                best = keyword_hits[0].score if keyword_hits else 0.0
                for keyword_hit in keyword_hits:
                    keyword[keyword_hit.chunk_id] = max(keyword.get(keyword_hit.chunk_id, 0.0),
                                                        keyword_hit.score / best if best else 0.0)
            missing = [cid for cid in keyword if cid not in candidates]
            if missing:
                found, stored = self._store.get_with_vectors(missing)
                queries_matrix = np.asarray(vectors, dtype=np.float32)
                for hit, vec in zip(found, stored, strict=True):
                    if not self._allowed(hit.metadata, public_only, kind):
                        continue  # defence in depth: the BM25 mask already excluded these
                    candidates[hit.chunk_id] = hit
                    dense[hit.chunk_id] = float((queries_matrix @ np.asarray(vec, dtype=np.float32)).max())
        weight = self._settings.dense_weight
        ranked = sorted(
            (RetrievedChunk(cid, hit.text, hit.metadata,
                            weight * dense.get(cid, 0.0) + (1 - weight) * keyword.get(cid, 0.0),
                            dense.get(cid, 0.0), keyword.get(cid, 0.0), hit.vector)
             for cid, hit in candidates.items()),
            key=lambda c: c.score, reverse=True)
        chosen: list[RetrievedChunk] = []
        per_source: dict[str, int] = {}
        for chunk in ranked:
            if per_source.get(chunk.source_id, 0) >= self._settings.per_source:
                continue
            per_source[chunk.source_id] = per_source.get(chunk.source_id, 0) + 1
            chosen.append(chunk)
            if len(chosen) == k:
                break
        return RetrievalResult(chosen, max(dense.values(), default=0.0), queries)

    def _dense(self, vector: Sequence[float], public_only: bool, kind: str | None) -> list[SearchHit]:
        """Nearest chunks that the caller may see.

        Chroma's metadata filter scans (about 37 ms at 10k chunks on 2 cores, growing with the index), so
        the HNSW search runs unfiltered with headroom and the audience/kind filter is applied to its hits;
        only when too few allowed hits remain does a filtered query run.
        """
        k = self._settings.dense_k
        if not public_only and kind is None:
            return self._store.query_vector(vector, k)
        hits = [h for h in self._store.query_vector(vector, k * 4) if self._allowed(h.metadata, public_only, kind)]
        if len(hits) >= k:
            return hits[:k]
        return self._store.query_vector(vector, k, self._where(public_only, kind))

    def attach_vectors(self, chunks: Sequence[RetrievedChunk]) -> None:
        """Fill in the stored embedding of chunks that lack one (one index read, no re-embedding)."""
        missing = [c for c in chunks if c.vector is None]
        if not missing:
            return
        hits, vectors = self._store.get_with_vectors([c.chunk_id for c in missing])
        by_id = dict(zip((h.chunk_id for h in hits), vectors, strict=True))
        for chunk in missing:
            chunk.vector = by_id.get(chunk.chunk_id)

    @staticmethod
    def _allowed(metadata: dict[str, Any], public_only: bool, kind: str | None) -> bool:
        return (not public_only or metadata.get("audience") == "public") and (kind is None or metadata.get("kind") == kind)

    @staticmethod
    def _where(public_only: bool, kind: str | None) -> dict[str, Any] | None:
        clauses: list[dict[str, Any]] = []
        if public_only:
            clauses.append({"audience": "public"})
        if kind is not None:
            clauses.append({"kind": kind})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

