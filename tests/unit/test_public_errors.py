"""What clients are told when something fails inside (issue 19 items 5 and 9): a generic message, the details in
the log only; and the review list redacts what it shows, not the whole period."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from deskpilot.db import make_engine, make_sessionmaker, unavailable, upgrade
from deskpilot.helpdesk.models import EventRow
from deskpilot.ops.period import since
from deskpilot.ops.review import ReviewList
from tests.fakes import fake_llm


def test_a_database_error_tells_clients_nothing_of_the_driver(caplog: pytest.LogCaptureFixture) -> None:
    driver = OperationalError("SELECT ...", {"q": "my card 4111"}, Exception(
        'connection to server at "db.internal" (10.0.0.7), port 5432 failed: password authentication failed'))
    with caplog.at_level(logging.WARNING):
        error = unavailable(driver)
    assert str(error) == "the database is unavailable (the service log says why)"
    assert "db.internal" in caplog.text and "4111" not in caplog.text


class CountingRedactor:
    def __init__(self) -> None:
        self.calls = 0

    def redact(self, text: str) -> object:
        self.calls += 1
        return type("R", (), {"text": text.replace("jane@example.com", "[EMAIL]")})()


def test_the_review_list_redacts_what_it_shows_not_the_whole_period(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    at = datetime.now(UTC) - timedelta(hours=1)
    with sessions.begin() as session:
        session.add_all(EventRow(kind="answer", target="answer", conversation_id=f"c{n}", key_id="k", role="customer",
                                 language="en", decision="escalate", reasons=["low_support"], confidence=0.1,
                                 question=f"question {n}, write to jane@example.com", detail={},
                                 at=(at + timedelta(seconds=n)).isoformat(timespec="seconds"))
                        for n in range(50))
    review = ReviewList(sessions)
    counter = CountingRedactor()
    review._redactor = counter  # type: ignore[assignment]
    items = review.items(since("7d"), limit=3)
    assert [i["question"] for i in items] == [f"question {n}, write to [EMAIL]" for n in (49, 48, 47)]
    assert counter.calls <= 3 * 4


def test_a_model_that_returns_no_json_is_reported_without_its_output() -> None:
    from deskpilot.errors import LLMOutputError

    client = fake_llm("Sure! Jane Doe (jane@example.com) wants a refund")
    with pytest.raises(LLMOutputError) as raised:
        client.complete_json("system", "user", {"type": "object"})
    assert "did not return JSON" in str(raised.value) and "jane" not in str(raised.value).lower()

