"""`POST /v1/webhooks/ticket`: a helpdesk system's new ticket, signed with the shared secret (no API key), and
`GET /v1/webhooks/ticket/{ticket_key}`: what became of it (agents and admins)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from deskpilot.api.deps import Agent, WebhooksDep
from deskpilot.integrations.webhooks import DELIVERY_HEADER, SIGNATURE_HEADER, SignatureError, WebhookDisabledError

router = APIRouter(prefix="/v1/webhooks", tags=["integrations"])


@router.post("/ticket", status_code=202, responses={200: {"description": "this ticket id was already received"},
                                                     401: {"description": "bad, missing or stale signature"},
                                                     409: {"description": "replayed request id"},
                                                     503: {"description": "webhook not configured"}})
async def ticket_webhook(request: Request, webhooks: WebhooksDep) -> JSONResponse:
    """Accept a new ticket (202, processed and delivered in the background); the same ticket id again answers
    200 with its key and status only, and nothing is processed or delivered twice."""
    body = await request.body()  # the signature covers the raw bytes
    try:
        created, record = await run_in_threadpool(webhooks.receive, body,
                                                  request.headers.get(SIGNATURE_HEADER),
                                                  request.headers.get(DELIVERY_HEADER))
    except WebhookDisabledError as exc:
        raise HTTPException(503, str(exc)) from exc
    except SignatureError as exc:
        raise HTTPException(401, str(exc)) from exc
    if created:
        return JSONResponse({"ticket_key": record["ticket_key"], "status": "received"}, status_code=202)
    # A duplicate (or a captured request replayed within the tolerance) learns only that it is known: the result
    # (summary, draft) goes to the callback and to agents (`GET` below), never back to whoever sent the bytes.
    return JSONResponse({"ticket_key": record["ticket_key"], "status": record["status"]}, status_code=200)


@router.get("/ticket/{ticket_key}")
def webhook_status(ticket_key: str, _agent: Agent, webhooks: WebhooksDep) -> dict[str, Any]:
    """The delivery record: status, attempts, last error, next attempt, and the result once processed."""
    return webhooks.record(ticket_key)
