"""Request and response bodies of the API that are more than a few fields (OpenAPI shows them)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from deskpilot.domain import AnswerRole


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
