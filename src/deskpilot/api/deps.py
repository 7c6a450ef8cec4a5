"""Request dependencies: the services routes call (one each), the container, and the caller's identity (API key ->
role)."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from deskpilot.api.limits import VISITOR, visitor_bucket
from deskpilot.assist.conversation import Conversations
from deskpilot.assist.tickets import TicketServices
from deskpilot.config import Settings
from deskpilot.container import Container
from deskpilot.domain import ROLES, STAFF_ROLES
from deskpilot.helpdesk.events import EventWriter
from deskpilot.helpdesk.jobs import IngestJobs
from deskpilot.helpdesk.store import HelpdeskStore
from deskpilot.ingest.records import IngestRecord
from deskpilot.integrations.actions import Actions
from deskpilot.integrations.webhooks import WebhookService
from deskpilot.keys import Principal
from deskpilot.ops.analytics import Analytics
from deskpilot.ops.articles import TicketArticles
from deskpilot.ops.gaps import ContentGaps
from deskpilot.ops.hygiene import KnowledgeHygiene
from deskpilot.ops.review import ReviewList

# The dependencies are `async` on purpose: FastAPI runs plain `def` dependencies in the thread pool, a hop per
# dependency per request; these only read memory, and go to a thread for the database on a cache miss.


async def get_container(request: Request) -> Container:
    """The app's container (set by create_app)."""
    return request.app.state.container  # type: ignore[no-any-return]


ContainerDep = Annotated[Container, Depends(get_container)]


def _service(name: str) -> Any:
    """A dependency that hands a route one service of the container (built on first use, then shared)."""

    async def service(container: ContainerDep) -> Any:
        return getattr(container, name)

    service.__name__ = f"get_{name}"
    return Depends(service)


# What routes ask for: one service each, never the container (only readiness looks at its parts directly).
ActionsDep = Annotated[Actions, _service("actions")]
AnalyticsDep = Annotated[Analytics, _service("analytics")]
ConversationsDep = Annotated[Conversations, _service("conversations")]
EventsDep = Annotated[EventWriter, _service("events")]
GapsDep = Annotated[ContentGaps, _service("gaps")]
HelpdeskDep = Annotated[HelpdeskStore, _service("helpdesk")]
HygieneDep = Annotated[KnowledgeHygiene, _service("hygiene")]
IngestJobsDep = Annotated[IngestJobs, _service("ingest_jobs")]
IngestRecordDep = Annotated[IngestRecord, _service("record")]
ReviewDep = Annotated[ReviewList, _service("review")]
SettingsDep = Annotated[Settings, _service("settings")]
TicketArticlesDep = Annotated[TicketArticles, _service("ticket_articles")]
TicketsDep = Annotated[TicketServices, _service("tickets")]
WebhooksDep = Annotated[WebhookService, _service("webhooks")]


VISITOR_HEADER = "X-Visitor-Token"


def _key_from(request: Request) -> str:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    # Never from the URL (`?key=`): URLs land in access logs, browser history and Referer headers.
    return request.headers.get("x-api-key", "").strip()


async def get_principal(request: Request, container: ContainerDep) -> Principal:
    """The caller, from `Authorization: Bearer KEY` or `X-API-Key: KEY`; 401 without a valid key."""
    key = _key_from(request)
    if not key:
        raise HTTPException(401, "missing API key: send `Authorization: Bearer <key>`",
                            headers={"WWW-Authenticate": "Bearer"})
    visitor = visitor_bucket(request.client.host if request.client else "?", request.headers.get("x-forwarded-for", ""),
                             container.settings.api.trusted_proxies)
    # A key checked in the last seconds is known from memory; otherwise the database is asked in a thread
    # (retried there while the database is briefly away, never blocking the event loop) — unless this address
    # already sent too many invalid keys: guessing keys costs a database lookup each, so it is limited first.
    principal = container.keys.recently_verified(key)
    if principal is None:
        bad_keys = request.app.state.bad_keys
        if bad_keys.check(visitor, record=False):
            raise HTTPException(429, "too many invalid API keys from this address; retry in a minute",
                                headers={"Retry-After": "60"})
        principal = await run_in_threadpool(container.keys.verify, key)
        if principal is None:
            bad_keys.check(visitor)
    if principal is None:
        raise HTTPException(401, "invalid or revoked API key", headers={"WWW-Authenticate": "Bearer"})
    bucket = principal.key_id
    if key == container.settings.api.widget_key:  # shared by every visitor: limit each address instead
        bucket += "@" + visitor
        token = request.headers.get(VISITOR_HEADER, "").strip()
        if not 16 <= len(token) <= 128:
            raise HTTPException(400, f"the widget key needs a {VISITOR_HEADER} header: a random id (16 to 128 "
                                "characters) the browser keeps, to which its conversations are bound")
        principal = replace(principal, visitor=hashlib.sha256(token.encode()).hexdigest()[:32],
                            origin=hashlib.sha256(visitor.encode()).hexdigest()[:32])
    # Whose answers are limited at once (api/routes/ask.py): one anonymous visitor, or a named key.
    request.state.caller = f"{VISITOR}{visitor}" if principal.visitor is not None else principal.key_id
    # In a thread: sharing the counts writes to the database, which may wait on a lock (never on the event loop).
    wait = await run_in_threadpool(request.app.state.limiter.check, bucket)
    if wait:
        raise HTTPException(429, f"too many requests: at most {request.app.state.limiter.per_minute} per minute, "
                            f"retry in {math.ceil(wait)} s", headers={"Retry-After": str(math.ceil(wait))})
    return principal


def require(*roles: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets only these roles through (403 for the others)."""

    async def check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if principal.role not in roles:
            raise HTTPException(403, f"the {principal.role} role may not use this route")
        return principal

    return check


AnyRole = Annotated[Principal, Depends(require(*ROLES))]
Staff = Annotated[Principal, Depends(require(*sorted(STAFF_ROLES)))]
Agent = Annotated[Principal, Depends(require("agent", "admin"))]
Editor = Annotated[Principal, Depends(require("editor", "admin"))]
QA = Annotated[Principal, Depends(require("qa", "admin"))]
Admin = Annotated[Principal, Depends(require("admin"))]
