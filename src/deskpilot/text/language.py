"""Language detection (langdetect, seeded so results are repeatable)."""

from __future__ import annotations

import threading

_lock = threading.Lock()
_ready = False


def detect_language(text: str, default: str = "en") -> str:
    """ISO 639-1 code of the text's language, or `default` when the text is too short to tell."""
    sample = " ".join(text.split())[:2000]
    if sum(ch.isalpha() for ch in sample) < 12:
        return default
    global _ready
    from langdetect import DetectorFactory, detect
    from langdetect.lang_detect_exception import LangDetectException

    with _lock:
        if not _ready:
            DetectorFactory.seed = 0
            _ready = True
        try:
            return str(detect(sample)).split("-")[0]
        except LangDetectException:
            return default
