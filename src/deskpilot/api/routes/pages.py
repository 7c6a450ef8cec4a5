"""The web pages (served by the app from the package, no CDN) and the widget's public configuration."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from deskpilot.api.deps import ContainerDep
from deskpilot.errors import NotFoundError

WEB = Path(__file__).resolve().parents[2] / "web"
PAGES = {"": "index.html", "widget": "widget.html"}  # static pages, served as they are


@dataclass(frozen=True)
class StaffPage:
    """A staff page: web/<path>.html.j2 inside web/staff.html.j2's frame (skip link, nav, key bar, scripts)."""

    label: str  # in the nav
    title: str
    skip_to: str  # the element the skip link jumps to
    skip_text: str


STAFF = {"agent": StaffPage("Agent console", "Agent console", "dp-ticket", "Skip to the ticket"),
         "editor": StaffPage("KB editor", "Knowledge base", "dp-sources-card", "Skip to the sources"),
         "qa": StaffPage("QA", "QA", "dp-reports-card", "Skip to the reports"),
         "ops": StaffPage("Operations", "Operations", "dp-kpis-card", "Skip to the KPIs")}
NAV = [*((path, page.label) for path, page in STAFF.items()), ("widget", "Widget demo")]


@cache
def render_staff_page(path: str) -> str:
    """A staff page's HTML (rendered once: nothing in it changes while the service runs)."""
    environment = Environment(loader=FileSystemLoader(WEB), autoescape=True, undefined=StrictUndefined,
                              keep_trailing_newline=True)
    page = STAFF[path]
    return environment.get_template(f"{path}.html.j2").render(
        page=path, nav=NAV, title=page.title, skip_to=page.skip_to, skip_text=page.skip_text)


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


@router.get("/{page}", include_in_schema=False, response_model=None)
def page(page: str) -> FileResponse | HTMLResponse:
    """Customer widget demo, agent console, KB editor page, QA page, operations dashboard."""
    if page in STAFF:
        return HTMLResponse(render_staff_page(page))
    if page not in PAGES:
        raise NotFoundError(f"no page /{page}")
    return _page(page)
