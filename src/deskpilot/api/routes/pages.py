"""The web pages (served by the app from the package, no CDN), the widget script built from its modules, and the
widget's public configuration."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from deskpilot.api.bundle import bundle
from deskpilot.api.deps import SettingsDep
from deskpilot.errors import NotFoundError

WEB = Path(__file__).resolve().parents[2] / "web"
STATIC = WEB / "static"
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
def widget_config(settings: SettingsDep) -> dict[str, Any]:
    """What the embedded widget needs: the public customer key (null when none is configured) and the company."""
    return {"public_key": settings.api.widget_key, "company": settings.assistant.company}


@cache
def widget_script() -> tuple[str, str]:
    """The widget as host sites embed it, and its ETag: static/widget/main.js and the modules it imports, joined
    into one classic script (api/bundle.py) at the first request; nothing in it changes while the service runs."""
    script = bundle(STATIC / "widget" / "main.js", STATIC)
    return script, f'"{hashlib.sha256(script.encode()).hexdigest()[:20]}"'


@router.api_route("/static/widget.js", methods=["GET", "HEAD"], include_in_schema=False)
def widget_js(request: Request) -> Response:
    """The embeddable widget (the one URL host sites load). Browsers revalidate it on each use (no-cache) and get
    304 while it is unchanged, so a service upgrade reaches host pages at once."""
    script, etag = widget_script()
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(script, media_type="text/javascript; charset=utf-8", headers=headers)


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
