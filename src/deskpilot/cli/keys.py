"""`deskpilot keys`: API keys, each with a role."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from deskpilot.cli.common import build_container, console, err
from deskpilot.db import iso

app = typer.Typer(help="API keys (each has a role).", no_args_is_help=True)


@app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="customer | agent | editor | qa | admin")],
    name: Annotated[str, typer.Option(help="Who or what uses the key")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Create an API key and print it once (only its hash is stored)."""
    principal, key = build_container().keys.create(role, name)
    if as_json:
        print(json.dumps({"id": principal.key_id, "name": principal.name, "role": principal.role, "key": key}))
    else:
        console.print(f"{principal.role} key {principal.key_id} ({principal.name}): {key}", highlight=False)
        err.print("store it now: it is not shown again")


@app.command("demo")
def keys_demo() -> None:
    """Create a fresh demo key for every role (older demo keys are revoked); saved to <data_dir>/demo-keys.json."""
    from deskpilot.domain import ROLES

    container = build_container()
    for record in container.keys.list():
        if record.name.startswith("demo ") and not record.revoked:
            container.keys.revoke(record.id)
    keys = {role: container.keys.create(role, f"demo {role}")[1] for role in ROLES}
    path = container.settings.data_dir / "demo-keys.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(keys, indent=1))
    path.chmod(0o600)
    table = Table(title=f"Demo API keys (also in {path})")
    table.add_column("role")
    table.add_column("key")
    for role, key in keys.items():
        table.add_row(role, key)
    console.print(table)


@app.command("list")
def keys_list() -> None:
    """List API keys (ids, names, roles; never the keys)."""
    table = Table()
    for column in ("id", "name", "role", "created", "revoked"):
        table.add_column(column)
    for record in build_container().keys.list():
        table.add_row(record.id, record.name, record.role, iso(record.created_at), "yes" if record.revoked else "")
    console.print(table)


@app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="Key id from `deskpilot keys list`")]) -> None:
    """Revoke an API key."""
    build_container().keys.revoke(key_id)
    console.print(f"revoked {key_id}")
