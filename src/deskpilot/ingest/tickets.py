"""Solved-ticket exports (JSON, JSONL, CSV) -> one SourceDocument per solved ticket.

A ticket becomes problem + conversation + resolution (the source's audience) and, when agents left
internal notes, an internal-audience section. Field names of common helpdesk exports are accepted
(`subject`/`title`, `description`/`body`, `comments`/`conversation`, ...).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from deskpilot.domain import (
    AGENT_PREFIX,
    CUSTOMER_PREFIX,
    NOTE_PREFIX,
    TICKET_CONVERSATION,
    TICKET_NOTES,
    TICKET_PROBLEM,
    TICKET_RESOLUTION,
)
from deskpilot.errors import IngestionError, UnsupportedFormatError
from deskpilot.index.documents import Audience, Failure, Section, SourceDocument
from deskpilot.ingest.loaders import decode_text
from deskpilot.text.thread import quote_labels

TICKET_EXTENSIONS = (".json", ".jsonl", ".ndjson", ".csv")
_AGENT_ROLES = {"agent", "admin", "staff", "support", "operator", "assistant", "team"}


@dataclass
class Comment:
    """One message of a ticket's conversation."""

    author_role: str
    body: str
    public: bool = True
    author_name: str = ""
    created_at: str = ""


@dataclass
class Ticket:
    """A ticket in Deskpilot's normalised form."""

    id: str
    subject: str
    description: str
    status: str
    resolution: str = ""
    category: str = ""
    priority: str = ""
    tags: list[str] = field(default_factory=list)
    requester_name: str = ""
    requester_email: str = ""
    assignee_name: str = ""
    created_at: str = ""
    solved_at: str = ""
    comments: list[Comment] = field(default_factory=list)

    @property
    def source_id(self) -> str:
        """The stable source id, ``ticket-<id>``."""
        return f"ticket-{self.id}"

    def people(self) -> list[str]:
        """Names and e-mail of everyone on the ticket, for redaction."""
        names = [self.requester_name, self.assignee_name, self.requester_email]
        names += [c.author_name for c in self.comments]
        return [n for n in names if n]


def _first(row: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        if key in row and row[key] not in (None, ""):
            return row[key]
    return None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return str(_first(value, "name", "full_name", "email") or "")
    return str(value).strip()


def _person(row: dict[str, Any], key: str) -> tuple[str, str]:
    value = row.get(key)
    if isinstance(value, dict):
        return _text(_first(value, "name", "full_name")), _text(value.get("email"))
    name = _text(value) or _text(_first(row, f"{key}_name"))
    return name, _text(_first(row, f"{key}_email"))


def _tags(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(t).strip() for t in value if str(t).strip()]
    return [t.strip() for t in re.split(r"[,;|]", str(value)) if t.strip()]


def _comments(value: Any) -> list[Comment]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"comments column is not valid JSON ({exc.msg})") from exc
    if not isinstance(value, list):
        raise ValueError("comments must be a list")
    comments = []
    for item in value:
        if not isinstance(item, dict):
            raise ValueError("each comment must be an object")
        body = _text(_first(item, "body", "text", "content", "message", "plain_body", "body_text"))
        if not body:
            continue
        role = _text(_first(item, "author_role", "role", "from", "author_type", "sender")).lower()
        if "private" in item:
            public = not bool(item["private"])
        elif "internal" in item:
            public = not bool(item["internal"])
        else:
            public = bool(item.get("public", item.get("is_public", True)))
        comments.append(Comment(
            author_role="agent" if role in _AGENT_ROLES else "customer",
            body=body, public=public,
            author_name=_text(_first(item, "author_name", "author", "name")),
            created_at=_text(_first(item, "created_at", "created", "date")),
        ))
    return comments


def parse_ticket(row: dict[str, Any]) -> Ticket:
    """Normalise one export row; raises ValueError with the reason when it is malformed."""
    if not isinstance(row, dict):
        raise ValueError("row is not an object")
    ticket_id = _first(row, "id", "ticket_id", "number", "ticket_number")
    if ticket_id is None or not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", str(ticket_id).strip()):
        raise ValueError("missing or invalid ticket id")
    subject = _text(_first(row, "subject", "title", "summary"))
    description = _text(_first(row, "description", "body", "question", "problem", "description_text"))
    if not subject and not description:
        raise ValueError("ticket has neither subject nor description")
    requester_name, requester_email = _person(row, "requester")
    assignee_name, _ = _person(row, "assignee")
    if not assignee_name:
        assignee_name = _text(_first(row, "agent", "responder"))
    return Ticket(
        id=str(ticket_id).strip(),
        subject=subject,
        description=description,
        status=_text(_first(row, "status", "state")).lower(),
        resolution=_text(_first(row, "resolution", "solution", "resolution_note")),
        category=_text(_first(row, "category", "type", "group")),
        priority=_text(_first(row, "priority")).lower(),
        tags=_tags(_first(row, "tags", "labels")),
        requester_name=requester_name,
        requester_email=requester_email,
        assignee_name=assignee_name,
        created_at=_text(_first(row, "created_at", "created")),
        solved_at=_text(_first(row, "solved_at", "closed_at", "resolved_at", "updated_at")),
        comments=_comments(_first(row, "comments", "conversation", "conversations", "messages")),
    )


def parse_json(text: str) -> Any:
    """A whole JSON document.

    Raises:
        IngestionError: not JSON (with the line and column).
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise IngestionError(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from exc


def parse_json_lines(text: str) -> Iterator[tuple[int, Any, str | None]]:
    """(line number, value, error) for each non-blank line of NDJSON/JSONL; error is None when it parsed."""
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line), None
        except json.JSONDecodeError as exc:
            yield number, None, f"invalid JSON ({exc.msg})"


def export_text(data: bytes, name: str, ext: str, extensions: tuple[str, ...], what: str) -> str:
    """The decoded text of an export file whose extension is one of `extensions` (`what`: "ticket export",
    "vendor export", for the message).

    Raises:
        UnsupportedFormatError: another extension.
        IngestionError: the file is empty or cannot be decoded.
    """
    if ext not in extensions:
        raise UnsupportedFormatError(f"unsupported {what} format {ext or '(none)'}; supported: " + " ".join(extensions))
    text = decode_text(data, name)
    if not text.strip():
        raise IngestionError("empty file")
    return text


def read_rows(data: bytes, name: str, ext: str) -> list[dict[str, Any]]:
    """The raw rows of an export file; raises IngestionError when the file as a whole is unreadable."""
    text = export_text(data, name, ext, TICKET_EXTENSIONS, "ticket export")
    if ext == ".json":
        payload = parse_json(text)
        if isinstance(payload, dict):
            payload = _first(payload, "tickets", "data", "results", "items")
        if not isinstance(payload, list):
            raise IngestionError("expected a JSON array of tickets (or an object with a 'tickets' array)")
        return payload
    if ext in (".jsonl", ".ndjson"):
        return [value if error is None else {"__error__": f"line {number}: {error}"}
                for number, value, error in parse_json_lines(text)]
    try:
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames:
            raise IngestionError("CSV file has no header row")
        return [{k.strip().lower(): v for k, v in row.items() if k is not None} for row in reader]
    except csv.Error as exc:
        raise IngestionError(f"malformed CSV: {exc}") from exc


def load_ticket_export(data: bytes, name: str, ext: str, rel_path: str, audience: Audience,
                       solved_statuses: list[str], label: str = "") -> tuple[list[SourceDocument], list[Failure], int]:
    """Parse an export into documents for its solved tickets.

    `rel_path` is the path shown on the documents; `label` (default rel_path) names rows in failures.

    Returns:
        (documents, per-row failures, number of unsolved tickets skipped)
    """
    failures: list[Failure] = []
    tickets: list[tuple[int, Ticket]] = []
    for number, row in enumerate(read_rows(data, name, ext), 1):
        row_label = f"{label or rel_path}#row-{number}"
        if isinstance(row, dict) and "__error__" in row:
            failures.append(Failure(row_label, str(row["__error__"])))
            continue
        try:
            tickets.append((number, parse_ticket(row)))
        except ValueError as exc:
            failures.append(Failure(row_label, f"malformed ticket row: {exc}"))
    documents, skipped = ticket_documents(tickets, rel_path, audience, solved_statuses, label or rel_path, failures)
    return documents, failures, skipped


def ticket_documents(tickets: list[tuple[int, Ticket]], rel_path: str, audience: Audience, solved_statuses: list[str],
                     label: str, failures: list[Failure],
                     more_names: Iterable[str] = ()) -> tuple[list[SourceDocument], int]:
    """Documents of the solved tickets of one export (numbered rows); duplicates become failures.

    Agents and customers are named across tickets (an internal note cites a colleague): every ticket is
    redacted with every person of the export, and with `more_names` (e.g. a vendor's side-loaded users).

    Returns:
        (documents, number of unsolved tickets skipped)
    """
    people = sorted({name for _, ticket in tickets for name in ticket.people()} | set(more_names))
    documents: list[SourceDocument] = []
    skipped = 0
    seen: set[str] = set()
    solved = {s.lower() for s in solved_statuses}
    for number, ticket in tickets:
        if ticket.source_id in seen:
            failures.append(Failure(ticket.source_id, f"duplicate ticket id in {label} (row {number})"))
            continue
        seen.add(ticket.source_id)
        if ticket.status not in solved:
            skipped += 1
            continue
        document = ticket_document(ticket, rel_path, audience)
        document.personal_names = people
        documents.append(document)
    return documents, skipped


def ticket_document(ticket: Ticket, rel_path: str, audience: Audience) -> SourceDocument:
    """The SourceDocument for one ticket: problem, conversation, resolution, internal notes."""
    sections = [Section(TICKET_PROBLEM, ticket.description)]
    public = [c for c in ticket.comments if c.public]
    # The first customer message usually repeats the description.
    if public and public[0].author_role == "customer" and public[0].body.strip() == ticket.description.strip():
        public = public[1:]
    if public:
        sections.append(Section(TICKET_CONVERSATION, "\n".join(
            f"{AGENT_PREFIX if c.author_role == 'agent' else CUSTOMER_PREFIX} {quote_labels(c.body)}" for c in public)))
    if ticket.resolution:
        sections.append(Section(TICKET_RESOLUTION, ticket.resolution))
    internal = [c for c in ticket.comments if not c.public]
    if internal:
        sections.append(Section(TICKET_NOTES, "\n".join(f"{NOTE_PREFIX} {quote_labels(c.body)}" for c in internal),
                                "internal"))
    extra = {"status": ticket.status, "category": ticket.category, "priority": ticket.priority,
             "tags": ",".join(ticket.tags), "created_at": ticket.created_at}
    return SourceDocument(
        source_id=ticket.source_id,
        kind="ticket",
        audience=audience,
        title=ticket.subject or ticket.description[:80],
        path=rel_path,
        sections=[s for s in sections if s.text.strip()],
        updated_at=(ticket.solved_at or ticket.created_at)[:10],
        extra={k: v for k, v in extra.items() if v},
        personal_names=ticket.people(),
    )
