"""`deskpilot serve`: the API and the web pages."""

from __future__ import annotations

from typing import Annotated

import typer

from deskpilot.cli.common import build_container, console, load_settings

app = typer.Typer()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (state is in the database, shared by all)")] = 1,
) -> None:
    """Serve the API and the web pages (OpenAPI docs at /docs)."""
    import uvicorn

    from deskpilot.api.app import create_app

    base = f"http://{host}:{port}"
    for label, path in (("home", "/"), ("customer chat widget", "/widget"), ("agent console", "/agent"),
                        ("KB editor", "/editor"), ("operations", "/ops"), ("QA reports", "/qa"), ("API docs", "/docs")):
        console.print(f"{label:>22}: {base}{path}", highlight=False)
    if workers > 1:
        load_settings()
        uvicorn.run("deskpilot.api.app:create_app_from_env", factory=True, host=host, port=port, workers=workers,
                    log_level="info")
    else:
        uvicorn.run(create_app(build_container()), host=host, port=port, log_level="info")
