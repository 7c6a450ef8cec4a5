"""`GET /v1/actions/audit`: every call of an action's endpoint (who, what, when, result), for admins."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from deskpilot.api.deps import ActionsDep, Admin

router = APIRouter(prefix="/v1", tags=["actions"])


@router.get("/actions/audit")
async def audit(_admin: Admin, actions: ActionsDep, conversation_id: str | None = Query(None, max_length=64),
                limit: int = Query(100, ge=1, le=5000)) -> dict[str, Any]:
    """The action audit log, newest first (parameters masked)."""
    return {"items": await run_in_threadpool(actions.audit_log, conversation_id, limit)}
