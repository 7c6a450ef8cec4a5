"""Keyword search (BM25, bm25s) over the same chunks as the vector index."""

from __future__ import annotations

import functools
import logging
import re
import threading
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

_WORD_RE = re.compile(r"[^\W_]+(?:['’.-][^\W_]+)*", re.UNICODE)
# Short, language-neutral stopword lists (en, fr, de, es): enough to keep BM25 from matching on glue words.
_STOPWORDS_TEXT = """
a an and are as at be been but by can could did do does for from had has have how i if in into is
it its me my no not of on or our so than that the their them then there these they this to too was
we were what when where which who why will with would you your yours am any all also just about
after before up out le la les un une des du de et ou est sont pour dans sur par avec ce cette ces
qui que quoi comment je tu il elle nous vous ils elles mon ma mes votre vos notre nos pas ne plus
au aux en se sa son ses y a été être der die das ein eine und oder ist sind für mit auf im in zu
den dem des ich du er sie wir ihr nicht wie was el la los las un una y o es son para con por en de
del que como yo tu mi su sus no se al lo
"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())


def fold(text: str) -> str:
    """Lower-case and strip accents (é -> e), so that accent-less queries still match."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def stem(token: str) -> str:
    """A light, language-neutral suffix strip (plurals, -ing, -ed) so that refund/refunds/refunded meet."""
    if len(token) <= 3 or not token.isalpha():
        return token
    for suffix in ("ing", "ed"):
        if token.endswith(suffix) and len(token) - len(suffix) >= 4:
            return token[: -len(suffix)]
    if token.endswith(("s", "x")) and not token.endswith(("ss", "us", "is")):
        return token[:-1]
    return token


def tokenize(text: str) -> list[str]:
    """Word tokens for BM25 and support checks: folded, stopwords removed, lightly stemmed; numbers and
    codes kept (ERR_SYNC_409 -> err, sync, 409)."""
    return list(_tokens(text)) if len(text) <= 2000 else _tokenize(text)


@functools.lru_cache(maxsize=16384)
def _tokens(text: str) -> tuple[str, ...]:
    """Tokens of short texts (sentences and chunks met again by every support check), remembered."""
    return tuple(_tokenize(text))


def _tokenize(text: str) -> list[str]:
    return [stem(t) for t in _WORD_RE.findall(fold(text)) if t not in STOPWORDS]


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
                with self._lock:
                    self._ids, self._public, self._kind, self._bm25 = state
                    self._sources, self._rows = sources, {cid: row for row, cid in enumerate(ids)}
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

    @property
    def size(self) -> int:
        """Chunks indexed."""
        return len(self._ids)
