"""Keyword search (BM25, bm25s) over the same chunks as the vector index."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from deskpilot.text.words import tokenize

logger = logging.getLogger(__name__)


@dataclass
class KeywordHit:
    """A chunk id with its BM25 score."""

    chunk_id: str
    score: float


class KeywordIndex:
    """An in-memory BM25 index, rebuilt from the chunk store when its generation changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._generation: object = None
        self._ids: list[str] = []
        self._public: np.ndarray = np.array([], dtype=bool)
        self._kind: np.ndarray = np.array([], dtype=object)
        self._sources: list[str] = []
        self._rows: dict[str, int] = {}
        self._titles: dict[str, tuple[str, bool]] = {}
        self._bm25: Any = None
        self._building = False

    def ensure(self, generation: object, load: Callable[[], tuple[list[str], list[str], list[dict[str, object]]]],
               normalize: Callable[[str], str] | None = None) -> None:
        """Make the index match the chunk store's generation.

        The first build is synchronous. Later, when the generation changes, the index is rebuilt in a
        background thread while searches keep using the previous one (a missing or deleted chunk there only
        costs a keyword candidate: vector search is always current), so no query waits for a rebuild
        (26 s at 100k chunks on 2 cores).
        """
        with self._lock:
            if generation == self._generation:
                return
            first = self._bm25 is None
            if not first and self._building:
                return
            self._building = True

        def build() -> None:
            try:
                ids, documents, metadatas = load()
                if normalize is not None:
                    documents = [normalize(d) for d in documents]
                state = self._prepare(ids, documents, metadatas)
                sources = [str(m.get("source_id", "")) for m in metadatas]
                titles = {source: (str(m.get("title") or ""), m.get("audience") == "public")
                          for source, m in zip(sources, metadatas, strict=True)}
                with self._lock:
                    self._ids, self._public, self._kind, self._bm25 = state
                    self._sources, self._rows = sources, {cid: row for row, cid in enumerate(ids)}
                    self._titles = titles
                    self._generation = generation
            except Exception:
                logger.exception("keyword index rebuild failed; keeping the previous one")
            finally:
                with self._lock:
                    self._building = False

        if first:
            build()
        else:
            threading.Thread(target=build, name="bm25-rebuild", daemon=True).start()

    @staticmethod
    def _prepare(ids: list[str], documents: list[str], metadatas: list[dict[str, object]]) -> tuple[Any, ...]:
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s sets DEBUG on import
        public = np.array([m.get("audience") == "public" for m in metadatas], dtype=bool)
        kind = np.array([str(m.get("kind", "")) for m in metadatas], dtype=object)
        corpus = [tokenize(doc) or [""] for doc in documents]
        bm25: Any = None
        if corpus:
            bm25 = bm25s.BM25()
            bm25.index(corpus, show_progress=False)
        return list(ids), public, kind, bm25

    def search(self, query: str, k: int, public_only: bool, kind: str | None = None) -> list[KeywordHit]:
        """Top-k chunks by BM25 for query; the audience filter is applied before ranking."""
        with self._lock:
            bm25, ids, public, kinds = self._bm25, self._ids, self._public, self._kind
            if bm25 is None:
                return []
            tokens = [t for t in tokenize(query) if t in bm25.vocab_dict]  # type: ignore[attr-defined]
            if not tokens:
                return []
        scores = np.asarray(bm25.get_scores(tokens), dtype=np.float32)
        mask = np.ones(len(scores), dtype=bool)
        if public_only:
            mask &= public
        if kind is not None:
            mask &= kinds == kind
        scores = np.where(mask, scores, -1.0)
        k = min(k, int((scores > 0).sum()))
        if k <= 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [KeywordHit(ids[i], float(scores[i])) for i in top]

    def lookup(self, ids: Sequence[str]) -> dict[str, tuple[bool, str, str]]:
        """(public, kind, source id) of the ids in the current snapshot; ids it does not hold are left out."""
        with self._lock:
            rows, public, kinds, sources = self._rows, self._public, self._kind, self._sources
        return {cid: (bool(public[row]), str(kinds[row]), sources[row]) for cid in ids
                if (row := rows.get(cid)) is not None}

    def titles(self, public_only: bool) -> dict[str, str]:
        """Source id -> title in the current snapshot (public sources only, or all)."""
        with self._lock:
            titles = self._titles
        return {source: title for source, (title, public) in titles.items() if title and (public or not public_only)}

    @property
    def generation(self) -> object:
        """The chunk store generation of the current snapshot (None before the first build)."""
        return self._generation

    @property
    def size(self) -> int:
        """Chunks indexed."""
        return len(self._ids)
