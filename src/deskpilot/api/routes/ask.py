"""`POST /v1/ask`: a customer question answered with citations, as JSON or as Server-Sent Events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any, Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from deskpilot.api.deps import AnyRole, ContainerDep
from deskpilot.assist.answer import Answer
from deskpilot.errors import DeskpilotError
from deskpilot.keys import Principal

router = APIRouter(prefix="/v1", tags=["ask"])


class Turn(BaseModel):
    """An earlier turn of the conversation."""

    model_config = ConfigDict(extra="forbid")
    role: Literal["user", "assistant"]
    content: str = Field(max_length=8000)


class AskRequest(BaseModel):
    """A question, with the conversation so far when there is one."""

    model_config = ConfigDict(extra="forbid")
    question: str = Field(min_length=1, max_length=8000)
    history: list[Turn] = Field(default_factory=list, max_length=50)
    role: Literal["customer", "agent"] | None = Field(
        None, description="Answer as this role; staff keys may ask as customers, customer keys only as customers.")
    stream: bool = Field(False, description="Server-Sent Events: `token` events, then one `final` event.")


class CitationOut(BaseModel):
    """A source cited by the answer."""

    source_id: str
    title: str
    url: str
    snippet: str


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


def effective_role(principal: Principal, requested: str | None) -> str:
    """Customers are always customers; staff answer as agents unless they ask as a customer."""
    if not principal.staff:
        if requested == "agent":
            raise HTTPException(403, "a customer key cannot ask as an agent")
        return "customer"
    return requested or "agent"


def to_response(answer: Answer) -> AskResponse:
    """The response body of an answer."""
    support = answer.signals.support if answer.signals is not None and answer.signals.claims_kept else None
    return AskResponse(**answer.as_json(), retrieved=list(dict.fromkeys(c.source_id for c in answer.retrieved)),
                       support=support, timings=answer.timings)


@router.post("/ask", response_model=AskResponse)
async def ask(body: AskRequest, principal: AnyRole, container: ContainerDep) -> Any:
    """Answer a question with citations, or hand it to a human with the reasons."""
    role = effective_role(principal, body.role)
    history = [t.model_dump() for t in body.history]
    if not body.stream:
        answer = await run_in_threadpool(container.assistant.answer, body.question, history, role)
        return to_response(answer)
    return EventSourceResponse(_stream(container, body.question, history, role))


async def _stream(container: Any, question: str, history: list[dict[str, str]], role: str) -> AsyncIterator[dict[str, str]]:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    def on_token(token: str) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, ("token", token))

    def work() -> None:
        try:
            answer = container.assistant.answer(question, history, role, on_token=on_token)
            loop.call_soon_threadsafe(queue.put_nowait, ("final", answer))
        except DeskpilotError as exc:
            loop.call_soon_threadsafe(queue.put_nowait, ("error", str(exc)))

    task = loop.run_in_executor(None, work)
    while True:
        kind, value = await queue.get()
        if kind == "token":
            yield {"event": "token", "data": json.dumps({"text": value})}
        elif kind == "final":
            yield {"event": "final", "data": to_response(value).model_dump_json()}
            break
        else:
            yield {"event": "error", "data": json.dumps({"detail": value})}
            break
    await task
