"""The conversation service (assist/conversation.py), with fakes for the assistant, the store and the actions: what
`POST /v1/ask` and `deskpilot ask --conversation` share."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from deskpilot.assist.answer import Answer
from deskpilot.assist.conversation import Caller, Conversations
from deskpilot.errors import InvalidInputError, NotFoundError


class FakeAssistant:
    """Answers every question with its text, and remembers the history it was given."""

    def __init__(self, decision: str = "answer") -> None:
        self.decision = decision
        self.seen: list[tuple[str, list[dict[str, str]], str]] = []

    def answer(self, question: str, history: Sequence[dict[str, str]] = (), role: str = "customer",
               on_token: Callable[[str], None] | None = None) -> Answer:
        self.seen.append((question, list(history), role))
        if on_token is not None:
            on_token(f"about {question}")
        return Answer(f"about {question}", [], 0.9, self.decision, [] if self.decision == "answer" else ["low_support"],
                      "en")


@dataclass
class Stored:
    history: list[dict[str, str]]
    owner: tuple[str, str | None]


@dataclass
class FakeStore:
    """Conversations in memory; an escalated answer opens ticket 7."""

    conversations: dict[str, Stored] = field(default_factory=dict)
    count: int = 0

    def conversation(self, conversation_id: str, key_id: str | None = None, visitor: str | None = None) -> Any:
        stored = self.conversations.get(conversation_id)
        if stored is None or (key_id is not None and stored.owner != (key_id, visitor)):
            raise NotFoundError(f"no conversation {conversation_id!r}")
        return stored

    def new_conversation_id(self) -> str:
        self.count += 1
        return f"c{self.count}"

    def record_turn(self, conversation_id: str, question: str, answer: Answer,
                    starting: Caller | None = None) -> int | None:
        if starting is not None:
            self.conversations[conversation_id] = Stored([], (starting.key_id, starting.visitor))
        turns = self.conversations[conversation_id].history
        turns += [{"role": "user", "content": question}, {"role": "assistant", "content": answer.answer}]
        return 7 if answer.decision == "escalate" else None


@dataclass
class Step:
    reply: str
    escalate: bool = False
    reasons: list[str] = field(default_factory=list)
    language: str = "en"
    action: str = "password_reset"
    status: str = "collecting"

    def with_ticket(self, ticket_id: int | None) -> str:
        return self.reply


class FakeActions:
    """Starts the password-reset action when the question mentions it."""

    def handle(self, conversation_id: str, key_id: str, question: str, new: bool = False) -> Step | None:
        return Step("Which e-mail address?") if "reset my password" in question else None


def service(assistant: FakeAssistant | None = None) -> tuple[Conversations, FakeAssistant, FakeStore]:
    assistant = assistant or FakeAssistant()
    store = FakeStore()
    return Conversations(assistant, store, FakeActions(), max_query_chars=100), assistant, store  # type: ignore[arg-type]


VISITOR = Caller("k1", "customer", "v1", ("k1", "v1"))


def test_a_recorded_turn_starts_a_conversation_that_the_next_turn_continues_with_its_history() -> None:
    conversations, assistant, _ = service()
    first = conversations.turn("how do I export my data?", VISITOR)
    assert first.new and first.conversation_id == "c1" and first.ticket_id is None
    second = conversations.turn("and in JSON?", VISITOR, first.conversation_id)
    assert not second.new and second.conversation_id == "c1"
    question, history, _ = assistant.seen[-1]
    assert question == "and in JSON?"
    assert history == [{"role": "user", "content": "how do I export my data?"},
                       {"role": "assistant", "content": "about how do I export my data?"}]


def test_another_visitors_conversation_cannot_be_continued_but_staff_reach_it() -> None:
    conversations, _, _ = service()
    started = conversations.turn("how do I export my data?", VISITOR)
    with pytest.raises(NotFoundError):
        conversations.turn("and in JSON?", Caller("k1", "customer", "v2", ("k1", "v2")), started.conversation_id)
    staff = conversations.turn("and in JSON?", Caller("cli", "agent"), started.conversation_id)
    assert staff.conversation_id == started.conversation_id


def test_an_unrecorded_turn_uses_the_history_it_is_given_and_stores_nothing() -> None:
    conversations, assistant, store = service()
    history = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    result = conversations.turn("how do refunds work?", Caller("qa", "agent"), history=history, record=False)
    assert result.conversation_id is None and not store.conversations
    assert assistant.seen[-1][1] == history


def test_an_escalated_answer_opens_a_ticket_and_streams_through_on_token() -> None:
    conversations, _, _ = service(FakeAssistant("escalate"))
    streamed: list[str] = []
    result = conversations.turn("my data is gone", VISITOR, on_token=streamed.append)
    assert result.ticket_id == 7 and streamed == ["about my data is gone"]


def test_an_action_step_is_answered_and_recorded_without_the_assistant() -> None:
    conversations, assistant, store = service()
    result = conversations.turn("please reset my password", VISITOR)
    assert result.action == ("password_reset", "collecting")
    assert result.answer.answer == "Which e-mail address?" and not assistant.seen
    assert store.conversations[result.conversation_id or ""].history[0]["content"] == "please reset my password"


def test_a_too_long_question_is_refused_before_anything_reads_it() -> None:
    conversations, assistant, store = service()
    with pytest.raises(InvalidInputError, match="too long"):
        conversations.turn("reset my password " + "x" * 200, VISITOR)
    assert not assistant.seen and not store.conversations and store.count == 0
