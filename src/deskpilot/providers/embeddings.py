"""Embedding providers behind LangChain's `Embeddings` interface: local ONNX MiniLM, OpenAI-compatible, fake."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from deskpilot.config import EmbeddingSettings
from deskpilot.errors import ConfigError, EmbeddingError
from deskpilot.lru import LruCache
from deskpilot.providers.model_files import MINILM_DIR, MINILM_Q8_DIR, require
from deskpilot.providers.onnx_minilm import OnnxMiniLM

logger = logging.getLogger(__name__)

class LocalEmbeddings(Embeddings):
    """LangChain `Embeddings` over the local ONNX MiniLM. The model loads on first use."""

    def __init__(self, models_dir: Path, settings: EmbeddingSettings) -> None:
        if settings.model != "all-MiniLM-L6-v2":
            raise ConfigError(f"the local embedding provider ships only all-MiniLM-L6-v2, not {settings.model!r}")
        self._models_dir = models_dir
        self._settings = settings
        self._model: OnnxMiniLM | None = None
        self._lock = threading.Lock()

    @property
    def model(self) -> OnnxMiniLM:
        """The loaded ONNX model (loaded once, thread-safe)."""
        with self._lock:
            if self._model is None:
                folder = MINILM_Q8_DIR if self._settings.quantize else MINILM_DIR
                self._model = OnnxMiniLM(
                    require(self._models_dir, f"{folder}/model.onnx"),
                    require(self._models_dir, MINILM_DIR),
                    max_tokens=self._settings.max_tokens,
                    batch_size=self._settings.batch_size,
                    threads=self._settings.threads,
                )
            return self._model

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Vectors for documents."""
        return self.model.embed(texts)

    def embed_query(self, text: str) -> list[float]:
        """Vector for a query."""
        return self.model.embed([text])[0]


class _TranslatingEmbeddings(Embeddings):
    """Wraps a vendor `Embeddings` so that its failures surface as EmbeddingError."""

    def __init__(self, inner: Embeddings, label: str) -> None:
        self._inner = inner
        self._label = label

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        try:
            return self._inner.embed_documents(texts)
        except Exception as exc:
            raise EmbeddingError(f"{self._label} embeddings failed: {exc}") from exc

    def embed_query(self, text: str) -> list[float]:
        try:
            return self._inner.embed_query(text)
        except Exception as exc:
            raise EmbeddingError(f"{self._label} embeddings failed: {exc}") from exc


class RecentEmbeddings(Embeddings):
    """Remembers the vectors of recent short texts (questions, ticket texts, answer claims), which repeat in a
    helpdesk; documents being ingested go to the inner model directly and are not kept."""

    def __init__(self, inner: Embeddings, size: int, max_chars: int = 2000) -> None:
        self.inner = inner
        self._cache = LruCache(size)
        self._max_chars = max_chars

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Vectors for texts, embedding only those not seen lately."""
        found: dict[str, list[float]] = {}
        for text in texts:
            vector = self._cache.get(text)
            if vector is not None:
                found[text] = vector.tolist()
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            for text, vector in zip(missing, self.inner.embed_documents(missing), strict=True):
                found[text] = vector
                if len(text) <= self._max_chars:
                    self._cache.put(text, np.asarray(vector, dtype=np.float32))
        return [found[t] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        """Vector for one text."""
        return self.embed_documents([text])[0]


def build_embeddings(settings: EmbeddingSettings, models_dir: Path) -> Embeddings:
    """The configured embedding provider."""
    if settings.provider == "local":
        return LocalEmbeddings(models_dir, settings)
    if settings.provider == "openai":
        from langchain_openai import OpenAIEmbeddings

        if not settings.base_url and not settings.api_key:
            raise ConfigError("embedding provider 'openai' needs DESKPILOT_EMBEDDING__BASE_URL or an API key")
        inner = OpenAIEmbeddings(  # type: ignore[call-arg]
            model=settings.model,
            base_url=settings.base_url,
            api_key=settings.api_key or "not-needed",  # type: ignore[arg-type]
            dimensions=settings.dimensions,
            chunk_size=settings.batch_size,
            check_embedding_ctx_length=False,
        )
        return _TranslatingEmbeddings(inner, f"OpenAI-compatible ({settings.base_url or 'api.openai.com'})")
    if settings.provider == "fake":
        from langchain_core.embeddings import DeterministicFakeEmbedding

        return DeterministicFakeEmbedding(size=settings.dimensions or 384)
    raise ConfigError(f"unknown embedding provider {settings.provider!r}")


def embedding_model_id(settings: EmbeddingSettings) -> str:
    """An id of the vector space, stored with the collection so mixing models is refused."""
    if settings.provider == "local":
        return f"local:{settings.model}"
    return f"{settings.provider}:{settings.model}:{settings.dimensions or 'default'}"
