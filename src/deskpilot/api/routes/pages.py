"""The web pages (served by the app from the package, no CDN) and the widget's public configuration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse

from deskpilot.api.deps import ContainerDep
from deskpilot.errors import NotFoundError

WEB = Path(__file__).resolve().parents[2] / "web"
PAGES = {"": "index.html", "widget": "widget.html", "agent": "agent.html", "editor": "editor.html", "qa": "qa.html",
         "ops": "ops.html"}

router = APIRouter(tags=["pages"])


@router.get("/v1/widget/config")
def widget_config(container: ContainerDep) -> dict[str, Any]:
    """What the embedded widget needs: the public customer key (null when none is configured) and the company."""
    return {"public_key": container.settings.api.widget_key, "company": container.settings.assistant.company}


def _page(name: str) -> FileResponse:
    path = WEB / PAGES[name]
    if not path.is_file():
        raise NotFoundError(f"page {name or 'index'} is not installed")
    return FileResponse(path, media_type="text/html")


@router.get("/", include_in_schema=False)
def index() -> FileResponse:
    """Landing page."""
    return _page("")


@router.get("/{page}", include_in_schema=False)
def page(page: str) -> FileResponse:
    """Customer widget demo, agent console, KB editor page, QA page, operations dashboard."""
    if page not in PAGES:
        raise NotFoundError(f"no page /{page}")
    return _page(page)
