"""Draft and summary items of a suite run through the ticket services and are scored like answers."""

from __future__ import annotations

from typing import Any

import pytest

from deskpilot.assist.tickets import Draft, Summary, TicketText
from deskpilot.config import RoutingSettings
from deskpilot.errors import InvalidInputError
from deskpilot.evaluation.results import ItemResult
from deskpilot.evaluation.suite import SuiteItem
from deskpilot.evaluation.targets import LocalTarget

TICKET = "Subject: Charged twice\n\nWe were charged $40 twice on 3 March."


class FakeTickets:
    """Ticket services that record the ticket they were given."""

    def __init__(self) -> None:
        self.seen: list[TicketText] = []

    def draft(self, ticket: TicketText) -> Draft:
        self.seen.append(ticket)
        return Draft("Hello, refunds take 5 days.", [], [], "en", grounded=True)

    def summarize(self, ticket: TicketText) -> Summary:
        self.seen.append(ticket)
        return Summary(problem="Charged $40 twice.", tried="Nothing stated.", status="Asks for a refund.",
                       next_action="Check the payments.", sentiment="negative", unverified=["Refund of $80 promised."])


def _run(task: str, tickets: Any) -> ItemResult:
    item = SuiteItem(id="t-1", question=TICKET, task=task, kind=task, role="agent")
    result = ItemResult.start(item, "en")
    LocalTarget(assistant=None, routing=RoutingSettings(), tickets=tickets).run(item, result)  # type: ignore[arg-type]
    return result


def test_a_summary_item_is_the_checked_fields_with_the_removed_sentences_apart() -> None:
    tickets = FakeTickets()
    result = _run("summary", tickets)
    assert tickets.seen[0].subject == "Charged twice" and "$40 twice" in tickets.seen[0].text
    assert result.answer.splitlines() == ["Problem: Charged $40 twice.", "Tried: Nothing stated.",
                                          "Status: Asks for a refund.", "Next action: Check the payments."]
    assert result.removed == ["Refund of $80 promised."] and result.decision == "answer"


def test_a_draft_item_is_the_reply() -> None:
    result = _run("draft", FakeTickets())
    assert result.answer == "Hello, refunds take 5 days." and result.reasons == [] and result.confidence == 1.0


def test_ticket_items_need_the_ticket_services() -> None:
    with pytest.raises(InvalidInputError, match="summary items need the ticket services"):
        _run("summary", None)
