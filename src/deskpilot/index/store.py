"""The chunk index: Chroma through langchain-chroma, embedded on disk or a Chroma server."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from deskpilot.config import Settings
from deskpilot.errors import ConfigError, VectorStoreError
from deskpilot.index.documents import Chunk
from deskpilot.lru import LruCache

logger = logging.getLogger(__name__)

_PAGE = 1000


@dataclass
class SearchHit:
    """A chunk found by a search, with its similarity in [-1, 1] (cosine)."""

    chunk_id: str
    text: str
    metadata: dict[str, Any]
    score: float
    vector: list[float] | None = None


def make_chroma_client(settings: Settings) -> Any:
    """A Chroma client: HttpClient when CHROMA_HOST is set, else a PersistentClient in the data dir."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=True)
    try:
        if settings.chroma_host:
            return chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port,
                                       ssl=settings.chroma_ssl, settings=chroma_settings)
        settings.chroma_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(settings.chroma_dir), settings=chroma_settings)
    except Exception as exc:
        where = f"{settings.chroma_host}:{settings.chroma_port}" if settings.chroma_host else settings.chroma_dir
        raise VectorStoreError(f"cannot open the Chroma index at {where}: {exc}") from exc


class ChunkStore:
    """Chunks and their vectors in one Chroma collection (cosine space), tagged with the embedding model."""

    def __init__(self, client: Any, collection: str, embeddings: Embeddings, model_id: str) -> None:
        self._client = client
        self._name = collection
        self._embeddings = embeddings
        self._model_id = model_id
        self._vectorstore: Any = None
        self._vectors = LruCache(20_000)  # float32: about 31 MB of 384-d vectors at most

    @property
    def vectorstore(self) -> Any:
        """The langchain-chroma `Chroma` store (created on first use)."""
        if self._vectorstore is None:
            from langchain_chroma import Chroma

            try:
                store = Chroma(
                    client=self._client,
                    collection_name=self._name,
                    embedding_function=self._embeddings,
                    collection_metadata={"hnsw:space": "cosine", "embedding_model": self._model_id},
                )
                stored = (store._collection.metadata or {}).get("embedding_model")
            except Exception as exc:
                raise VectorStoreError(f"cannot open Chroma collection {self._name!r}: {exc}") from exc
            if stored and stored != self._model_id:
                raise ConfigError(
                    f"the index was built with embeddings {stored!r} but {self._model_id!r} is configured: "
                    "run `deskpilot ingest --full` to rebuild it"
                )
            self._vectorstore = store
        return self._vectorstore

    @property
    def collection(self) -> Any:
        """The raw Chroma collection."""
        return self.vectorstore._collection

    def _call(self, what: str, fn: Callable[..., Any]) -> Any:
        try:
            return fn()
        except (ConfigError, VectorStoreError):
            raise
        except Exception as exc:
            raise VectorStoreError(f"Chroma {what} failed: {exc}") from exc

    def count(self) -> int:
        """Chunks in the index."""
        return int(self._call("count", self.collection.count))

    def upsert(self, chunks: Sequence[Chunk], progress: Callable[[int], None] | None = None,
               batch: int = 64, embed_text: Callable[[str], str] | None = None) -> None:
        """Embed and write chunks (idempotent: same id, same row). Calls progress(n) after each batch.

        `embed_text` maps a chunk's stored text to the text that is embedded (e.g. term normalisation);
        the stored document stays as written.
        """
        ordered = sorted(chunks, key=lambda c: len(c.text))
        for start in range(0, len(ordered), batch):
            part = ordered[start:start + batch]
            texts = [embed_text(c.text) if embed_text else c.text for c in part]
            try:
                vectors = self._embeddings.embed_documents(texts)
            except Exception as exc:
                raise VectorStoreError(f"embedding failed: {exc}") from exc
            self._call("upsert", lambda part=part, vectors=vectors: self.collection.upsert(
                ids=[c.chunk_id for c in part], embeddings=vectors, documents=[c.text for c in part],
                metadatas=[dict(c.metadata) for c in part]))
            if progress is not None:
                progress(len(part))

    def delete(self, ids: Iterable[str]) -> None:
        """Delete chunks by id (unknown ids are ignored)."""
        ids = list(ids)
        for start in range(0, len(ids), _PAGE):
            self._call("delete", lambda s=start: self.collection.delete(ids=ids[s:s + _PAGE]))

    def ids_of_source(self, source_id: str) -> list[str]:
        """Every chunk id stored for a source, whatever the record says."""
        return self.ids_where({"source_id": source_id})

    def ids_where(self, where: dict[str, str]) -> list[str]:
        """Every chunk id whose metadata has all these values."""
        condition: dict[str, Any] = where if len(where) == 1 else {"$and": [{k: v} for k, v in where.items()]}
        result = self._call("get", lambda: self.collection.get(where=condition, include=[]))
        return list(result["ids"])

    def delete_source(self, source_id: str) -> int:
        """Delete every chunk of a source; returns how many there were."""
        ids = self.ids_of_source(source_id)
        self.delete(ids)
        return len(ids)

    def all_ids(self) -> dict[str, str]:
        """Every chunk id with its source id (paged scan; used by the consistency repair)."""
        out: dict[str, str] = {}
        offset = 0
        while True:
            page = self._call("get", lambda o=offset: self.collection.get(
                include=["metadatas"], limit=_PAGE, offset=o))
            for chunk_id, meta in zip(page["ids"], page["metadatas"] or [], strict=False):
                out[chunk_id] = str((meta or {}).get("source_id", ""))
            if len(page["ids"]) < _PAGE:
                return out
            offset += _PAGE

    def get(self, ids: Sequence[str]) -> list[SearchHit]:
        """Chunks by id, in the order found."""
        if not ids:
            return []
        result = self._call("get", lambda: self.collection.get(ids=list(ids), include=["documents", "metadatas"]))
        return [SearchHit(i, d or "", m or {}, 1.0)
                for i, d, m in zip(result["ids"], result["documents"], result["metadatas"], strict=False)]

    def search(self, query: str, k: int = 5, where: dict[str, Any] | None = None) -> list[SearchHit]:
        """Nearest chunks to the query by cosine similarity, optionally filtered by metadata."""
        pairs = self._call("query", lambda: self.vectorstore.similarity_search_with_score(query, k=k, filter=where))
        return [SearchHit(str(doc.id), doc.page_content, dict(doc.metadata), 1.0 - float(distance))
                for doc, distance in pairs]

    def query_ids(self, vector: Sequence[float], k: int, where: dict[str, Any] | None = None) -> list[tuple[str, float]]:
        """Ids and cosine similarities of the nearest chunks (no documents or metadata: about 10x cheaper)."""
        result = self._call("query", lambda: self.collection.query(
            query_embeddings=[list(vector)], n_results=k, where=where, include=["distances"]))
        return [(i, 1.0 - float(d)) for i, d in zip(result["ids"][0], result["distances"][0], strict=False)]

    def get_metadata(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Metadata by chunk id."""
        if not ids:
            return {}
        result = self._call("get", lambda: self.collection.get(ids=list(ids), include=["metadatas"]))
        return {i: dict(m or {}) for i, m in zip(result["ids"], result["metadatas"], strict=False)}

    def get_vectors(self, ids: Sequence[str]) -> dict[str, list[float]]:
        """Stored embeddings by chunk id. A chunk id is the hash of everything its vector is computed from,
        so vectors read once are remembered (a bounded cache) without ever going stale."""
        found: dict[str, list[float]] = {}
        for cid in ids:
            vector = self._vectors.get(cid)
            if vector is not None:
                found[cid] = vector.tolist()
        missing = [cid for cid in ids if cid not in found]
        if missing:
            result = self._call("get", lambda: self.collection.get(ids=missing, include=["embeddings"]))
            for cid, raw in zip(result["ids"], result["embeddings"], strict=False):
                found[cid] = list(map(float, raw))
                self._vectors.put(cid, np.asarray(raw, dtype=np.float32))
        return found

    def load_all(self) -> tuple[list[str], list[str], list[dict[str, Any]]]:
        """Every chunk's id, text and metadata (paged), for the keyword index."""
        ids: list[str] = []
        documents: list[str] = []
        metadatas: list[dict[str, Any]] = []
        offset = 0
        while True:
            page = self._call("get", lambda o=offset: self.collection.get(
                include=["documents", "metadatas"], limit=_PAGE * 5, offset=o))
            ids += page["ids"]
            documents += [d or "" for d in page["documents"]]
            metadatas += [m or {} for m in page["metadatas"]]
            if len(page["ids"]) < _PAGE * 5:
                return ids, documents, metadatas
            offset += _PAGE * 5

    def reset(self) -> None:
        """Drop the collection (a full rebuild follows)."""
        try:
            self._client.delete_collection(self._name)
        except Exception as exc:  # a missing collection is fine
            logger.debug("delete_collection: %s", exc)
        self._vectorstore = None
