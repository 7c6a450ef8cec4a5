"""A customer conversation, one turn at a time: its stored history, the declared actions, the answer, the record.

This is what `POST /v1/ask` and `deskpilot ask --conversation` both call, so the command line can do what the
service does (continue a conversation, run an action's step, open the hand-off ticket). The HTTP route only parses
the request, checks what only a client can get wrong (a customer key sending its own history), calls this and maps
errors; nothing here knows about HTTP.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from deskpilot.assist.answer import Answer, Assistant
from deskpilot.errors import InvalidInputError


class ConversationStore(Protocol):
    """Where conversations live (deskpilot.helpdesk.store.HelpdeskStore)."""

    def conversation(self, conversation_id: str, key_id: str | None = None, visitor: str | None = None) -> Any: ...

    def new_conversation_id(self) -> str: ...

    def record_turn(self, conversation_id: str, question: str, answer: Answer,
                    starting: Caller | None = None) -> int | None: ...


class ActionRunner(Protocol):
    """The declared actions (deskpilot.integrations.actions.Actions)."""

    def handle(self, conversation_id: str, key_id: str, question: str, new: bool = False) -> Any: ...


@dataclass(frozen=True)
class Caller:
    """Who asks: the key, the role the answer is for, and (for the shared widget key) the visitor; `owner` limits
    which stored conversations it reaches (None: staff, all of them)."""

    key_id: str
    role: str
    visitor: str | None = None
    owner: tuple[str, str | None] | None = None
    origin: str | None = None  # a widget visitor's hashed network origin (the hand-off throttle counts by it)


@dataclass
class TurnResult:
    """One answered turn: the answer, the conversation it belongs to and the ticket when a human has it."""

    answer: Answer
    conversation_id: str | None
    ticket_id: int | None
    new: bool  # the conversation started with this turn
    action: tuple[str, str] | None = None  # (action name, status) when the turn was a step of an action


class Conversations:
    """Answers a turn of a conversation and records it."""

    def __init__(self, assistant: Assistant, store: ConversationStore, actions: ActionRunner,
                 max_query_chars: int) -> None:
        self._assistant = assistant
        self._store = store
        self._actions = actions
        self._max_chars = max_query_chars

    def turn(self, question: str, caller: Caller, conversation_id: str | None = None,
             history: Sequence[dict[str, str]] = (), record: bool = True,
             on_token: Callable[[str], None] | None = None) -> TurnResult:
        """Answer `question` in its conversation.

        Args:
            conversation_id: a stored conversation to continue (its history replaces `history`).
            history: earlier turns for a conversation that is not stored (staff and evaluation only).
            record: store the turn (a new conversation is started when there is none) and open a ticket when the
                answer is escalated.

        Raises:
            InvalidInputError: the question is too long.
            NotFoundError: the conversation does not exist or belongs to another caller.
        """
        return self.prepare(question, caller, conversation_id, history, record).run(on_token)

    def prepare(self, question: str, caller: Caller, conversation_id: str | None = None,
                history: Sequence[dict[str, str]] = (), record: bool = True) -> PreparedTurn:
        """The turn with its history loaded and its conversation id chosen, not answered yet (the service checks
        and loads before it queues the model's work). Raises as `turn` does."""
        if len(" ".join(question.split())) > self._max_chars:  # before anything else looks at it (actions included)
            raise InvalidInputError(f"the question is too long (the limit is {self._max_chars} characters)")
        turns = list(history)
        starting: Caller | None = None
        if conversation_id:
            stored = self._store.conversation(conversation_id, *(caller.owner or (None, None)))
            turns = stored.history or turns
        elif record:
            conversation_id = self._store.new_conversation_id()
            starting = caller
        return PreparedTurn(self, question, caller, conversation_id, turns, record, starting)

    def _run(self, turn: PreparedTurn, on_token: Callable[[str], None] | None) -> TurnResult:
        action = self._action(turn, on_token)
        if action is not None:
            return action
        answer = self._assistant.answer(turn.question, turn.history, turn.caller.role, on_token=on_token)
        ticket_id = None
        if turn.record and turn.conversation_id:
            ticket_id = self._store.record_turn(turn.conversation_id, turn.question, answer, turn.starting)
        return TurnResult(answer, turn.conversation_id, ticket_id, turn.starting is not None)

    def _action(self, turn: PreparedTurn, on_token: Callable[[str], None] | None) -> TurnResult | None:
        """The turn as a step of a declared action (docs/actions.md), recorded like an answer; None otherwise."""
        if turn.caller.role != "customer" or not turn.record or not turn.conversation_id:
            return None
        started = time.perf_counter()
        step = self._actions.handle(turn.conversation_id, turn.caller.key_id, turn.question,
                                    new=turn.starting is not None)
        if step is None:
            return None
        answer = Answer(answer=step.reply, citations=[], confidence=0.0 if step.escalate else 1.0,
                        decision="escalate" if step.escalate else "answer", reasons=step.reasons,
                        language=step.language, timings={"total_ms": (time.perf_counter() - started) * 1000})
        ticket_id = self._store.record_turn(turn.conversation_id, turn.question, answer, turn.starting)
        answer.answer = step.with_ticket(ticket_id)
        if on_token is not None:
            on_token(answer.answer)
        return TurnResult(answer, turn.conversation_id, ticket_id, turn.starting is not None,
                          (step.action, step.status))


@dataclass
class PreparedTurn:
    """A turn ready to be answered (see Conversations.prepare)."""

    service: Conversations
    question: str
    caller: Caller
    conversation_id: str | None
    history: list[dict[str, str]]
    record: bool
    starting: Caller | None  # who starts the conversation, when it starts with this turn

    def run(self, on_token: Callable[[str], None] | None = None) -> TurnResult:
        """Answer it (actions first), record it; streamed text goes to on_token."""
        return self.service._run(self, on_token)
