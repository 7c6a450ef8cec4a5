"""A ticket summary says only what the ticket says: made-up numbers, addresses and links are removed and shown apart."""

from __future__ import annotations

from deskpilot.assist.tickets import Summary, verify_summary

TICKET = """Subject: Charged for 12 seats
Customer: We were charged $1,440 on 2026-03-01 for 12 seats but we only have 5 people now. I removed 7 seats
yesterday in Settings > Billing. Invoice INV-2231 is attached. Reach me at ana@example.com.
Agent: Thanks Ana, I'm looking into it."""


def _summary(**fields: str) -> Summary:
    base = {"problem": "", "tried": "", "status": "", "next_action": "", "sentiment": "neutral"}
    return Summary.model_validate({**base, **fields})


def test_sentences_that_repeat_the_tickets_numbers_and_addresses_are_kept() -> None:
    summary = verify_summary(_summary(
        problem="Charged $1440 for 12 seats on 2026-03-01 but the team is 5 people.",
        tried="Removed 7 seats in Settings > Billing. Invoice INV-2231 attached.",
        status="An agent is looking into it; contact ana@example.com."), TICKET)
    assert summary.unverified == []
    assert summary.problem.startswith("Charged $1440")
    assert "INV-2231" in summary.tried


def test_a_made_up_amount_date_or_address_is_removed_and_named_to_the_agent() -> None:
    summary = verify_summary(_summary(
        problem="The customer wants a refund of $1,000. They were charged for 12 seats.",
        tried="They emailed billing@example.com on 2026-02-14.",
        status="Refund promised within 10 days.",
        next_action="Check the seat count and explain the 30-day policy."), TICKET)
    assert summary.problem == "They were charged for 12 seats."
    assert summary.tried == "Not stated in the ticket."
    assert summary.status == "Not stated in the ticket."
    assert summary.unverified == ["The customer wants a refund of $1,000.", "They emailed billing@example.com on 2026-02-14.",
                                  "Refund promised within 10 days."]
    assert "30-day" in summary.next_action  # advice to the agent, not a statement about the ticket


def test_a_link_the_ticket_does_not_hold_is_removed() -> None:
    summary = verify_summary(_summary(problem="Seats were not reduced.", tried="Followed https://help.example.com/seats."),
                             TICKET)
    assert summary.tried == "Not stated in the ticket."
    assert summary.unverified == ["Followed https://help.example.com/seats."]
