"""all-MiniLM-L6-v2 with ONNX Runtime, on its own: what the local embeddings run, and what the install step uses to
check a derived (quantized) model against its source. It imports no other Deskpilot module, so both can use it."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

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
