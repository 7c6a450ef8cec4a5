"""The assistant's commands: `deskpilot ask`, `draft`, `summarize`, `suggest`, `classify`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from deskpilot.assist.conversation import Caller
from deskpilot.cli.common import build_container, console, fail
from deskpilot.domain import ANSWER_ROLES

if TYPE_CHECKING:  # the services load with the container, not with `--help`
    from deskpilot.assist.tickets import TicketServices, TicketText

app = typer.Typer()


def _print_sources(citations: list[dict[str, str]]) -> None:
    for n, citation in enumerate(citations, 1):
        console.print(f"  [{n}] {citation['title']} ({citation['source_id']}) {citation['url']}", highlight=False)


def _print_json(value: Any) -> None:
    """The --json output: one JSON document on stdout, other scripts than Latin as they are."""
    print(json.dumps(value, ensure_ascii=False))


def _print_fields(fields: dict[str, Any], as_json: bool) -> None:
    """Named fields one a line ("next action: ..."), or one JSON object with --json."""
    if as_json:
        _print_json(fields)
        return
    for key, value in fields.items():
        console.print(f"[bold]{key.replace('_', ' ')}:[/bold] {value}", highlight=False)


def _ticket(ref: str) -> tuple[TicketServices, TicketText]:
    """The agent's ticket services and the ticket they work on (an id, a JSON file or the text itself)."""
    services = build_container().tickets
    return services, services.load(ref)


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
        raise fail(f"--role must be customer or agent, not {role!r}")
    if conversation or record:
        turn = build_container().conversations.turn(question, Caller("cli", role), conversation, record=True)
        result, stored = turn.answer, {"conversation_id": turn.conversation_id, "ticket_id": turn.ticket_id}
    else:
        result, stored = build_container().assistant.answer(question, role=role), {}
    if as_json:
        _print_json({**result.as_json(), **stored})
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
    services, loaded = _ticket(ticket)
    result = services.draft(loaded)
    if as_json:
        _print_json(result.as_json())
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
    services, loaded = _ticket(ticket)
    _print_fields(services.summarize(loaded).model_dump(), as_json)


@app.command()
def suggest(
    text: Annotated[str, typer.Argument(help="Ticket id or text")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """The 3 most relevant articles for a ticket or text, with scores."""
    from dataclasses import asdict

    services, loaded = _ticket(text)
    items = services.suggest(loaded.query)
    if as_json:
        _print_json([asdict(i) for i in items])
        return
    for n, item in enumerate(items, 1):
        console.print(f"{n}. {item.title} ({item.source_id}) score {item.score:.3f} {item.url}", highlight=False)


@app.command()
def classify(
    text: Annotated[str, typer.Argument(help="Ticket id or text")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Category, priority and sentiment of a new ticket, from similar solved tickets."""
    services, loaded = _ticket(text)
    _print_fields(services.classify(loaded.text).as_json(), as_json)
