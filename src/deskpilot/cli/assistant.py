"""The assistant's commands: `deskpilot ask`, `draft`, `summarize`, `suggest`, `classify`."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from deskpilot.assist.conversation import Caller
from deskpilot.cli.common import build_container, console, fail
from deskpilot.domain import ANSWER_ROLES

app = typer.Typer()


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
        raise fail(f"--role must be customer or agent, not {role!r}")
    if conversation or record:
        turn = build_container().conversations.turn(question, Caller("cli", role), conversation, record=True)
        result, stored = turn.answer, {"conversation_id": turn.conversation_id, "ticket_id": turn.ticket_id}
    else:
        result, stored = build_container().assistant.answer(question, role=role), {}
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
    services = build_container().tickets
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
    services = build_container().tickets
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

    services = build_container().tickets
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
    services = build_container().tickets
    result = services.classify(services.load(text).text)
    if as_json:
        print(json.dumps(result.as_json(), ensure_ascii=False))
        return
    for key, value in result.as_json().items():
        console.print(f"[bold]{key}:[/bold] {value}", highlight=False)
