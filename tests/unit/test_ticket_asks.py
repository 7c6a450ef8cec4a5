"""What a ticket asks, one question at a time: the subject and the customer's question sentences."""

from __future__ import annotations

from deskpilot.assist.tickets import TicketText
from deskpilot.text.thread import thread_text


def _ticket(subject: str, *messages: str) -> TicketText:
    comments = [("agent" if n % 2 == 0 else "customer", m) for n, m in enumerate(messages[1:])]
    return TicketText(thread_text(subject, messages[0], comments), "t", subject)


def test_the_subject_and_each_question_sentence_are_asked_alone() -> None:
    ticket = _ticket("Guest can't log hours on our project",
                     "Hi,\n\nwe invited a freelancer as a Guest. He sees the tasks but there is no play button.\n"
                     "Is this a bug, or do we have to make him a full Member? If so, can he see our hourly rates?")
    assert ticket.asks() == ["Guest can't log hours on our project",
                             "Is this a bug, or do we have to make him a full Member?",
                             "If so, can he see our hourly rates?"]


def test_short_questions_links_and_repeats_are_left_out() -> None:
    ticket = _ticket("Help", "Why? The call to https://api.example.com/v1/items?key=abc fails. Did you block our "
                     "key? Did you block our key? ¿Es posible exportar mis horas a Excel?")
    assert ticket.asks() == ["Did you block our key?", "Es posible exportar mis horas a Excel?"]


def test_the_latest_customer_message_is_asked_too_and_agents_turns_never() -> None:
    ticket = _ticket("Export link expired yesterday",
                     "My export link says it has expired. Can I get a new link without a new export?",
                     "Could you tell me which format you exported in?",
                     "It was the CSV export. How long does a new link stay valid?")
    assert ticket.asks() == ["Export link expired yesterday",
                             "Can I get a new link without a new export?",
                             "How long does a new link stay valid?"]
    assert ticket.asks(most=2) == ["Export link expired yesterday", "Can I get a new link without a new export?"]
