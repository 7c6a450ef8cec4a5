"""`POST /v1/ask`: a customer question answered with citations, as JSON or as Server-Sent Events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from deskpilot.api.deps import AnyRole, ConversationsDep
from deskpilot.api.schemas import MAX_HISTORY_CHARS, ActionOut, AskRequest, AskResponse
from deskpilot.api.streaming import stream_events
from deskpilot.assist.answer import Answer
from deskpilot.assist.conversation import Caller, Conversations, PreparedTurn
from deskpilot.errors import InvalidInputError
from deskpilot.keys import Principal

router = APIRouter(prefix="/v1", tags=["ask"])


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


def _prepare(conversations: Conversations, principal: Principal, body: AskRequest) -> PreparedTurn:
    """The turn, checked and loaded (its stored history, its conversation id) before any model work is queued."""
    if body.history and not principal.staff:
        # A customer's conversation is the stored one: a client-sent history would go straight into the prompt.
        raise InvalidInputError("customer keys cannot send a history: continue a conversation with conversation_id")
    if sum(len(t.content) for t in body.history) > MAX_HISTORY_CHARS:
        raise InvalidInputError(f"the history is too long (the limit is {MAX_HISTORY_CHARS} characters in all)")
    caller = Caller(principal.key_id, effective_role(principal, body.role), principal.visitor, principal.owner,
                    principal.origin)
    return conversations.prepare(body.question, caller, body.conversation_id,
                                           [t.model_dump() for t in body.history], body.record or not principal.staff)


def _respond(turn: PreparedTurn, on_token: Callable[[str], None] | None = None) -> AskResponse:
    result = turn.run(on_token)
    response = to_response(result.answer, result.conversation_id, result.ticket_id)
    if result.action is not None:
        response.action = ActionOut(name=result.action[0], status=result.action[1])  # type: ignore[arg-type]
    return response


@router.post("/ask", response_model=AskResponse)
async def ask(body: AskRequest, principal: AnyRole, conversations: ConversationsDep, request: Request) -> Any:
    """Answer a question with citations, or hand it to a human with the reasons (a ticket is opened)."""
    turn = await run_in_threadpool(_prepare, conversations, principal, body)
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
    return EventSourceResponse(stream_events(lambda on_token: _respond(turn, on_token),
                                             lambda response: metrics.answered(response, turn.starting is not None),
                                             lambda: jobs.leave(caller)))
