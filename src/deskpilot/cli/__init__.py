"""The `deskpilot` command line: thin commands that build the container and call services, one module per group.

Every module holds a `typer.Typer` named `app`; a nameless one adds its commands at the top level (`deskpilot ask`),
a named one is a group (`deskpilot keys create`). `OneLineErrors` is the one error handler, for every command.
"""

from __future__ import annotations

import sys

import typer

from deskpilot.cli import assistant, evals, kb, keys, models, ops, serve
from deskpilot.cli.common import OneLineErrors

app = typer.Typer(help="Deskpilot: grounded answers for helpdesks.", no_args_is_help=True,
                  pretty_exceptions_enable=False, cls=OneLineErrors)
# the order here is the order of `deskpilot --help`: the core commands first, then operations, then the groups
app.add_typer(kb.app)  # ingest, search
app.add_typer(assistant.app)  # ask, draft, summarize, suggest, classify
app.add_typer(serve.app)  # serve
app.add_typer(ops.app)  # purge, analytics, review, gaps, hygiene
app.add_typer(models.app, name="models")
app.add_typer(evals.app, name="eval")
app.add_typer(keys.app, name="keys")


def main() -> None:
    """Entry point of the `deskpilot` script and of `python -m deskpilot.cli`."""
    try:
        app()
    except BrokenPipeError:
        sys.exit(0)
