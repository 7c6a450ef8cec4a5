"""`create_app(container)`: the FastAPI application, errors mapped to JSON with clear messages."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from deskpilot.api.routes import ask, health
from deskpilot.container import Container
from deskpilot.errors import ConfigError, DeskpilotError, InvalidInputError, LLMError, NotFoundError

logger = logging.getLogger(__name__)

STATUS = ((NotFoundError, 404), (InvalidInputError, 400), (LLMError, 503), (ConfigError, 500))


def create_app(container: Container) -> FastAPI:
    """The Deskpilot API around one container (built once, shared by every request)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        container.sessions  # noqa: B018  (tables exist before the first request)
        yield

    app = FastAPI(title="Deskpilot", version="0.1.0", lifespan=lifespan,
                  description="Grounded, cited answers for helpdesks, with honest hand-off to humans.")
    app.state.container = container

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
    return app
