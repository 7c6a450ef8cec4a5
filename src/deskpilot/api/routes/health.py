"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from deskpilot.api.deps import ContainerDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(container: ContainerDep) -> JSONResponse:
    """Index, database and LLM reachable (503 with the failing parts otherwise)."""
    checks: dict[str, Any] = {}
    try:
        checks["index"] = {"ok": True, "chunks": container.store.count()}
    except Exception as exc:  # any failure means not ready
        checks["index"] = {"ok": False, "error": str(exc)[:200]}
    try:
        with container.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = {"ok": True}
    except Exception as exc:
        checks["database"] = {"ok": False, "error": str(exc)[:200]}
    checks["llm"] = container.llm_ready()
    ready = all(c["ok"] for c in checks.values())
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)
