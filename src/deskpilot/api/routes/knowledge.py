"""For KB editors: content gaps (`GET /v1/gaps`, `POST /v1/gaps/propose`), knowledge hygiene (stale, never-cited
and conflicting sources) and article drafts written from solved tickets."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from deskpilot.api.deps import Editor, GapsDep, HygieneDep, Staff, TicketArticlesDep
from deskpilot.api.routes.ops import FROM, SINCE, TO, period_of

router = APIRouter(prefix="/v1", tags=["knowledge"])


class ProposeRequest(BaseModel):
    """The questions of one content gap."""

    model_config = ConfigDict(extra="forbid")
    questions: list[str] = Field(min_length=1, max_length=50)


class DraftRequest(BaseModel):
    """Which solved ticket to write an article from (a `ref` from `GET /v1/kb/solved-tickets`)."""

    model_config = ConfigDict(extra="forbid")
    ref: str = Field(min_length=3, max_length=600, description="helpdesk:<ticket id> or index:<source id>")


class SaveRequest(BaseModel):
    """An (edited) article to save into the KB folder that ingestion reads."""

    model_config = ConfigDict(extra="forbid")
    markdown: str = Field(min_length=1, max_length=200_000)
    slug: str | None = Field(None, max_length=200, description="File name without .md (default: from the title).")
    overwrite: bool = False


@router.get("/gaps")
async def gaps(_staff: Staff, gaps: GapsDep, start: str | None = FROM, end: str | None = TO,
               ago: str | None = SINCE,
               propose: bool = Query(False, description="Also propose an article for the largest clusters (one LLM "
                                     "call each; slow with a local model).")) -> dict[str, Any]:
    """Unanswered and low-confidence questions of a period, clustered and ranked by volume (default: 7 days)."""
    period = period_of(start, end, ago, default_days=7)
    report = await run_in_threadpool(gaps.report, period, propose)
    return report.as_json()  # type: ignore[no-any-return]


@router.post("/gaps/propose")
async def propose(body: ProposeRequest, _staff: Staff, gaps: GapsDep) -> dict[str, Any]:
    """A proposed article title and outline for a content gap, grounded in its questions."""
    questions = [q[:2000] for q in body.questions]
    return (await run_in_threadpool(gaps.propose, questions)).as_json()  # type: ignore[no-any-return]


@router.get("/hygiene/stale")
async def stale(_staff: Staff, hygiene: HygieneDep) -> dict[str, Any]:
    """Often-cited articles not updated for a long time, cited undated ones, and never-cited articles."""
    return (await run_in_threadpool(hygiene.stale)).as_json()  # type: ignore[no-any-return]


@router.get("/hygiene/conflicts")
async def conflicts(_staff: Staff, hygiene: HygieneDep, limit: int = Query(100, ge=1, le=1000),
                    llm: bool = Query(False, description="Also ask the LLM whether each pair really disagrees (slow).")
                    ) -> dict[str, Any]:
    """Pairs of highly similar chunks of different sources that disagree on numbers, versions or steps."""
    found = await run_in_threadpool(hygiene.conflicts, llm, limit)
    return {"items": [c.as_json() for c in found]}


@router.get("/kb/solved-tickets")
async def solved_tickets(_editor: Editor, articles: TicketArticlesDep,
                         limit: int = Query(100, ge=1, le=1000)) -> dict[str, Any]:
    """Solved tickets an article can be written from: the helpdesk's and the indexed ones, newest first."""
    return {"items": await run_in_threadpool(articles.solved, limit)}


@router.post("/kb/drafts")
async def article_draft(body: DraftRequest, _editor: Editor, articles: TicketArticlesDep) -> dict[str, Any]:
    """A redacted article draft written from a solved ticket, with its provenance (nothing is saved)."""
    return (await run_in_threadpool(articles.draft, body.ref)).as_json()  # type: ignore[no-any-return]


@router.post("/kb/articles", status_code=201)
async def save_article(body: SaveRequest, _editor: Editor, articles: TicketArticlesDep) -> dict[str, Any]:
    """Save an article into the KB folder (409 when the file exists and overwrite is false); the next ingestion
    indexes it."""
    return await run_in_threadpool(  # type: ignore[no-any-return]
        articles.save, body.markdown, body.slug, body.overwrite)
