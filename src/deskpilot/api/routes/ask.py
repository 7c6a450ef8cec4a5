"""`POST /v1/ask`: a customer question answered with citations, as JSON or as Server-Sent Events."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from deskpilot.api.deps import AnyRole, ContainerDep
from deskpilot.assist.answer import Answer
from deskpilot.assist.conversation import Caller, PreparedTurn
from deskpilot.domain import AnswerRole
from deskpilot.errors import DeskpilotError, InvalidInputError
from deskpilot.keys import Principal

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["ask"])


class Turn(BaseModel):
    """An earlier turn of the conversation."""

    model_config = ConfigDict(extra="forbid")
    role: Literal["user", "assistant"]
    content: str = Field(max_length=8000)


MAX_HISTORY_CHARS = 20_000  # all turns of a staff-sent history together


class AskRequest(BaseModel):
    """A question, with the conversation so far when there is one."""

    model_config = ConfigDict(extra="forbid")
    question: str = Field(min_length=1, max_length=8000)
    history: list[Turn] = Field(default_factory=list, max_length=50)
    role: AnswerRole | None = Field(
        None, description="Answer as this role; staff keys may ask as customers, customer keys only as customers.")
    conversation_id: str | None = Field(None, max_length=64, description="Continue a stored conversation.")
    stream: bool = Field(False, description="Server-Sent Events: `token` events, then one `final` event.")
    record: bool = Field(
        True, description="Store the turn and open a ticket when the answer is escalated. Staff may turn this off "
        "(evaluation runs); customer turns are always recorded.")


class CitationOut(BaseModel):
    """A source cited by the answer."""

    source_id: str
    title: str
    url: str
    snippet: str


class ActionOut(BaseModel):
    """The declared action this turn was part of (docs/actions.md)."""

    name: str
    status: Literal["collecting", "confirming", "succeeded", "failed", "cancelled"]


class AskResponse(BaseModel):
    """The answer (the `deskpilot ask --json` object) plus what evaluation and agents need to see."""

    answer: str
    citations: list[CitationOut]
    confidence: float
    decision: Literal["answer", "escalate"]
    reasons: list[str]
    language: str
    retrieved: list[str] = Field(description="Distinct source ids the assistant read, best first.")
    support: float | None = Field(None, description="Citation support of the kept claims (0..1).")
    timings: dict[str, float] = Field(default_factory=dict)
    conversation_id: str | None = Field(None, description="Send it back to continue the conversation.")
    ticket_id: int | None = Field(None, description="The ticket a human will answer, when the conversation was escalated.")
    action: ActionOut | None = Field(None, description="Set when the turn was a step of an action (password reset...).")
    triggers: list[dict[str, Any]] = Field(
        default_factory=list, description="Why a human is needed: reason, sub_reason, the sentence that showed it, "
        "the detector layer (lexicon, examples, conversation) and its score.")


def effective_role(principal: Principal, requested: str | None) -> str:
    """Customers are always customers; staff answer as agents unless they ask as a customer."""
    if not principal.staff:
        if requested == "agent":
            raise HTTPException(403, "a customer key cannot ask as an agent")
        return "customer"
    return requested or "agent"


def to_response(answer: Answer, conversation_id: str | None = None, ticket_id: int | None = None) -> AskResponse:
    """The response body of an answer."""
    support = answer.signals.support if answer.signals is not None and answer.signals.claims_kept else None
    return AskResponse(**answer.as_json(), retrieved=list(dict.fromkeys(c.source_id for c in answer.retrieved)),
                       support=support, timings=answer.timings, conversation_id=conversation_id, ticket_id=ticket_id,
                       triggers=[t.as_json() for t in answer.triggers])


def _prepare(container: Any, principal: Principal, body: AskRequest) -> PreparedTurn:
    """The turn, checked and loaded (its stored history, its conversation id) before any model work is queued."""
    if body.history and not principal.staff:
        # A customer's conversation is the stored one: a client-sent history would go straight into the prompt.
        raise InvalidInputError("customer keys cannot send a history: continue a conversation with conversation_id")
    if sum(len(t.content) for t in body.history) > MAX_HISTORY_CHARS:
        raise InvalidInputError(f"the history is too long (the limit is {MAX_HISTORY_CHARS} characters in all)")
    caller = Caller(principal.key_id, effective_role(principal, body.role), principal.visitor, principal.owner,
                    principal.origin)
    return container.conversations.prepare(body.question, caller, body.conversation_id,
                                           [t.model_dump() for t in body.history], body.record or not principal.staff)


def _respond(turn: PreparedTurn, on_token: Callable[[str], None] | None = None) -> AskResponse:
    result = turn.run(on_token)
    response = to_response(result.answer, result.conversation_id, result.ticket_id)
    if result.action is not None:
        response.action = ActionOut(name=result.action[0], status=result.action[1])  # type: ignore[arg-type]
    return response


@router.post("/ask", response_model=AskResponse)
async def ask(body: AskRequest, principal: AnyRole, container: ContainerDep, request: Request) -> Any:
    """Answer a question with citations, or hand it to a human with the reasons (a ticket is opened)."""
    turn = await run_in_threadpool(_prepare, container, principal, body)
    metrics = request.app.state.metrics
    jobs, caller = request.app.state.jobs, getattr(request.state, "caller", principal.key_id)
    refused = jobs.enter(caller)
    if refused == "caller":
        raise HTTPException(429, "an answer for you is still being written: wait for it", headers={"Retry-After": "5"})
    if refused == "total":
        raise HTTPException(503, "the assistant is busy: retry in a few seconds", headers={"Retry-After": "5"})
    if not body.stream:
        try:
            response = await run_in_threadpool(_respond, turn)
        finally:
            jobs.leave(caller)
        metrics.answered(response, turn.starting is not None)
        return response
    return EventSourceResponse(_stream(turn, metrics, lambda: jobs.leave(caller)))


class _Gone(Exception):
    """The client of a stream went away: stop working for it."""


async def _stream(turn: PreparedTurn, metrics: Any, done: Callable[[], None]) -> AsyncIterator[dict[str, str]]:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    gone = threading.Event()

    def on_token(token: str) -> None:
        if gone.is_set():
            raise _Gone  # the client left: the answer stops at its next step
        loop.call_soon_threadsafe(queue.put_nowait, ("token", token))

    def work() -> None:
        try:
            response = _respond(turn, on_token)
            loop.call_soon_threadsafe(queue.put_nowait, ("final", response))
        except _Gone:
            logger.info("stream client left; its answer was stopped")
        except DeskpilotError as exc:
            loop.call_soon_threadsafe(queue.put_nowait, ("error", str(exc)))
        except Exception as exc:  # the stream must end with an event, whatever failed
            logger.exception("streamed answer failed")
            loop.call_soon_threadsafe(queue.put_nowait, ("error", f"internal error: {type(exc).__name__}"))

    task = loop.run_in_executor(None, work)
    try:
        while True:
            kind, value = await queue.get()
            if kind == "token":
                yield {"event": "token", "data": json.dumps({"text": value})}
            elif kind == "final":
                metrics.answered(value, turn.starting is not None)
                yield {"event": "final", "data": value.model_dump_json()}
                break
            else:
                yield {"event": "error", "data": json.dumps({"detail": value})}
                break
        await task
    finally:  # also when the client disconnects (the generator is closed): the work stops at its next token
        gone.set()
        done()
