"""`create_app(container)`: the FastAPI application, errors mapped to JSON with clear messages."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from deskpilot.api.deps import require
from deskpilot.api.limits import JobGate, RateLimiter
from deskpilot.api.metrics import ServiceMetrics
from deskpilot.api.routes import actions, ask, health, ingestion, knowledge, ops, pages, qa, tickets
from deskpilot.api.routes import webhooks as webhook_routes
from deskpilot.container import Container
from deskpilot.errors import (
    ConfigError,
    ConflictError,
    DeskpilotError,
    EmbeddingError,
    InvalidInputError,
    LLMError,
    NotFoundError,
    RetrievalError,
    StorageError,
    VectorStoreError,
)

logger = logging.getLogger(__name__)

# The index, the embedding model or the LLM being away is a temporary state (503), not a server bug.
STATUS = ((NotFoundError, 404), (ConflictError, 409), (InvalidInputError, 400), (LLMError, 503),
          (VectorStoreError, 503), (EmbeddingError, 503), (RetrievalError, 503), (StorageError, 503), (ConfigError, 500))


def create_app(container: Container) -> FastAPI:
    """The Deskpilot API around one container (built once, shared by every request)."""
    # sse-starlette logs every streamed chunk at DEBUG: an answer's final event carries the customer's own words
    # (the hand-off triggers quote them). Nothing customers type may reach the logs, at any level.
    logging.getLogger("sse_starlette").setLevel(max(logging.INFO, logging.getLogger("sse_starlette").level))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        container.sessions  # noqa: B018  (tables exist before the first request)
        container.actions  # noqa: B018  (a bad actions file is a clear error at start, not on a customer's ask)
        # A bad lexicon or examples file is a clear error at start too; the examples are embedded before the first ask.
        await to_thread.run_sync(container.escalation.warm_up)
        if container.settings.api.threads:
            # Blocking work (retrieval, the model, the database) runs in this many threads per worker.
            to_thread.current_default_thread_limiter().total_tokens = container.settings.api.threads
        if container.settings.api.widget_key:
            container.keys.ensure(container.settings.api.widget_key, "customer", "widget (public)")
        container.webhooks.start()  # resumes processing and deliveries left by a previous run
        container.retention.start()  # with ops.retention_days: purge now, then once a day
        yield
        container.events.close()  # usage events still queued
        container.webhooks.close()
        container.retention.close()

    app = FastAPI(title="Deskpilot", version="0.1.0", lifespan=lifespan,
                  description="Grounded, cited answers for helpdesks, with honest hand-off to humans.")
    app.state.container = container
    app.state.limiter = RateLimiter(container.settings.api.rate_limit_per_minute, lambda: container.sessions)
    app.state.bad_keys = RateLimiter(BAD_KEYS_PER_MINUTE)  # invalid keys per address, in this worker
    app.state.jobs = JobGate(container.settings.api.max_jobs_per_caller, container.settings.api.max_jobs,
                             expire_s=container.settings.llm.timeout * 3 + 60)
    metrics = app.state.metrics = ServiceMetrics()
    limit = container.settings.api.max_body_kb * 1024

    app.add_middleware(Guard, metrics=metrics, body_limit=limit)

    @app.get("/metrics", tags=["health"], dependencies=[Depends(require("qa", "admin"))])
    def prometheus() -> Response:
        """Prometheus metrics (qa or admin key)."""
        return metrics.render(container)

    if container.settings.api.allowed_origins:
        app.add_middleware(CORSMiddleware, allow_origins=container.settings.api.allowed_origins,
                           allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type", "X-API-Key", "X-Visitor-Token"])

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
    app.include_router(ingestion.router)
    app.include_router(qa.router)
    app.include_router(ops.router)
    app.include_router(knowledge.router)
    app.include_router(actions.router)
    app.include_router(webhook_routes.router)
    app.include_router(pages.router)  # after the API (its /{page} must not shadow it), before /static (widget.js)
    if pages.STATIC.is_dir():
        app.mount("/static", StaticFiles(directory=pages.STATIC), name="static")
    return app


BAD_KEYS_PER_MINUTE = 30  # invalid API keys one address may send per minute before 429 (no database lookup)

# Every response: no MIME sniffing, no referrer (URLs may carry ids). Pages also get a strict policy: they load
# only this origin's scripts (they have no inline script), cannot be framed by another site (a framed staff page
# would act with the key in its localStorage), and frame only their own reports (in a sandbox, as srcdoc).
SECURITY_HEADERS = ((b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"))
PAGE_POLICY = (b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
               b"connect-src 'self'; frame-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; "
               b"object-src 'none'")


def _with_security_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    names = {name.lower() for name, _ in headers}
    out = headers + [(name, value) for name, value in SECURITY_HEADERS if name not in names]
    html = any(name.lower() == b"content-type" and value.startswith(b"text/html") for name, value in headers)
    if html and b"content-security-policy" not in names:
        out += [(b"content-security-policy", PAGE_POLICY), (b"x-frame-options", b"DENY")]
    return out


class Guard:
    """Plain ASGI middleware (no per-request task, unlike `@app.middleware`): refuses bodies over the size
    limit with 413, whether declared by Content-Length or streamed, and counts and times every request."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics, body_limit: int) -> None:
        self.app = app
        self.metrics = metrics
        self.body_limit = body_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), b"")
        if declared.isdigit() and int(declared) > self.body_limit:
            await self._too_large(scope, receive, send)
            self.metrics.record(scope, 413, time.perf_counter() - started)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.body_limit:  # a body streamed without (or beyond) its Content-Length
                    raise StarletteHTTPException(413, f"request body over {self.body_limit // 1024} KB")
            return message

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = _with_security_headers(list(message.get("headers", [])))
            await send(message)

        try:
            await self.app(scope, counted, sending)
        finally:
            self.metrics.record(scope, status, time.perf_counter() - started)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = JSONResponse({"detail": f"request body over {self.body_limit // 1024} KB"}, status_code=413)
        await response(scope, receive, send)


def create_app_from_env() -> FastAPI:
    """The app for the process settings (uvicorn factory: `deskpilot serve --workers N`)."""
    from deskpilot.config import get_settings

    return create_app(Container(get_settings()))
