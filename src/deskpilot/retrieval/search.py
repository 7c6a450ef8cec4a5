"""Hybrid retrieval: vector similarity and BM25 over the same chunks, fused with weights, diversified.

The audience filter comes from the caller's role and is applied inside both searches: a customer's
query never scores, let alone returns, an internal chunk.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from deskpilot.config import RetrievalSettings
from deskpilot.domain import can_see_internal
from deskpilot.errors import RetrievalError
from deskpilot.index.store import ChunkStore, SearchHit
from deskpilot.index.terms import TermNormalizer
from deskpilot.lru import LruCache
from deskpilot.retrieval.keyword import KeywordIndex
from deskpilot.retrieval.titles import TitleNames

logger = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class _Ranking:
    """Candidates of one query in score order, before the per-source choice (never mutated once cached)."""

    ranked: list[str]
    scores: dict[str, float]
    dense: dict[str, float]
    keyword: dict[str, float]
    facts: dict[str, tuple[bool, str, str]]
    vectors_of: dict[str, list[float]]


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
        # Helpdesk questions repeat ("how do I reset my password") and agents reopen the same tickets, so
        # candidate rankings are kept for a while, keyed by the index generation. The chunks chosen from a
        # cached ranking are still read fresh, and their audience re-checked, on every search.
        self._ranking_cache = LruCache(settings.cache_size)
        self._names: dict[bool, tuple[object, TitleNames]] = {}

    def search(self, query: str, role: str = "customer", k: int | None = None, kind: str | None = None,
               extra_queries: Sequence[str] = (), prefer: Sequence[str] = ()) -> RetrievalResult:
        """Retrieve chunks for a query (and optional reformulations, e.g. a translation).

        Args:
            query: the user's question or a standalone rewrite of it.
            role: the caller's role; customers get public chunks only.
            k: how many chunks to return (default settings.top_k).
            kind: restrict to "article" or "ticket".
            extra_queries: more phrasings of the same need; candidates of all are fused.
            prefer: sources the question is about (a conversation's subject, see `subject`): their best chunks
                are candidates whatever their rank, and come first.
        """
        k = k or self._settings.top_k
        public_only = not can_see_internal(role)
        queries = [q for q in dict.fromkeys([query, *extra_queries]) if q and q.strip()]
        if not queries:
            raise RetrievalError("empty query")
        normalized = [self._terms.normalize(q) for q in queries]
        generation = self._generation()
        if self._settings.keyword_k:
            self._keyword.ensure(generation, self._store.load_all, self._terms.normalize)
        prefer = tuple(dict.fromkeys(prefer))
        key = (generation, tuple(normalized), public_only, kind, prefer)
        ranking = self._ranking_cache.get(key)
        if ranking is None:  # only a new ranking needs the query vectors
            ranking = self._rank(normalized, self._vectors(normalized), public_only, kind, prefer)
            self._ranking_cache.put(key, ranking)
        chosen = self._choose(ranking.ranked, k, ranking.facts, public_only, kind)
        chunks = [RetrievedChunk(hit.chunk_id, hit.text, hit.metadata, ranking.scores[hit.chunk_id],
                                 ranking.dense.get(hit.chunk_id, 0.0), ranking.keyword.get(hit.chunk_id, 0.0),
                                 ranking.vectors_of.get(hit.chunk_id)) for hit in chosen]
        return RetrievalResult(chunks, max(ranking.dense.values(), default=0.0), queries)

    def _vectors(self, texts: list[str]) -> list[list[float]]:
        try:
            return self._embeddings.embed_documents(texts)
        except Exception as exc:
            raise RetrievalError(f"could not embed the query: {exc}") from exc

    def _rank(self, normalized: list[str], vectors: list[list[float]], public_only: bool, kind: str | None,
              prefer: tuple[str, ...] = ()) -> _Ranking:
        """Candidates ranked on ids and scores alone (text and metadata are read only for the chunks chosen)."""
        facts: dict[str, tuple[bool, str, str]] = {}  # chunk id -> (public, kind, source id)
        dense: dict[str, float] = {}
        for vector in vectors:
            for cid, score in self._dense(vector, public_only, kind, facts):
                dense[cid] = max(dense.get(cid, -1.0), score)
        if prefer:
            where = self._where(public_only, kind)
            within: dict[str, Any] = {"source_id": {"$in": list(prefer)}}
            within = within if where is None else {"$and": [within, *where.get("$and", [where])]}
            for vector in vectors:
                pairs = self._store.query_ids(vector, self._settings.per_source * len(prefer), within)
                self._learn([cid for cid, _ in pairs], facts)
                for cid, score in pairs:
                    dense[cid] = max(dense.get(cid, -1.0), score)
        keyword: dict[str, float] = {}
        vectors_of: dict[str, list[float]] = {}
        if self._settings.keyword_k:
            for text in normalized:
                keyword_hits = self._keyword.search(text, self._settings.keyword_k, public_only, kind)
                best = keyword_hits[0].score if keyword_hits else 0.0
                for keyword_hit in keyword_hits:
                    keyword[keyword_hit.chunk_id] = max(keyword.get(keyword_hit.chunk_id, 0.0),
                                                        keyword_hit.score / best if best else 0.0)
            missing = [cid for cid in keyword if cid not in dense]
            if missing:
                self._learn(missing, facts)
                vectors_of = self._store.get_vectors(missing)
                queries_matrix = np.asarray(vectors, dtype=np.float32)
                for cid, vec in vectors_of.items():
                    dense[cid] = float((queries_matrix @ np.asarray(vec, dtype=np.float32)).max())
        weight = self._settings.dense_weight
        scores = {cid: weight * dense.get(cid, 0.0) + (1 - weight) * keyword.get(cid, 0.0)
                  for cid in dense if cid in facts and self._permits(facts[cid], public_only, kind)}
        ranked = sorted(scores, key=lambda cid: (facts[cid][2] not in prefer, -scores[cid]))
        return _Ranking(ranked, scores, dense, keyword, facts, vectors_of)

    def _choose(self, ranked: list[str], k: int, facts: dict[str, tuple[bool, str, str]], public_only: bool,
                kind: str | None) -> list[SearchHit]:
        """The best k with at most per_source chunks of one source. Their text and metadata are read now, and
        the audience is checked again on that fresh metadata (the in-memory facts may be a rebuild behind)."""
        chosen: list[SearchHit] = []
        per_source: dict[str, int] = {}
        position = 0
        while len(chosen) < k and position < len(ranked):
            batch: list[str] = []
            while len(chosen) + len(batch) < k and position < len(ranked):
                cid = ranked[position]
                position += 1
                source = facts[cid][2]
                if per_source.get(source, 0) >= self._settings.per_source:
                    continue
                per_source[source] = per_source.get(source, 0) + 1
                batch.append(cid)
            hits = {hit.chunk_id: hit for hit in self._store.get(batch)}
            for cid in batch:
                hit = hits.get(cid)
                if hit is not None and self._allowed(hit.metadata, public_only, kind):
                    chosen.append(hit)
                else:  # deleted or no longer allowed since the snapshot: give its slot back
                    per_source[facts[cid][2]] -= 1
        return chosen

    def _learn(self, ids: Sequence[str], facts: dict[str, tuple[bool, str, str]]) -> None:
        """Fill in (public, kind, source id) of ids: from the keyword snapshot, else from the store."""
        unknown = [cid for cid in ids if cid not in facts]
        found = self._keyword.lookup(unknown)
        facts.update(found)
        rest = [cid for cid in unknown if cid not in found]
        for cid, meta in self._store.get_metadata(rest).items():
            facts[cid] = (meta.get("audience") == "public", str(meta.get("kind", "")), str(meta.get("source_id", "")))

    @staticmethod
    def _permits(fact: tuple[bool, str, str], public_only: bool, kind: str | None) -> bool:
        return (not public_only or fact[0]) and (kind is None or fact[1] == kind)

    def _dense(self, vector: Sequence[float], public_only: bool, kind: str | None,
               facts: dict[str, tuple[bool, str, str]]) -> list[tuple[str, float]]:
        """Nearest chunks that the caller may see, as (id, similarity).

        Chroma's metadata filter scans (about 37 ms at 10k chunks on 2 cores, growing with the index), so
        the HNSW search runs unfiltered with headroom and the audience/kind filter is applied to its hits;
        only when too few allowed hits remain does a filtered query run.
        """
        k = self._settings.dense_k
        if not public_only and kind is None:
            pairs = self._store.query_ids(vector, k)
            self._learn([cid for cid, _ in pairs], facts)
            return pairs
        pairs = self._store.query_ids(vector, k * 4)
        self._learn([cid for cid, _ in pairs], facts)
        allowed = [(cid, s) for cid, s in pairs if cid in facts and self._permits(facts[cid], public_only, kind)]
        if len(allowed) >= k:
            return allowed[:k]
        pairs = self._store.query_ids(vector, k, self._where(public_only, kind))
        self._learn([cid for cid, _ in pairs], facts)
        return pairs

    def subject(self, turns: Sequence[str], role: str = "customer") -> list[str]:
        """The sources a conversation is about: those whose titles the latest turn naming any of them names
        (turns latest first; retrieval/titles.py), among the sources role may see."""
        return self._titles(role).subject(turns)

    def unnamed(self, text: str, sources: Sequence[str], role: str = "customer") -> str:
        """What text asks about these sources, their names taken out of it (TitleNames.unnamed)."""
        return self._titles(role).unnamed(text, sources)

    def _titles(self, role: str) -> TitleNames:
        """The titles role may see, as of the keyword snapshot (rebuilt with it)."""
        public_only = not can_see_internal(role)
        self._keyword.ensure(self._generation(), self._store.load_all, self._terms.normalize)
        snapshot = self._keyword.generation
        cached = self._names.get(public_only)
        if cached is None or cached[0] != snapshot:
            cached = (snapshot, TitleNames(self._keyword.titles(public_only)))
            self._names[public_only] = cached
        return cached[1]

    def source_chunks(self, source_ids: Sequence[str], role: str = "customer") -> list[RetrievedChunk]:
        """Every chunk of these sources that role may see, with its stored vector, in source then page order:
        whole pages, for choosing the section that answers a question (retrieval ranks chunks, and the chunk
        that ranks first is often a page's introduction rather than its steps)."""
        public_only = not can_see_internal(role)
        ids = [cid for source_id in source_ids for cid in self._store.ids_of_source(source_id)]
        hits = [h for h in self._store.get(ids) if self._allowed(h.metadata, public_only, None)]
        order = {source_id: n for n, source_id in enumerate(source_ids)}
        hits.sort(key=lambda h: (order.get(str(h.metadata.get("source_id")), len(order)), int(h.metadata.get("chunk_index", 0))))
        vectors = self._store.get_vectors([h.chunk_id for h in hits])
        return [RetrievedChunk(h.chunk_id, h.text, h.metadata, 0.0, vector=vectors.get(h.chunk_id)) for h in hits]

    def translations(self, chunk: RetrievedChunk, language: str, role: str = "customer") -> list[RetrievedChunk]:
        """The whole pages, in `language`, that translate the chunk's page (the same translation group, see
        index/documents.py), as source_chunks returns them; empty when there is none."""
        group = str(chunk.metadata.get("translation") or "")
        if not group:
            return []
        ids = self._store.ids_where({"translation": group, "language": language})
        sources = [str(meta.get("source_id")) for meta in self._store.get_metadata(ids).values()
                   if meta.get("source_id") != chunk.source_id and meta.get("kind") == "article"]
        return self.source_chunks(list(dict.fromkeys(sources)), role)

    def attach_vectors(self, chunks: Sequence[RetrievedChunk]) -> None:
        """Fill in the stored embedding of chunks that lack one (one index read, no re-embedding)."""
        missing = [c for c in chunks if c.vector is None]
        if not missing:
            return
        by_id = self._store.get_vectors([c.chunk_id for c in missing])
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

