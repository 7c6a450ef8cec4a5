"""Closed sets of domain values, named once: who may call (roles) and what the assistant answers as.

Everything else refers to these (API keys, the retriever's audience filter, route permissions, the CLI, suites):
adding a role is one line here.
"""

from __future__ import annotations

from typing import Literal, get_args

Role = Literal["customer", "agent", "editor", "qa", "admin"]
ROLES: tuple[str, ...] = get_args(Role)
# Staff: may see internal sources (runbooks, solved tickets' internal notes). Anything unknown is a customer.
STAFF_ROLES = frozenset(r for r in ROLES if r != "customer")
# The roles an answer is written for: a customer (public sources only) or an agent (internal sources too).
AnswerRole = Literal["customer", "agent"]
ANSWER_ROLES: tuple[str, ...] = get_args(AnswerRole)


def can_see_internal(role: str) -> bool:
    """Only staff roles see internal sources; anything unknown is treated as a customer."""
    return role in STAFF_ROLES

# A solved ticket's sections, as ingestion stores them (ingest/tickets.py): what the customer reported, the public
# conversation ("Customer: …" / "Agent: …" lines), how it was resolved, and the agents' internal notes.
TICKET_PROBLEM, TICKET_CONVERSATION, TICKET_RESOLUTION, TICKET_NOTES = (
    "Problem", "Conversation", "Resolution", "Internal notes")
AGENT_PREFIX, NOTE_PREFIX, CUSTOMER_PREFIX = "Agent:", "Agent note:", "Customer:"  # how a ticket's messages open
AGENT_PREFIXES = (AGENT_PREFIX, NOTE_PREFIX)  # an agent's: a message of the conversation or an internal note
