"""`deskpilot summarize`, `classify` and `suggest` print the ticket services' results, as lines or as --json."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from deskpilot.assist.tickets import Classification, Suggestion, Summary, TicketText
from deskpilot.cli import app

SUMMARY = Summary(problem="Charged $40 twice.", tried="Nothing stated.", status="Asks for a refund.",
                  next_action="Check the payments.", sentiment="negative")


class FakeTickets:
    """Ticket services that answer from fixed results and record what they were asked about."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def load(self, ref: str) -> TicketText:
        return TicketText(f"Customer: {ref}", "t-1", "Charged twice")

    def summarize(self, ticket: TicketText) -> Summary:
        self.asked.append(ticket.text)
        return SUMMARY

    def classify(self, text: str) -> Classification:
        self.asked.append(text)
        return Classification("billing", "high", "negative", "normal", 0.75, ["ticket-1042"])

    def suggest(self, query: str) -> list[Suggestion]:
        self.asked.append(query)
        return [Suggestion("refund-policy", "Refund policy", "https://help.example/refunds", 0.8125, "Refunds within 30 days.")]


@pytest.fixture
def tickets(monkeypatch: pytest.MonkeyPatch) -> FakeTickets:
    fake = FakeTickets()
    monkeypatch.setattr("deskpilot.cli.assistant.build_container", lambda: SimpleNamespace(tickets=fake))
    return fake


def test_a_summary_is_printed_one_field_a_line_and_as_one_json_object(tickets: FakeTickets) -> None:
    lines = CliRunner().invoke(app, ["summarize", "charged twice"])
    assert lines.exit_code == 0, lines.output
    assert "next action: Check the payments." in lines.output and "problem: Charged $40 twice." in lines.output
    as_json = CliRunner().invoke(app, ["summarize", "charged twice", "--json"])
    assert json.loads(as_json.output) == SUMMARY.model_dump()
    assert tickets.asked == ["Customer: charged twice"] * 2


def test_a_classification_reads_the_ticket_text_and_prints_its_fields(tickets: FakeTickets) -> None:
    result = CliRunner().invoke(app, ["classify", "refund please", "--json"])
    assert json.loads(result.output)["category"] == "billing"
    lines = CliRunner().invoke(app, ["classify", "refund please"]).output
    assert "priority: high" in lines and "confidence: 0.75" in lines
    assert tickets.asked == ["Customer: refund please"] * 2


def test_suggestions_are_numbered_lines_or_a_json_list(tickets: FakeTickets) -> None:
    result = CliRunner().invoke(app, ["suggest", "refund"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "1. Refund policy (refund-policy) score 0.812 https://help.example/refunds"
    items = json.loads(CliRunner().invoke(app, ["suggest", "refund", "--json"]).output)
    assert items == [{"source_id": "refund-policy", "title": "Refund policy", "url": "https://help.example/refunds",
                      "score": 0.8125, "snippet": "Refunds within 30 days."}]
    assert tickets.asked[0] == "Charged twice\nCustomer: refund"
