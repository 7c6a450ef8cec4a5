"""Per-key request rate limits, shared by every worker through the database.

A sliding one-minute window estimated from two fixed minutes (the previous minute's count weighted by how
much of it is still inside the window, plus the current minute's). Each worker adds what it admitted to the
shared counts at most once a second, so workers together can overshoot a limit by what they admit within
that second; without a database (tests), counts stay in the process. The widget's public key is shared by
every anonymous visitor, so its limit applies per client address.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable

from sqlalchemy import delete, select, update
from sqlalchemy.orm import sessionmaker

from deskpilot.helpdesk.models import RateCountRow


def visitor_bucket(peer: str, forwarded_for: str, trusted_proxies: Iterable[str]) -> str:
    """The rate-limit bucket of an anonymous visitor: its address, an IPv6 address by its /64 (one home or
    server gets a whole /64, so 500 addresses of it are one visitor). X-Forwarded-For is read only when the
    peer is a trusted proxy, from the right: the first address that is not a trusted proxy is the visitor's."""
    networks = [ipaddress.ip_network(p, strict=False) for p in trusted_proxies]

    def trusted(address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in networks)

    address = peer
    if networks and trusted(peer):
        hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
        for hop in reversed(hops):
            address = hop
            if not trusted(hop):
                break
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64] or "?"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


class RateLimiter:
    """At most `per_minute` requests per bucket in any 60 s window; 0 disables. `sync_seconds` 0 shares
    every admitted request at once (exact, a database write per request)."""

    def __init__(self, per_minute: int, sessions: Callable[[], sessionmaker] | None = None,  # type: ignore[type-arg]
                 sync_seconds: float = 1.0, clock: Callable[[], float] = time.time) -> None:
        """clock: the time in seconds (a test fixes it: a window's edge makes counts fractional)."""
        self.per_minute = per_minute
        self._clock = clock
        self._sessions = sessions
        self._sync_seconds = sync_seconds
        self._lock = threading.Lock()
        self._minute = 0
        self._local: dict[tuple[str, int], int] = defaultdict(int)  # admitted here, not yet shared
        self._shared: dict[tuple[str, int], int] = {}  # every worker's counts at the last sync
        self._synced_at = 0.0

    def check(self, bucket: str, now: float | None = None, record: bool = True) -> float:
        """Record a request; returns 0 when allowed, else the seconds to wait before the next one. With
        record=False, only whether one more would be allowed (nothing counted)."""
        if self.per_minute <= 0:
            return 0.0
        now = self._clock() if now is None else now
        minute = int(now // 60)
        with self._lock:
            if minute != self._minute:
                self._forget_before(minute - 1)
                self._minute = minute
            if self._sessions is not None and now - self._synced_at >= self._sync_seconds:
                # Share what this worker admitted, learn what the others did; while the database is away,
                # count here and try again in 10 s (never wait on it every request).
                self._synced_at = now if self._sync(minute, {bucket}) else now + 10
            previous, current = self._count(bucket, minute - 1), self._count(bucket, minute)
            overlap = 1 - (now - minute * 60) / 60  # share of the previous minute still inside the window
            if previous * overlap + current >= self.per_minute:
                # Wait until enough of the previous minute has slid out (or the next minute starts).
                room = self.per_minute - current
                wait = (minute + 1) * 60 - now if room <= 0 or previous <= 0 else \
                    max(0.0, (1 - room / previous) * 60 - (now - minute * 60))
                return max(0.001, min(wait, (minute + 1) * 60 - now))
            if not record:
                return 0.0
            self._local[(bucket, minute)] += 1
            if self._sessions is not None and self._sync_seconds <= 0:
                self._sync(minute, {bucket})  # exact mode: every admitted request is shared at once
            return 0.0

    def _count(self, bucket: str, minute: int) -> int:
        return self._shared.get((bucket, minute), 0) + self._local.get((bucket, minute), 0)

    def _forget_before(self, minute: int) -> None:
        for store in (self._local, self._shared):
            for key in [k for k in store if k[1] < minute]:
                del store[key]

    def _sync(self, minute: int, also: Iterable[str]) -> bool:
        """Add this worker's counts to the shared rows and read back every worker's totals; False when the
        database could not be reached (the counts stay here for the next sync)."""
        assert self._sessions is not None
        pending = {k: n for k, n in self._local.items() if n}
        buckets = {b for b, _ in pending} | {b for b, _ in self._shared} | set(also)
        try:
            with self._sessions().begin() as session:
                for (bucket, at), n in sorted(pending.items()):
                    added = session.execute(update(RateCountRow)  # an increment in SQL: no lost updates
                                            .where(RateCountRow.bucket == bucket, RateCountRow.minute == at)
                                            .values(count=RateCountRow.count + n))
                    if added.rowcount == 0:  # type: ignore[attr-defined]
                        session.add(RateCountRow(bucket=bucket, minute=at, count=n))
                        session.flush()  # a worker inserting the same row first fails this sync; the next retries
                if minute % 10 == 0:  # now and then, drop old minutes
                    session.execute(delete(RateCountRow).where(RateCountRow.minute < minute - 1))
                rows = session.execute(select(RateCountRow.bucket, RateCountRow.minute, RateCountRow.count)
                                       .where(RateCountRow.minute >= minute - 1,
                                              RateCountRow.bucket.in_(sorted(buckets)[:5000]))).all()
        except Exception:  # the database is busy or away: keep counting here, share next time
            return False
        self._local.clear()
        self._shared = {(b, m): c for b, m, c in rows}
        return True


VISITOR = "visitor:"  # callers named so are anonymous widget visitors (one address); others are API keys


class JobGate:
    """At most `per_caller` answers in flight for one anonymous widget visitor (`visitor:<address>`; a named key
    may serve many people, and has its rate limit) and `total` in this worker. An entry older than `expire_s` is
    forgotten (a stream whose client never read it)."""

    def __init__(self, per_caller: int, total: int, expire_s: float = 600.0) -> None:
        self.per_caller = per_caller
        self.total = total
        self._expire_s = expire_s
        self._lock = threading.Lock()
        self._running: dict[str, list[float]] = defaultdict(list)

    def enter(self, caller: str, now: float | None = None) -> str | None:
        """Take a slot: None when taken, else why not ("caller": this caller's limit; "total": the worker's)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            for key in list(self._running):
                self._running[key] = [t for t in self._running[key] if now - t < self._expire_s]
                if not self._running[key]:
                    del self._running[key]
            if self.per_caller and caller.startswith(VISITOR) and len(self._running.get(caller, ())) >= self.per_caller:
                return "caller"
            if self.total and sum(len(v) for v in self._running.values()) >= self.total:
                return "total"
            self._running[caller].append(now)
            return None

    def leave(self, caller: str) -> None:
        """Give the caller's oldest slot back."""
        with self._lock:
            started = self._running.get(caller)
            if started:
                started.pop(0)
                if not started:
                    del self._running[caller]
