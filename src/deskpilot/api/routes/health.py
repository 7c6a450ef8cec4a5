"""Liveness and readiness."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from deskpilot.api.deps import ContainerDep

logger = logging.getLogger(__name__)
router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(container: ContainerDep) -> JSONResponse:
    """Index, database and LLM reachable (503 with the failing parts otherwise). Unauthenticated, so it says
    only which part is down; the reason (driver errors, file paths, URLs) goes to the log."""
    checks: dict[str, Any] = {}
    try:
        checks["index"] = {"ok": True, "chunks": container.store.count()}
    except Exception as exc:  # any failure means not ready
        logger.warning("readiness: index unavailable: %s", str(exc)[:300])
        checks["index"] = {"ok": False, "error": "unavailable"}
    try:
        with container.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = {"ok": True}
    except Exception as exc:
        logger.warning("readiness: database unavailable: %s", str(exc).splitlines()[0][:300] if str(exc) else exc)
        checks["database"] = {"ok": False, "error": "unavailable"}
    llm = container.llm_ready()
    if not llm["ok"]:
        logger.warning("readiness: LLM unavailable: %s", llm.get("error") or llm.get("status"))
    checks["llm"] = {"ok": bool(llm["ok"])} if llm["ok"] else {"ok": False, "error": "unavailable"}
    ready = all(c["ok"] for c in checks.values())
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)
