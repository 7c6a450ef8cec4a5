"""Per-key request rate limits (a sliding one-minute window, per worker process).

The widget's public key is shared by every anonymous visitor, so its limit applies per client address.
"""

from __future__ import annotations

import threading
import time
from collections import deque


class RateLimiter:
    """At most `per_minute` requests per bucket in any 60 s window; 0 disables."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, bucket: str, now: float | None = None) -> float:
        """Record a request; returns 0 when allowed, else the seconds to wait before the next one."""
        if self.per_minute <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        with self._lock:
            hits = self._hits.setdefault(bucket, deque())
            while hits and hits[0] <= now - 60:
                hits.popleft()
            if len(hits) >= self.per_minute:
                return max(0.001, hits[0] + 60 - now)
            hits.append(now)
            if len(self._hits) > 100_000:  # forget idle buckets
                for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - 60]:
                    del self._hits[key]
            return 0.0
