"""Rate limits hold across workers (the counts are shared through the database) and slide over a minute."""

from __future__ import annotations

from pathlib import Path

import pytest

from deskpilot.api.limits import RateLimiter
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
