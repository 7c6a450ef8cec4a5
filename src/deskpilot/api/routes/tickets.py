"""Conversations (hand-off), tickets with the agent tools, the escalation queue, feedback, and `GET /v1/me`."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from deskpilot.api.deps import Agent, AnyRole, HelpdeskDep, TicketsDep
from deskpilot.assist.language import is_handoff_text
from deskpilot.assist.tickets import TicketText
from deskpilot.errors import InvalidInputError
from deskpilot.helpdesk.records import Escalation, QueuedEscalation, Ticket, TicketSummary
from deskpilot.helpdesk.store import HelpdeskStore
from deskpilot.keys import Principal
from deskpilot.text.thread import turn_lines

router = APIRouter(prefix="/v1", tags=["helpdesk"])


class HandoffRequest(BaseModel):
    """Why the customer wants a person (optional)."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field("", max_length=1000)


class TicketCreate(BaseModel):
    """A new ticket."""

    model_config = ConfigDict(extra="forbid")
    subject: str = Field("", max_length=300)
    body: str = Field(min_length=1, max_length=100_000)
    language: str = Field("", max_length=8)


class ResolveRequest(BaseModel):
    """How the escalation was resolved (optional note)."""

    model_config = ConfigDict(extra="forbid")
    note: str = Field("", max_length=10_000)


class FeedbackRequest(BaseModel):
    """Thumbs up/down on an answer, or an agent's flag on a draft, summary or suggestion."""

    model_config = ConfigDict(extra="forbid")
    rating: Literal["up", "down"]
    target: Literal["answer", "draft", "summary", "suggestion"] = "answer"
    comment: str = Field("", max_length=4000)
    conversation_id: str | None = Field(None, max_length=64)
    message_index: int | None = Field(None, ge=0, description="Which assistant turn (0-based) of the conversation.")
    ticket_id: int | None = None


class Caller(BaseModel):
    """Who a key is."""

    key_id: str
    name: str
    role: str


class ConversationTurns(BaseModel):
    """A conversation's turns, oldest first: {role, content, at}, and an answer's citations, decision, reasons,
    confidence, language and triggers."""

    id: str
    ticket_id: int | None
    turns: list[dict[str, Any]]


class Handoff(BaseModel):
    """The ticket a person will answer."""

    ticket_id: int
    status: str


class TicketList(BaseModel):
    """Tickets, newest first."""

    items: list[TicketSummary]


class EscalationQueue(BaseModel):
    """Escalations, oldest first."""

    items: list[QueuedEscalation]


class FeedbackStored(BaseModel):
    """The stored feedback's id; on an answer, also the conversation's ticket (None while no person has it)."""

    id: int
    ticket_id: int | None = None


@router.get("/me")
def me(principal: AnyRole) -> Caller:
    """The caller's key id, name and role."""
    return Caller(key_id=principal.key_id, name=principal.name, role=principal.role)


@router.get("/conversations/{conversation_id}")
def conversation(conversation_id: str, principal: AnyRole, helpdesk: HelpdeskDep) -> ConversationTurns:
    """A conversation's turns (customers only reach their own)."""
    found = helpdesk.conversation(conversation_id, *(principal.owner or (None, None)))
    return ConversationTurns(id=found.id, ticket_id=found.ticket_id, turns=found.turns)


@router.post("/conversations/{conversation_id}/handoff")
def handoff(conversation_id: str, body: HandoffRequest, principal: AnyRole, helpdesk: HelpdeskDep) -> Handoff:
    """The customer asks for a human at any time: a ticket with the transcript joins the escalation queue."""
    key, visitor = principal.owner or (None, None)
    return Handoff(ticket_id=helpdesk.handoff(conversation_id, key, body.reason, visitor), status="open")


@router.post("/tickets", status_code=201)
def create_ticket(body: TicketCreate, _agent: Agent, helpdesk: HelpdeskDep) -> Ticket:
    """Open a ticket."""
    return helpdesk.ticket(helpdesk.create_ticket(body.subject, body.body, body.language))


@router.get("/tickets")
def list_tickets(_agent: Agent, helpdesk: HelpdeskDep, status: str | None = None,
                 limit: int = Query(100, ge=1, le=500)) -> TicketList:
    """Tickets, newest first."""
    return TicketList(items=helpdesk.tickets(status, limit))


@router.get("/tickets/{ticket_id}")
def get_ticket(ticket_id: int, _agent: Agent, helpdesk: HelpdeskDep) -> Ticket:
    """A ticket with its messages and hand-off packet."""
    return helpdesk.ticket(ticket_id)


def _ticket_text(helpdesk: HelpdeskStore, ticket_id: int) -> TicketText:
    ticket = helpdesk.ticket(ticket_id)
    # The assistant's hand-off boilerplate is not part of the problem: leave it out of what the model reads.
    thread = turn_lines([(m.role, m.content) for m in ticket.messages
                         if m.role != "note" and not (m.role == "assistant" and is_handoff_text(m.content))])
    if not thread.strip():
        raise InvalidInputError(f"ticket {ticket_id} has no messages")
    return TicketText(f"{ticket.subject}\n\n{thread}", f"ticket {ticket_id}", ticket.subject)


def _shown(request: Request, agent: Principal, ticket_id: int, target: str, output: dict[str, Any],
           recorded: dict[str, Any] | None = None) -> dict[str, Any]:
    """Record that an agent was shown this output, or the `recorded` part of it (usage KPIs, and what a later
    flag refers to): queued and written within a second, so the suggest path adds no write of its own."""
    request.app.state.container.events.add("shown", target, agent.key_id, ticket_id,
                                           output if recorded is None else recorded)
    request.app.state.metrics.agent_outputs.labels(target, "shown").inc()
    return output


@router.post("/tickets/{ticket_id}/draft")
async def draft(ticket_id: int, agent: Agent, helpdesk: HelpdeskDep, tickets: TicketsDep, request: Request) -> dict[str, Any]:
    """A reply draft in the ticket's language with cited sources and next steps (nothing is sent)."""
    ticket = await run_in_threadpool(_ticket_text, helpdesk, ticket_id)
    output = (await run_in_threadpool(tickets.draft, ticket)).as_json()
    return await run_in_threadpool(_shown, request, agent, ticket_id, "draft", output)


@router.post("/tickets/{ticket_id}/summary")
async def summary(ticket_id: int, agent: Agent, helpdesk: HelpdeskDep, tickets: TicketsDep, request: Request) -> dict[str, Any]:
    """Problem, what was tried, status, next action, sentiment."""
    ticket = await run_in_threadpool(_ticket_text, helpdesk, ticket_id)
    output = (await run_in_threadpool(tickets.summarize, ticket)).model_dump()
    return await run_in_threadpool(_shown, request, agent, ticket_id, "summary", output)


@router.post("/tickets/{ticket_id}/suggest")
async def suggest(ticket_id: int, agent: Agent, helpdesk: HelpdeskDep, tickets: TicketsDep, request: Request) -> dict[str, Any]:
    """The three most relevant articles, with scores."""

    def work() -> dict[str, Any]:
        found = tickets.suggest(_ticket_text(helpdesk, ticket_id).query)
        output = {"items": [{"source_id": s.source_id, "title": s.title, "url": s.url, "score": s.score,
                             "snippet": s.snippet} for s in found]}
        recorded = {"items": [{"source_id": s.source_id, "title": s.title, "score": s.score} for s in found]}
        return _shown(request, agent, ticket_id, "suggestion", output, recorded)

    return await run_in_threadpool(work)


@router.post("/tickets/{ticket_id}/classify")
async def classify(ticket_id: int, _agent: Agent, helpdesk: HelpdeskDep, tickets: TicketsDep) -> dict[str, Any]:
    """Category, priority, sentiment and urgency from similar solved tickets."""
    ticket = await run_in_threadpool(_ticket_text, helpdesk, ticket_id)
    return (await run_in_threadpool(tickets.classify, ticket.text)).as_json()


@router.get("/escalations")
def escalations(_agent: Agent, helpdesk: HelpdeskDep, status: Literal["open", "claimed", "resolved"] | None = "open",
                limit: int = Query(100, ge=1, le=500)) -> EscalationQueue:
    """The human queue, oldest first."""
    return EscalationQueue(items=helpdesk.escalations(status, limit))


@router.post("/escalations/{ticket_id}/claim")
def claim(ticket_id: int, agent: Agent, helpdesk: HelpdeskDep) -> Escalation:
    """Take an escalation."""
    return helpdesk.claim(ticket_id, agent.name)


@router.post("/escalations/{ticket_id}/resolve")
def resolve(ticket_id: int, body: ResolveRequest, agent: Agent, helpdesk: HelpdeskDep) -> Escalation:
    """Resolve an escalation (its ticket is solved)."""
    return helpdesk.resolve(ticket_id, agent.name, body.note)


@router.post("/feedback", status_code=201, response_model_exclude_unset=True)  # no ticket_id on a draft's flag
def feedback(body: FeedbackRequest, principal: AnyRole, helpdesk: HelpdeskDep, request: Request) -> FeedbackStored:
    """Store feedback; customers may only rate answers in their own conversations."""
    if body.conversation_id is None and body.ticket_id is None:
        raise InvalidInputError("feedback needs a conversation_id (answers) or a ticket_id (drafts, summaries)")
    if not principal.staff:
        if body.ticket_id is not None or body.target != "answer" or body.conversation_id is None:
            raise InvalidInputError("customers can only rate answers of their conversations")
        helpdesk.conversation(body.conversation_id, principal.key_id, principal.visitor)
    feedback_id = helpdesk.feedback(body.target, body.rating, principal.key_id, body.comment,
                                              body.conversation_id, body.message_index, body.ticket_id)
    request.app.state.metrics.feedback.labels(body.target, body.rating).inc()
    if body.conversation_id is None:
        return FeedbackStored(id=feedback_id)
    # Answers rated down twice bring a human: the ticket a person will answer, when there is one now.
    return FeedbackStored(id=feedback_id, ticket_id=helpdesk.conversation(body.conversation_id).ticket_id)
