"""Freshdesk exports: solution articles and tickets with their conversations.

Accepted shapes: a list of solution articles (``GET /api/v2/solutions/folders/[id]/articles``) or tickets
(``GET /api/v2/tickets/[id]?include=conversations``), ``{"articles": [...], "folders": [...]}``, the nested
``{"categories": [{"folders": [{"visibility": 3, "articles": [...]}]}]}`` export, ``{"tickets": [...]}``
with optional side-loaded ``contacts`` and ``agents``, a single article or ticket object, and NDJSON. A
top-level ``portal_url`` (``https://acme.freshdesk.com``) gives articles without a URL their portal address.

Folder visibility 3 (agents only) and 4 (selected companies) make an article internal; status 1 (draft)
articles are skipped. Ticket status 4 (resolved) maps to "solved" and 5 to "closed".
"""

from __future__ import annotations

from typing import Any

from deskpilot.errors import IngestionError
from deskpilot.index.documents import Audience, Section, SourceDocument
from deskpilot.ingest.tickets import Comment, Ticket
from deskpilot.ingest.vendors.common import (
    Export,
    Person,
    Record,
    Vendor,
    classify,
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

STATUSES = {2: "open", 3: "pending", 4: "solved", 5: "closed", 6: "pending", 7: "pending"}
PRIORITIES = {1: "low", 2: "medium", 3: "high", 4: "urgent"}
RESTRICTED_VISIBILITY = {3, 4}  # agents only; selected companies
_DRAFT = 1


def split_object(payload: dict[str, Any]) -> Export:
    """The articles, tickets and people of a Freshdesk export object (a list is split by `Vendor.split`).

    Raises:
        IngestionError: the object is not a Freshdesk export.
    """
    if classify(payload) is not None:  # one article or one ticket
        return Export(records_of([payload]))
    export = Export(people=_people(payload))
    visibility: dict[str, int] = {}
    nested: list[Record] = []
    for category in _list(payload, "categories"):
        for folder in _list(category, "folders"):
            nested += _walk(folder, {"category": text(category.get("name"))}, visibility)
    for folder in _list(payload, "folders"):
        nested += _walk(folder, {}, visibility)
    export.context["visibility"] = visibility
    export.context["portal_url"] = text(payload.get("portal_url")).rstrip("/")
    flat = records_of(_list(payload, "articles") + _list(payload, "tickets"), start=len(nested) + 1)
    if not nested and not flat and not any(k in payload for k in ("articles", "tickets", "categories", "folders")):
        raise IngestionError("not a Freshdesk export: expected 'articles', 'tickets' or 'categories' "
                             f"(found keys: {', '.join(sorted(payload)[:8]) or 'none'})")
    for number, record in enumerate(nested, 1):
        record.number = number
    export.records = nested + flat
    return export


def _list(container: Any, key: str) -> list[Any]:
    value = container.get(key) if isinstance(container, dict) else None
    if value is None:
        return []
    if not isinstance(value, list):
        raise IngestionError(f"not a Freshdesk export: '{key}' is not an array")
    return value


def _walk(folder: Any, context: dict[str, Any], visibility: dict[str, int]) -> list[Record]:
    """Articles of a folder and its subfolders; a subfolder inherits a stricter visibility."""
    if not isinstance(folder, dict):
        raise IngestionError("not a Freshdesk export: a folder is not an object")
    own = folder.get("visibility")
    inherited = context.get("visibility")
    level = own if isinstance(own, int) and (inherited is None or own in RESTRICTED_VISIBILITY) else inherited
    context = {**context, "visibility": level, "folder": text(folder.get("name"))}
    if folder.get("id") is not None and isinstance(level, int):
        visibility[text(folder["id"])] = level
    records = [Record("article", a if isinstance(a, dict) else {"__bad__": a}, 0, context)
               for a in _list(folder, "articles")]
    for sub in _list(folder, "folders") + _list(folder, "subfolders"):
        records += _walk(sub, context, visibility)
    return records


def _people(payload: dict[str, Any]) -> dict[str, Person]:
    people: dict[str, Person] = {}
    for contact in _list(payload, "contacts"):
        if isinstance(contact, dict) and contact.get("id") is not None:
            people[text(contact["id"])] = Person(text(contact.get("name")), text(contact.get("email")))
    for agent in _list(payload, "agents"):
        if isinstance(agent, dict) and agent.get("id") is not None:
            contact = agent.get("contact")
            details: dict[str, Any] = contact if isinstance(contact, dict) else agent
            people[text(agent["id"])] = Person(text(details.get("name")), text(details.get("email")), "agent")
    return people


def article(record: Record, export: Export, rel_path: str, audience: Audience) -> SourceDocument | None:
    """A solution article as a document; None for a draft. ValueError when malformed."""
    item = record.data
    article_id = record_id(item, "article")
    if item.get("status") == _DRAFT or text(item.get("status")).lower() == "draft":
        return None
    title = text(item.get("title"))
    if not title:
        raise ValueError(f"article {article_id} has no title")
    sections = html_sections(text(item.get("description")))
    if not sections and text(item.get("description_text")):
        sections = [Section("", text(item.get("description_text")))]
    if not sections:
        raise ValueError(f"article {article_id} has no text in its description")
    level = record.context.get("visibility")
    if level is None:
        level = export.context.get("visibility", {}).get(text(item.get("folder_id")), item.get("visibility"))
    extra = {"vendor": "freshdesk", "tags": tags(item.get("tags")), "folder_id": text(item.get("folder_id")),
             "category_id": text(item.get("category_id")), "created_at": iso_date(item.get("created_at"))}
    return SourceDocument(
        source_id=f"freshdesk-article-{article_id}",
        kind="article",
        audience="internal" if level in RESTRICTED_VISIBILITY else audience,
        title=title,
        path=rel_path,
        sections=sections,
        url=_url(item, export.context.get("portal_url", ""), article_id),
        updated_at=iso_date(item.get("updated_at"), item.get("created_at")),
        language=language(item.get("language") or item.get("locale")),
        extra={k: v for k, v in extra.items() if v},
    )


def _url(item: dict[str, Any], portal: str, article_id: str) -> str:
    """The article's own URL, else the portal's address for it when the export names its portal."""
    for key in ("url", "html_url", "portal_url"):
        if text(item.get(key)).startswith("http"):
            return text(item[key])
    seo = item.get("seo_data")
    if isinstance(seo, dict) and text(seo.get("canonical_url")).startswith("http"):
        return text(seo["canonical_url"])
    return f"{portal}/support/solutions/articles/{article_id}" if portal.startswith("http") else ""


def ticket(record: Record, export: Export) -> Ticket:
    """A ticket (with its conversations) in normalised form. ValueError when malformed."""
    item = record.data
    ticket_id = record_id(item, "ticket")
    subject = text(item.get("subject"))
    description = message_text(item, "description_text", html_key="description")
    if not subject and not description:
        raise ValueError("ticket has neither subject nor description")
    requester = export.people.get(text(item.get("requester_id"))) or embedded_person(item.get("requester"))
    assignee = export.people.get(text(item.get("responder_id"))) or embedded_person(item.get("responder"))
    conversations = item.get("conversations") or []
    if not isinstance(conversations, list):
        raise ValueError("conversations must be a list")
    status = item.get("status")
    priority = item.get("priority")
    raw_stats = item.get("stats")
    stats: dict[str, Any] = raw_stats if isinstance(raw_stats, dict) else {}
    return Ticket(
        id=ticket_id,
        subject=subject,
        description=description,
        status=STATUSES.get(status, text(status).lower()) if isinstance(status, int) else text(status).lower(),
        category=text(item.get("type")),
        priority=PRIORITIES.get(priority, text(priority)) if isinstance(priority, int) else text(priority).lower(),
        tags=[t for t in tags(item.get("tags")).split(",") if t],
        requester_name=requester.name,
        requester_email=requester.email,
        assignee_name=assignee.name,
        created_at=text(item.get("created_at")),
        solved_at=text(stats.get("resolved_at") or stats.get("closed_at") or item.get("updated_at")),
        comments=[c for c in (_comment(raw, export) for raw in conversations) if c is not None],
    )


def _comment(raw: Any, export: Export) -> Comment | None:
    if not isinstance(raw, dict):
        raise ValueError("each conversation must be an object")
    body = message_text(raw, "body_text", html_key="body")
    if not body:
        return None
    author = export.people.get(text(raw.get("user_id")))
    private = bool(raw.get("private"))
    role = "customer" if raw.get("incoming") and not private else "agent"
    return Comment(author_role=role, body=body, public=not private,
                   author_name=author.name if author else "", created_at=text(raw.get("created_at")))


VENDOR = register(Vendor(
    key="freshdesk", name="Freshdesk",
    split_object=split_object, article=article, ticket=ticket))
