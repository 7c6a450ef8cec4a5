"""Test doubles for the parts the container builds from model files and servers: a hashed bag-of-words embedder, a
word-piece token encoding, an in-memory chunk store and the scripted chat model. With them the assistant, retrieval
and ingestion run for real, in memory, in milliseconds: no Chroma, no ONNX, no GGUF, no tiktoken file.

The fakes are deterministic and keep the properties the code relies on (texts that share words are close, a
document's chunks come back by id and by source, metadata filters hold), not the quality of the real models:
numbers measured with them say nothing about the product.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatResult

from deskpilot.config import EmbeddingSettings, IngestSettings, LLMSettings, RoutingSettings, Settings
from deskpilot.container import Container
from deskpilot.index.documents import Chunk
from deskpilot.index.store import SearchHit
from deskpilot.ingest.chunking import Chunker
from deskpilot.providers.llm import ExtractiveFakeChat, LLMClient
from deskpilot.text.words import tokenize

REPO = Path(__file__).resolve().parents[1]


class HashEmbeddings(Embeddings):
    """Unit vectors of hashed word stems (the tokenizer retrieval uses): texts sharing words are close, texts
    sharing none are orthogonal. Deterministic across processes (blake2b, not Python's salted hash)."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self.calls = 0  # embedding calls made (a cache in front of this one is visible in it)

    def _vector(self, text: str) -> list[float]:
        vector = np.zeros(self.size, dtype=np.float64)
        for word in set(tokenize(text)):
            digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
            vector[int.from_bytes(digest[:4], "little") % self.size] += 1.0 if digest[4] & 1 else -1.0
        norm = float(np.linalg.norm(vector))
        return (vector / norm if norm else vector).tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Vectors for texts."""
        self.calls += 1
        return [self._vector(text) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        """Vector for one text."""
        return self.embed_documents([text])[0]


class WordPieces:
    """A token encoding with tiktoken's two methods the chunker uses: a token is a word with the white space
    before it, so decoding a window of tokens gives back the exact text."""

    _PIECE = re.compile(r"\s*\S+|\s+")

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._pieces: list[str] = []

    def encode_ordinary(self, text: str) -> list[int]:
        """Token ids of text."""
        out = []
        for piece in self._PIECE.findall(text):
            if piece not in self._ids:
                self._ids[piece] = len(self._pieces)
                self._pieces.append(piece)
            out.append(self._ids[piece])
        return out

    def decode(self, tokens: Sequence[int]) -> str:
        """The text of token ids."""
        return "".join(self._pieces[t] for t in tokens)


def _matches(metadata: dict[str, Any], where: dict[str, Any] | None) -> bool:
    """Chroma's `where` as retrieval and ingestion write it: equality on fields, `$in`, `$and` of clauses."""
    if not where:
        return True
    if "$and" in where:
        return all(_matches(metadata, clause) for clause in where["$and"])
    return all(metadata.get(key) in value["$in"] if isinstance(value, dict) else metadata.get(key) == value
               for key, value in where.items())


class MemoryStore:
    """The chunk store's methods (index/store.py `ChunkStore`) on a dict: exact cosine search, Chroma's metadata
    filters, vectors embedded on upsert. `fail_with` makes every call raise it (an index gone away)."""

    def __init__(self, embeddings: Embeddings) -> None:
        self._embeddings = embeddings
        self._rows: dict[str, tuple[str, dict[str, Any], np.ndarray]] = {}
        self.fail_with: Exception | None = None

    def _check(self) -> None:
        if self.fail_with is not None:
            raise self.fail_with

    def count(self) -> int:
        """Chunks in the store."""
        self._check()
        return len(self._rows)

    def upsert(self, chunks: Sequence[Chunk], progress: Callable[[int], None] | None = None, batch: int = 64,
               embed_text: Callable[[str], str] | None = None) -> None:
        """Embed and write chunks; same id, same row."""
        self._check()
        texts = [embed_text(c.text) if embed_text else c.text for c in chunks]
        for chunk, vector in zip(chunks, self._embeddings.embed_documents(texts) if texts else [], strict=True):
            self._rows[chunk.chunk_id] = (chunk.text, dict(chunk.metadata), np.asarray(vector, dtype=np.float64))
        if progress is not None and chunks:
            progress(len(chunks))

    def delete(self, ids: Iterable[str]) -> None:
        """Delete chunks by id (unknown ids are ignored)."""
        self._check()
        for chunk_id in list(ids):
            self._rows.pop(chunk_id, None)

    def ids_of_source(self, source_id: str) -> list[str]:
        """Every chunk id of a source."""
        return self.ids_where({"source_id": source_id})

    def ids_where(self, where: dict[str, str]) -> list[str]:
        """Every chunk id whose metadata has all these values."""
        self._check()
        return [cid for cid, (_, meta, _) in self._rows.items() if all(meta.get(k) == v for k, v in where.items())]

    def delete_source(self, source_id: str) -> int:
        """Delete every chunk of a source; returns how many there were."""
        ids = self.ids_of_source(source_id)
        self.delete(ids)
        return len(ids)

    def all_ids(self) -> dict[str, str]:
        """Every chunk id with its source id."""
        self._check()
        return {cid: str(meta.get("source_id", "")) for cid, (_, meta, _) in self._rows.items()}

    def get(self, ids: Sequence[str]) -> list[SearchHit]:
        """Chunks by id (missing ones left out)."""
        self._check()
        return [SearchHit(cid, self._rows[cid][0], dict(self._rows[cid][1]), 1.0) for cid in ids if cid in self._rows]

    def query_ids(self, vector: Sequence[float], k: int, where: dict[str, Any] | None = None) -> list[tuple[str, float]]:
        """Ids and cosine similarities of the k nearest chunks that match `where`."""
        self._check()
        query = np.asarray(vector, dtype=np.float64)
        norm = float(np.linalg.norm(query)) or 1.0
        scored = [(cid, float(row @ query) / norm) for cid, (_, meta, row) in self._rows.items() if _matches(meta, where)]
        return sorted(scored, key=lambda pair: (-pair[1], pair[0]))[:k]

    def search(self, query: str, k: int = 5, where: dict[str, Any] | None = None) -> list[SearchHit]:
        """Nearest chunks to a text."""
        found = self.query_ids(self._embeddings.embed_query(query), k, where)
        hits = {hit.chunk_id: hit for hit in self.get([cid for cid, _ in found])}
        return [SearchHit(cid, hits[cid].text, hits[cid].metadata, score) for cid, score in found]

    def get_metadata(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Metadata by chunk id."""
        return {hit.chunk_id: hit.metadata for hit in self.get(ids)}

    def get_vectors(self, ids: Sequence[str]) -> dict[str, list[float]]:
        """Stored vectors by chunk id."""
        self._check()
        return {cid: self._rows[cid][2].tolist() for cid in ids if cid in self._rows}

    def load_all(self) -> tuple[list[str], list[str], list[dict[str, Any]]]:
        """Every chunk's id, text and metadata (for the keyword index)."""
        self._check()
        ids = list(self._rows)
        return ids, [self._rows[cid][0] for cid in ids], [dict(self._rows[cid][1]) for cid in ids]

    def reset(self) -> None:
        """Drop everything."""
        self._rows.clear()


class BrokenChat(BaseChatModel):
    """A chat model whose server is down: every call fails as a refused connection does."""

    @property
    def _llm_type(self) -> str:
        return "broken"

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None,
                  **kwargs: Any) -> ChatResult:
        raise ConnectionError("connection refused")


def fake_llm(*replies: str, model: BaseChatModel | None = None) -> LLMClient:
    """The LLM client over the scripted model (`replies` in order, then the extractive fake's own answers), or over
    `model`, with the settings of the "fake" provider."""
    return LLMClient(model if model is not None else ExtractiveFakeChat(scripted=list(replies)),
                     LLMSettings(provider="fake"))


def fake_settings(tmp_path: Path) -> Settings:
    """Settings for the fakes: data in tmp_path, the repo's prompts and term list, no model files, the fake
    providers, the lexicon alone for escalation (no sentence encoder) and the routing thresholds as configured in
    config.py (the calibrated eval/thresholds.yaml is for the real embedder)."""
    return Settings(
        data_dir=tmp_path / "data",
        models_dir=tmp_path / "no-models",
        embedding=EmbeddingSettings(provider="fake"),
        llm=LLMSettings(provider="fake"),
        ingest=IngestSettings(terms_file=REPO / "ingest" / "terms.yaml", sources_file=tmp_path / "sources.yaml"),
        routing=RoutingSettings(classifier="off", thresholds_file=None, min_relevance=0.2),
        assistant={"prompts_dir": REPO / "prompts"},  # type: ignore[arg-type]
        _env_file=None,  # type: ignore[call-arg]
    )


def fake_container(tmp_path: Path, llm: LLMClient | None = None) -> Container:
    """A container whose models and index are the fakes above (the database is SQLite in tmp_path)."""
    settings = fake_settings(tmp_path)
    embeddings = HashEmbeddings()
    container = Container(settings, llm=llm or fake_llm(), embeddings=embeddings, store=MemoryStore(embeddings))  # type: ignore[arg-type]
    container.override(chunker=Chunker(WordPieces(), settings.ingest.chunk_size, settings.ingest.chunk_overlap))  # type: ignore[arg-type]
    return container
