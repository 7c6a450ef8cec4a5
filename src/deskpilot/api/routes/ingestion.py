"""KB editors: indexed sources and background ingestion jobs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from deskpilot.api.deps import Editor, IngestJobsDep, IngestRecordDep, Staff
from deskpilot.db import iso
from deskpilot.helpdesk.records import IngestJob

router = APIRouter(prefix="/v1", tags=["knowledge base"])


class IngestRequest(BaseModel):
    """Re-run ingestion of every configured source."""

    model_config = ConfigDict(extra="forbid")
    full: bool = False


@router.get("/sources")
def sources(_staff: Staff, record: IngestRecordDep, q: str = "", limit: int = Query(1000, ge=1, le=10000)) -> dict[str, Any]:
    """Indexed sources with their state (ok, or pending after an interrupted run)."""
    records = sorted(record.sources().values(), key=lambda r: r.source_id)
    if q:
        needle = q.casefold()
        records = [r for r in records if needle in r.source_id.casefold() or needle in (r.title or "").casefold()]
    return {"total": len(records), "items": [
        {"source_id": r.source_id, "title": r.title, "kind": r.kind, "audience": r.audience, "state": r.state,
         "chunks": r.chunk_count, "updated_at": r.updated_at, "ingested_at": iso(r.ingested_at)} for r in records[:limit]]}


@router.post("/ingest", status_code=202)
def start_ingest(body: IngestRequest, editor: Editor, jobs: IngestJobsDep) -> dict[str, str]:
    """Start ingestion in the background (409 while another one runs)."""
    return {"job_id": jobs.start(body.full, editor.key_id)}


@router.get("/ingest/{job_id}")
def ingest_job(job_id: str, _editor: Editor, jobs: IngestJobsDep) -> IngestJob:
    """A job's state, live progress and, when done, the same report as `deskpilot ingest --json`."""
    return jobs.get(job_id)
