"""Hand-offs from one network origin are throttled (security review, issue 19 item 3): past the hourly limit a
hand-off joins that origin's latest ticket, so made-up visitor tokens cannot flood the agents' queue, and nothing a
customer wrote is lost."""

from __future__ import annotations

from pathlib import Path

import pytest

from deskpilot.assist.answer import Answer
from deskpilot.assist.conversation import Caller
from deskpilot.db import make_engine, make_sessionmaker, upgrade
from deskpilot.helpdesk.store import HelpdeskStore


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> HelpdeskStore:
    url = request.getfixturevalue("postgres")() if request.param == "postgres" else f"sqlite:///{tmp_path / 'db.sqlite'}"
    engine = make_engine(url)
    upgrade(engine)
    return HelpdeskStore(make_sessionmaker(engine), handoffs_per_hour=2)


def handed_off(text: str) -> Answer:
    return Answer(f"A person will get back to you about: {text}", [], 0.0, "escalate", ["user_requested_human"], "en")


def visitor(n: int, origin: str) -> Caller:
    return Caller("widget", "customer", f"visitor-{n}", ("widget", f"visitor-{n}"), origin)


def test_past_the_hourly_limit_a_handoff_joins_the_origins_latest_ticket(store: HelpdeskStore) -> None:
    tickets = [store.record_turn(f"c{n}", f"I need a person {n}", handed_off(f"{n}"), visitor(n, "origin-a"))
               for n in range(3)]
    assert tickets[0] != tickets[1] and tickets[2] == tickets[1]  # two new tickets, then the third joins the second
    joined = store.ticket(tickets[2] or 0)
    contents = [m.content for m in joined.messages]
    assert any("same network origin (c2)" in c for c in contents)
    assert "I need a person 2" in contents and "I need a person 1" in contents  # nothing lost
    # another origin still opens its own ticket
    elsewhere = store.record_turn("c9", "I need a person 9", handed_off("9"), visitor(9, "origin-b"))
    assert elsewhere not in tickets


def test_a_joined_conversation_adds_only_its_new_messages_later(store: HelpdeskStore) -> None:
    for n in range(3):
        store.record_turn(f"c{n}", f"question {n}", handed_off(f"{n}"), visitor(n, "origin-a"))
    ticket = store.record_turn("c2", "still waiting", handed_off("again"), None)
    contents = [m.content for m in store.ticket(ticket or 0).messages]
    assert contents.count("question 2") == 1 and contents.count("still waiting") == 1
    assert contents.count("question 1") == 1  # the ticket's own conversation is not copied again


def test_conversations_without_an_origin_are_not_throttled(store: HelpdeskStore) -> None:
    api = Caller("integration", "customer")
    tickets = {store.record_turn(f"c{n}", f"help {n}", handed_off(f"{n}"), api) for n in range(4)}
    assert len(tickets) == 4
