"""What every command-line module shares: consoles, settings, the container, one-line failures, ingestion progress."""

from __future__ import annotations

import logging
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from typer.core import TyperGroup

from deskpilot.config import Settings, get_settings
from deskpilot.errors import DeskpilotError

console = Console()
err = Console(stderr=True)
PROGRESS_COLUMNS = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())


def load_settings() -> Settings:
    """The process settings, with logging configured from them."""
    settings = get_settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    return settings


def build_container():  # type: ignore[no-untyped-def]
    """The container built from the process settings (imported here, not at the top: --help stays fast)."""
    from deskpilot.container import Container

    return Container(load_settings())


class OneLineErrors(TyperGroup):
    """The command group of `deskpilot`: any command's DeskpilotError (bad input, unknown id, a dead server) ends as
    one line on stderr and exit code 2, here once rather than in every command."""

    def invoke(self, ctx: Any) -> Any:  # typer.core ships its own click: its Context type
        try:
            return super().invoke(ctx)
        except DeskpilotError as exc:
            raise fail(str(exc)) from None


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print a one-line error on stderr; raise the returned Exit."""
    err.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code)


class RichProgress:
    """Draws ingestion progress: files per source and chunks embedded."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._files: object = None
        self._chunks = progress.add_task("chunks embedded", total=None)

    def start(self, label: str, total_files: int) -> None:
        """A source starts."""
        if self._files is not None:
            self._progress.update(self._files, visible=False)  # type: ignore[arg-type]
        self._files = self._progress.add_task(f"{label}", total=total_files)

    def file_done(self, name: str) -> None:
        """A file was processed."""
        self._progress.advance(self._files)  # type: ignore[arg-type]

    def embedded(self, n: int) -> None:
        """n chunks were embedded."""
        self._progress.advance(self._chunks, n)  # type: ignore[arg-type]
