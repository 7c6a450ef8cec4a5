"""A ticket summary says only what the ticket says: made-up numbers, addresses and links are removed and shown apart."""

from __future__ import annotations

import json
from pathlib import Path

from deskpilot.assist.answer import RESAMPLE_TEMPERATURES
from deskpilot.assist.tickets import Summary, TicketText, verify_summary
from tests.fakes import fake_container, fake_llm

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


FRENCH_TICKET = TicketText(
    "Customer: Bonjour, l'export CSV de mon projet Atlas échoue depuis le 3 mars avec l'erreur 504. J'ai déjà vidé le "
    "cache du navigateur. Pouvez-vous regarder ?", subject="Export CSV en erreur")
FRENCH_SUMMARY = json.dumps({
    "problem": "L'export CSV du projet Atlas échoue depuis le 3 mars avec l'erreur 504.",
    "tried": "Le client a vidé le cache du navigateur.",
    "status": "Le client demande que quelqu'un regarde le problème.",
    "next_action": "Vérifier les journaux de l'export pour le projet Atlas.",
    "sentiment": "neutral"})
ENGLISH = ["The CSV export of the Atlas project has failed since 3 March with error 504.",
           "The customer cleared the browser cache.",
           "The customer asks for someone to look at the problem.",
           "Check the export logs for the Atlas project."]


def test_a_ticket_in_another_language_is_summarised_in_the_agents_language(tmp_path: Path) -> None:
    # The model answers in the ticket's language although asked for English; each field is translated and checked.
    container = fake_container(tmp_path, llm=fake_llm(FRENCH_SUMMARY, *ENGLISH))
    summary = container.tickets.summarize(FRENCH_TICKET)
    assert [summary.problem, summary.tried, summary.status, summary.next_action] == ENGLISH
    assert summary.unverified == []


def test_a_translation_that_drops_a_number_is_not_used(tmp_path: Path) -> None:
    unfaithful = "The CSV export of the Atlas project fails with an error."  # the date and the 504 are gone
    # the whole field, then its line alone, then sampled again (RESAMPLE_TEMPERATURES): unfaithful every time
    tries = [unfaithful] * (2 + len(RESAMPLE_TEMPERATURES))
    container = fake_container(tmp_path, llm=fake_llm(FRENCH_SUMMARY, *tries, *ENGLISH[1:]))
    summary = container.tickets.summarize(FRENCH_TICKET)
    assert summary.problem == json.loads(FRENCH_SUMMARY)["problem"]  # kept as written rather than mistranslated
    assert summary.tried == ENGLISH[1]


def test_a_looping_field_keeps_its_first_distinct_sentences() -> None:
    loop = ("If the guest is a full Member, the agent should check the settings. If the guest is not a full Member, "
            "the agent should ask. ") * 6 + "The agent should also check the rates."
    summary = verify_summary(_summary(problem="Charged $1440 for 12 seats. Charged $1440 for 12 seats.",
                                      next_action=loop), TICKET)
    assert summary.problem == "Charged $1440 for 12 seats."
    assert summary.next_action == ("If the guest is a full Member, the agent should check the settings. If the guest "
                                   "is not a full Member, the agent should ask. The agent should also check the rates.")
