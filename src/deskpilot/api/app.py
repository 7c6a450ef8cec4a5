"""`create_app(container)`: the FastAPI application, errors mapped to JSON with clear messages."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from deskpilot.api.deps import require
from deskpilot.api.limits import RateLimiter
from deskpilot.api.metrics import ServiceMetrics
from deskpilot.api.routes import ask, health, kb, pages, qa, tickets
from deskpilot.container import Container
from deskpilot.errors import ConfigError, ConflictError, DeskpilotError, InvalidInputError, LLMError, NotFoundError

logger = logging.getLogger(__name__)

STATUS = ((NotFoundError, 404), (ConflictError, 409), (InvalidInputError, 400), (LLMError, 503), (ConfigError, 500))


def create_app(container: Container) -> FastAPI:
    """The Deskpilot API around one container (built once, shared by every request)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        container.sessions  # noqa: B018  (tables exist before the first request)
        if container.settings.api.widget_key:
            container.keys.ensure(container.settings.api.widget_key, "customer", "widget (public)")
        yield

    app = FastAPI(title="Deskpilot", version="0.1.0", lifespan=lifespan,
                  description="Grounded, cited answers for helpdesks, with honest hand-off to humans.")
    app.state.container = container
    app.state.limiter = RateLimiter(container.settings.api.rate_limit_per_minute)
    metrics = app.state.metrics = ServiceMetrics()
    limit = container.settings.api.max_body_kb * 1024

    @app.middleware("http")
    async def body_limit(request: Request, call_next):  # type: ignore[no-untyped-def]
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            return JSONResponse({"detail": f"request body over {limit // 1024} KB"}, status_code=413)
        return await call_next(request)

    app.middleware("http")(metrics.middleware)

    @app.get("/metrics", tags=["health"], dependencies=[Depends(require("qa", "admin"))])
    def prometheus() -> Response:
        """Prometheus metrics (qa or admin key)."""
        return metrics.render(container)

    if container.settings.api.allowed_origins:
        app.add_middleware(CORSMiddleware, allow_origins=container.settings.api.allowed_origins,
                           allow_methods=["GET", "POST"], allow_headers=["Authorization", "Content-Type", "X-API-Key"])

    @app.exception_handler(DeskpilotError)
    async def domain_error(_request: Request, exc: DeskpilotError) -> JSONResponse:
        status = next((code for kind, code in STATUS if isinstance(exc, kind)), 500)
        if status >= 500:
            logger.warning("request failed: %s", exc)
        return JSONResponse({"detail": str(exc)}, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or 'body'}: {e['msg']}" for e in exc.errors())
        return JSONResponse({"detail": f"invalid request: {problems}"}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    app.include_router(health.router)
    app.include_router(ask.router)
    app.include_router(tickets.router)
    app.include_router(kb.router)
    app.include_router(qa.router)
    if (pages.WEB / "static").is_dir():
        app.mount("/static", StaticFiles(directory=pages.WEB / "static"), name="static")
    app.include_router(pages.router)  # last: its /{page} route must not shadow the API
    return app


def create_app_from_env() -> FastAPI:
    """The app for the process settings (uvicorn factory: `deskpilot serve --workers N`)."""
    from deskpilot.config import get_settings

    return create_app(Container(get_settings()))
