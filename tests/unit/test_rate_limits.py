"""Rate limits hold across workers (the counts are shared through the database) and slide over a minute."""

from __future__ import annotations

from pathlib import Path

import pytest

from deskpilot.api.limits import VISITOR, JobGate, RateLimiter, visitor_bucket
from deskpilot.db import make_engine, make_sessionmaker

T0 = 1_800_000_000.0  # the start of a minute


@pytest.fixture(params=["sqlite", "postgres"])
def sessions(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    url = request.getfixturevalue("postgres")() if request.param == "postgres" else f"sqlite:///{tmp_path / 'db.sqlite'}"
    return make_sessionmaker(make_engine(url))


def test_two_workers_share_one_limit(sessions) -> None:  # type: ignore[no-untyped-def]
    one, two = (RateLimiter(5, lambda: sessions, sync_seconds=0) for _ in range(2))
    admitted = [worker.check("key-a", T0 + i) == 0 for i, worker in enumerate([one, two] * 4)]
    assert admitted == [True] * 5 + [False] * 3
    assert one.check("key-b", T0 + 9) == 0  # another key has its own count
    wait = two.check("key-a", T0 + 10)
    assert 0 < wait <= 50


def test_the_window_slides_over_the_minute_boundary(sessions) -> None:  # type: ignore[no-untyped-def]
    limiter = RateLimiter(4, lambda: sessions, sync_seconds=0)
    assert all(limiter.check("k", T0 + 50 + i) == 0 for i in range(4))
    assert limiter.check("k", T0 + 60) > 0  # a new minute, but the last 60 s already hold 4 requests
    # Half of the previous minute has slid out at +90: its 4 requests count as 2, then less each second.
    assert [limiter.check("k", T0 + s) == 0 for s in range(90, 96)] == [True, True, True, False, False, False]


def test_without_a_database_counts_stay_in_the_process() -> None:
    limiter = RateLimiter(2)
    assert [limiter.check("k", T0 + i) == 0 for i in range(3)] == [True, True, False]
    assert RateLimiter(0).check("k", T0) == 0  # 0 turns limits off


def test_a_database_that_is_away_is_not_waited_on_every_request() -> None:
    calls = []

    def away():  # type: ignore[no-untyped-def]
        calls.append(1)
        raise ConnectionError("database down")

    limiter = RateLimiter(3, away)
    assert [limiter.check("k", T0 + i * 0.1) == 0 for i in range(4)] == [True, True, True, False]  # counted here
    assert len(calls) == 1  # one try, then none for 10 s
    limiter.check("k", T0 + 11)
    assert len(calls) == 2


def test_an_ipv6_visitor_is_its_slash_64_and_a_v4_visitor_its_address() -> None:
    buckets = {visitor_bucket(f"2001:db8:1:2::{n:x}", "", []) for n in range(500)}
    assert buckets == {"2001:db8:1:2::/64"}  # 500 addresses of one /64: one visitor
    assert visitor_bucket("2001:db8:1:3::1", "", []) != visitor_bucket("2001:db8:1:2::1", "", [])
    assert visitor_bucket("203.0.113.7", "", []) == "203.0.113.7"
    assert visitor_bucket("::ffff:203.0.113.7", "", []) == "203.0.113.7"


def test_forwarded_for_is_believed_only_from_a_trusted_proxy() -> None:
    proxies = ["10.0.0.0/8"]
    # Behind the proxy: the visitor's address, not the proxy's (else every visitor shares one bucket).
    assert visitor_bucket("10.0.0.5", "198.51.100.9", proxies) == "198.51.100.9"
    # A forged first hop is ignored: the rightmost address the trusted proxy saw is the visitor.
    assert visitor_bucket("10.0.0.5", "1.2.3.4, 198.51.100.9", proxies) == "198.51.100.9"
    assert visitor_bucket("10.0.0.5", "198.51.100.9, 10.0.0.7", proxies) == "198.51.100.9"
    # From anyone else, the header is the client's own claim: ignored.
    assert visitor_bucket("203.0.113.7", "198.51.100.9", proxies) == "203.0.113.7"
    assert visitor_bucket("203.0.113.7", "198.51.100.9", []) == "203.0.113.7"
    assert visitor_bucket("10.0.0.5", "not-an-ip", proxies) == "not-an-ip"


def test_a_visitor_gets_a_few_answers_at_once_and_the_worker_a_bounded_number() -> None:
    gate = JobGate(per_caller=2, total=3, expire_s=60)
    visitor = f"{VISITOR}203.0.113.7"
    assert gate.enter(visitor, now=0) is None and gate.enter(visitor, now=0) is None
    assert gate.enter(visitor, now=0) == "caller"  # a third at once from one visitor: 429
    assert gate.enter("key-of-a-backend", now=0) is None  # a named key is not limited per caller...
    assert gate.enter("key-of-a-backend", now=0) == "total"  # ...but the worker is: 503
    gate.leave(visitor)
    assert gate.enter(visitor, now=1) is None
    assert gate.enter(f"{VISITOR}198.51.100.1", now=120) is None  # entries past expire_s are forgotten
