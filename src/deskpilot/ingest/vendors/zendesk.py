"""Zendesk exports: Help Center articles and Support tickets with their comments.

Accepted shapes: the API responses ``{"articles": [...]}`` (``GET /api/v2/help_center/articles.json``),
``{"article": {...}}``, ``{"tickets": [...], "users": [...]}`` with comments embedded in each ticket,
``{"ticket": {...}, "comments": [...]}``, a plain list of either, and NDJSON with one ticket a line (the
incremental export). Side-loaded ``users`` give comment authors' names and roles (end-user -> customer).
"""

from __future__ import annotations

from typing import Any

from deskpilot.errors import IngestionError
from deskpilot.index.documents import Audience, SourceDocument
from deskpilot.ingest.tickets import Comment, Ticket
from deskpilot.ingest.vendors.common import (
    Export,
    Person,
    Record,
    Vendor,
    embedded_person,
    html_sections,
    iso_date,
    language,
    message_text,
    record_id,
    records_of,
    register,
    tags,
    text,
)

_AGENT_ROLES = {"agent", "admin"}


def split_object(payload: dict[str, Any]) -> Export:
    """The articles, tickets and users of a Zendesk export object (a list is split by `Vendor.split`).

    Raises:
        IngestionError: the object is not a Zendesk export.
    """
    export = Export(people=_people(payload.get("users")))
    if isinstance(payload.get("article"), dict):
        payload = {**payload, "articles": [payload["article"]]}
    if isinstance(payload.get("ticket"), dict):
        ticket = payload["ticket"]
        if "comments" not in ticket and isinstance(payload.get("comments"), list):
            ticket = {**ticket, "comments": payload["comments"]}
        payload = {**payload, "tickets": [ticket]}
    articles, tickets = payload.get("articles"), payload.get("tickets")
    if articles is None and tickets is None:
        raise IngestionError("not a Zendesk export: expected an 'articles' or 'tickets' array "
                             f"(found keys: {', '.join(sorted(payload)[:8]) or 'none'})")
    for key, value in (("articles", articles), ("tickets", tickets)):
        if value is not None and not isinstance(value, list):
            raise IngestionError(f"not a Zendesk export: '{key}' is not an array")
    export.records = records_of(list(articles or []) + list(tickets or []))
    return export


def _people(users: Any) -> dict[str, Person]:
    people: dict[str, Person] = {}
    for user in users if isinstance(users, list) else []:
        if isinstance(user, dict) and user.get("id") is not None:
            role = "agent" if text(user.get("role")).lower() in _AGENT_ROLES else "customer"
            people[text(user["id"])] = Person(text(user.get("name")), text(user.get("email")), role)
    return people


def article(record: Record, export: Export, rel_path: str, audience: Audience) -> SourceDocument | None:
    """A Help Center article as a document; None for a draft. ValueError when malformed."""
    item = record.data
    article_id = record_id(item, "article")
    if item.get("draft"):
        return None
    title = text(item.get("title"))
    if not title:
        raise ValueError(f"article {article_id} has no title")
    sections = html_sections(text(item.get("body")))
    if not sections:
        raise ValueError(f"article {article_id} has no text in its body")
    locale, source_locale = text(item.get("locale")).lower(), text(item.get("source_locale")).lower()
    # A translation shares its article's id: its locale tells it apart.
    suffix = f"-{locale}" if locale and source_locale and locale != source_locale else ""
    restricted = item.get("user_segment_id") is not None
    extra = {"vendor": "zendesk", "tags": tags(item.get("label_names")), "section_id": text(item.get("section_id")),
             "created_at": iso_date(item.get("created_at"))}
    return SourceDocument(
        source_id=f"zendesk-article-{article_id}{suffix}",
        kind="article",
        audience="internal" if restricted else audience,
        title=title,
        path=rel_path,
        sections=sections,
        url=text(item.get("html_url")),
        updated_at=iso_date(item.get("edited_at"), item.get("updated_at"), item.get("created_at")),
        language=language(locale),
        extra={k: v for k, v in extra.items() if v},
    )


def ticket(record: Record, export: Export) -> Ticket:
    """A Support ticket (with embedded comments) in normalised form. ValueError when malformed."""
    item = record.data
    ticket_id = record_id(item, "ticket")
    subject = text(item.get("subject") or item.get("raw_subject"))
    description = text(item.get("description"))
    if not subject and not description:
        raise ValueError("ticket has neither subject nor description")
    requester_id = text(item.get("requester_id"))
    requester = export.people.get(requester_id) or embedded_person(item.get("requester"))
    assignee = export.people.get(text(item.get("assignee_id"))) or embedded_person(item.get("assignee"))
    comments = item.get("comments") or []
    if not isinstance(comments, list):
        raise ValueError("comments must be a list")
    return Ticket(
        id=ticket_id,
        subject=subject,
        description=description,
        status=text(item.get("status")).lower(),
        category=text(item.get("type")),
        priority=text(item.get("priority")).lower(),
        tags=[t for t in tags(item.get("tags")).split(",") if t],
        requester_name=requester.name,
        requester_email=requester.email,
        assignee_name=assignee.name,
        created_at=text(item.get("created_at")),
        solved_at=text(item.get("solved_at") or item.get("updated_at")),
        comments=[c for c in (_comment(raw, export, requester_id) for raw in comments) if c is not None],
    )


def _comment(raw: Any, export: Export, requester_id: str) -> Comment | None:
    if not isinstance(raw, dict):
        raise ValueError("each comment must be an object")
    body = message_text(raw, "plain_body", "body", html_key="html_body")
    if not body:
        return None
    author_id = text(raw.get("author_id"))
    author = export.people.get(author_id)
    role = author.role if author else ("customer" if author_id == requester_id else "agent")
    return Comment(author_role=role, body=body, public=bool(raw.get("public", True)),
                   author_name=author.name if author else "", created_at=text(raw.get("created_at")))


VENDOR = register(Vendor(
    key="zendesk", name="Zendesk",
    split_object=split_object, article=article, ticket=ticket))
