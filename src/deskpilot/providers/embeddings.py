"""Embedding providers behind LangChain's `Embeddings` interface: local ONNX MiniLM, OpenAI-compatible, fake."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from deskpilot.config import EmbeddingSettings
from deskpilot.errors import ConfigError, EmbeddingError
from deskpilot.lru import LruCache
from deskpilot.providers.model_files import MINILM_DIR, MINILM_Q8_DIR, require

logger = logging.getLogger(__name__)

# A batch may waste at most this share of its token slots on padding.
_MAX_PADDING_SHARE = 0.12


class OnnxMiniLM:
    """all-MiniLM-L6-v2 run with ONNX Runtime: mean pooling, L2-normalised, no fixed-length padding.

    Texts are sorted by token count and grouped so that a batch wastes little on padding; the
    model's window (256 word pieces) truncates longer input. One input batch (a query) runs on a session
    that uses every thread; many batches (ingestion) run side by side on one single-threaded session per
    thread, which on 2 cores embeds about 20% more per second than one session splitting each batch.
    """

    def __init__(self, model_path: Path, tokenizer_dir: Path, max_tokens: int = 256,
                 batch_size: int = 16, threads: int = 0) -> None:
        import tokenizers

        self._tokenizer = tokenizers.Tokenizer.from_file(str(tokenizer_dir / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=max_tokens)
        self._threads = threads or (os.cpu_count() or 1)
        self._model_path = model_path
        self._session = self._new_session(self._threads)
        self._workers: list[Any] = []
        self._workers_lock = threading.Lock()
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._batch_size = batch_size
        self.max_tokens = max_tokens

    def _new_session(self, threads: int) -> Any:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        return ort.InferenceSession(str(self._model_path), options, providers=["CPUExecutionProvider"])

    def _worker_sessions(self) -> list[Any]:
        with self._workers_lock:
            if not self._workers:
                self._workers = [self._new_session(1) for _ in range(self._threads)]
            return self._workers

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces of each text before truncation, special tokens included."""
        self._tokenizer.no_truncation()
        try:
            return [len(e.ids) for e in self._tokenizer.encode_batch(list(texts))]
        finally:
            self._tokenizer.enable_truncation(max_length=self.max_tokens)

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Unit vectors (384-d) for texts, in input order."""
        if not texts:
            return []
        encodings = self._tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        out = np.zeros((len(texts), 384), dtype=np.float32)
        batches = self._batches(order, [len(e.ids) for e in encodings])
        if len(batches) == 1 or self._threads == 1:
            for batch in batches:
                out[batch] = self._run(self._session, [encodings[i].ids for i in batch])
            return out.tolist()
        sessions = self._worker_sessions()
        # ONNX Runtime releases the GIL while it runs: one single-threaded session per thread, batches
        # dealt round-robin (the batches are length-sorted, so each thread gets a similar share of work).
        with ThreadPoolExecutor(len(sessions)) as pool:
            parts = [pool.submit(self._run_many, session, [b for j, b in enumerate(batches) if j % len(sessions) == n],
                                 encodings) for n, session in enumerate(sessions)]
            for part in parts:
                for batch, pooled in part.result():
                    out[batch] = pooled
        return out.tolist()

    def _run_many(self, session: Any, batches: list[list[int]], encodings: Sequence[Any]) -> list[tuple[list[int], Any]]:
        return [(batch, self._run(session, [encodings[i].ids for i in batch])) for batch in batches]

    def _run(self, session: Any, rows: Sequence[Sequence[int]]) -> Any:
        """Mean-pooled, L2-normalised vectors of one batch of token id rows."""
        width = max(len(r) for r in rows)
        ids = np.zeros((len(rows), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, tokens in enumerate(rows):
            ids[row, : len(tokens)] = tokens
            mask[row, : len(tokens)] = 1
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        hidden = session.run(None, feed)[0]
        summed = (hidden * mask[..., None]).sum(axis=1)
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
        pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return pooled

    def _batches(self, order: list[int], lengths: list[int]) -> list[list[int]]:
        """Consecutive runs of the length-sorted order that waste little padding."""
        batches: list[list[int]] = []
        current: list[int] = []
        total = 0
        for i in order:
            width = lengths[i]  # sorted ascending: the newest is the widest
            if current and (len(current) >= self._batch_size
                            or 1 - (total + width) / (width * (len(current) + 1)) > _MAX_PADDING_SHARE):
                batches.append(current)
                current, total = [], 0
            current.append(i)
            total += width
        if current:
            batches.append(current)
        return batches


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
