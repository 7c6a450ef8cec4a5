"""Token counting with tiktoken, loaded from the BPE files that `deskpilot models install` put in place."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import tiktoken

from deskpilot.errors import ModelFilesError

TIKTOKEN_DIR = "tiktoken"  # under the models folder: the BPE files `deskpilot models install` puts in place

_lock = threading.Lock()
_cache: dict[tuple[str, str], tiktoken.Encoding] = {}


def get_encoding(models_dir: Path, name: str = "cl100k_base") -> tiktoken.Encoding:
    """The tiktoken encoding `name`, read from ``<models_dir>/tiktoken`` (tiktoken's own cache layout).

    With network access and no local file, tiktoken's normal download still works unchanged.
    """
    cache_dir = models_dir / TIKTOKEN_DIR
    key = (str(cache_dir), name)
    with _lock:
        if key not in _cache:
            previous = os.environ.get("TIKTOKEN_CACHE_DIR")
            os.environ["TIKTOKEN_CACHE_DIR"] = str(cache_dir)
            try:
                _cache[key] = tiktoken.get_encoding(name)
            except Exception as exc:
                raise ModelFilesError(
                    f"tiktoken encoding {name!r} is not available offline in {cache_dir}: "
                    f"run `deskpilot models install` ({exc})"
                ) from exc
            finally:
                if previous is None:
                    os.environ.pop("TIKTOKEN_CACHE_DIR", None)
                else:
                    os.environ["TIKTOKEN_CACHE_DIR"] = previous
        return _cache[key]
