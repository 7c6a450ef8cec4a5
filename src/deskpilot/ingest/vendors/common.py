"""What every helpdesk vendor export shares: reading the payload (JSON or NDJSON), records and people, telling
articles from tickets, and field helpers (ids, dates, languages, tags, HTML to text and sections).

A vendor file is JSON (an API response or a list) or NDJSON (one record a line). Articles and tickets are
told apart by their content, so one folder may hold both. Articles keep their audience (restricted ->
internal), dates, language and URL; drafts are skipped. Tickets become Deskpilot's normalised `Ticket` and
then take the same path as generic exports (`ticket_document`, source id ``ticket-<id>``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any, Literal

from deskpilot.errors import IngestionError
from deskpilot.index.documents import Audience, Failure, Section, SourceDocument
from deskpilot.ingest.loaders import sections_from_elements
from deskpilot.ingest.tickets import Ticket, export_text, parse_json, parse_json_lines

logger = logging.getLogger(__name__)

VendorFormat = str  # a key of VENDORS
VENDOR_EXTENSIONS = (".json", ".ndjson", ".jsonl")
_ID_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_BLOCK_TAGS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table"}


@dataclass
class Person:
    """A user of the helpdesk (side-loaded `users`, `contacts` or `agents`)."""

    name: str = ""
    email: str = ""
    role: str = "customer"  # "customer" or "agent"


@dataclass
class Record:
    """One article or ticket object of an export, with its position and what its container says."""

    kind: Literal["article", "ticket"]
    data: dict[str, Any]
    number: int
    context: dict[str, Any] = field(default_factory=dict)


@dataclass
class Export:
    """The records and people of one export file."""

    records: list[Record] = field(default_factory=list)
    people: dict[str, Person] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Vendor:
    """What a vendor module provides to the common loader: its name, how it splits an export object into records
    and people, and how a record becomes an article or a ticket."""

    key: str  # the --format value and sources.yaml `format:` that pick it
    name: str
    split_object: Callable[[dict[str, Any]], Export]
    article: Callable[[Record, Export, str, Audience], SourceDocument | None]
    ticket: Callable[[Record, Export], Ticket]

    def split(self, payload: Any) -> Export:
        """The records and people of a parsed export: a plain list is records as they are (every vendor's list
        endpoints and NDJSON), an object is the vendor's own shape.

        Raises:
            IngestionError: the payload is not an export of this vendor.
        """
        if isinstance(payload, list):
            return Export(records_of(payload))
        if not isinstance(payload, dict):
            raise IngestionError(f"not a {self.name} export: expected a JSON object or array")
        return self.split_object(payload)


VENDORS: dict[str, Vendor] = {}  # key -> vendor; filled by the vendor modules as they are imported


def register(vendor: Vendor) -> Vendor:
    """Make a vendor format known to the loader (a vendor module calls this on its VENDOR)."""
    VENDORS[vendor.key] = vendor
    return vendor


def read_payload(data: bytes, name: str, ext: str) -> tuple[Any, list[Failure]]:
    """The parsed JSON of a file (NDJSON: the list of its lines) and failures of unreadable lines.

    Raises:
        UnsupportedFormatError: not a .json/.ndjson/.jsonl file.
        IngestionError: the file as a whole is empty or not JSON.
    """
    text = export_text(data, name, ext, VENDOR_EXTENSIONS, "vendor export")
    if ext == ".json":
        return parse_json(text), []
    rows: list[Any] = []
    failures: list[Failure] = []
    for number, value, error in parse_json_lines(text):
        if error is None:
            rows.append(value)
        else:
            failures.append(Failure(f"{name}#line-{number}", error))
    return rows, failures


def classify(item: Any) -> Literal["article", "ticket"] | None:
    """Whether an export object is a ticket (has a subject or requester) or an article (has a title)."""
    if not isinstance(item, dict):
        return None
    if any(k in item for k in ("subject", "requester_id", "comments", "conversations")):
        return "ticket"
    if "title" in item:
        return "article"
    return None


def records_of(items: list[Any], context: dict[str, Any] | None = None, start: int = 1) -> list[Record]:
    """Records of a list of objects, each classified by its content (unknown ones fail later)."""
    out = []
    for number, item in enumerate(items, start):
        kind = classify(item)
        out.append(Record(kind or "article", item if isinstance(item, dict) else {"__bad__": item},
                          number, dict(context or {})))
    return out


def record_id(item: dict[str, Any], what: str) -> str:
    """The object's id as text; ValueError when missing or not a plain id."""
    value = item.get("id")
    if value is None or isinstance(value, bool) or not _ID_RE.fullmatch(str(value).strip()):
        raise ValueError(f"missing or invalid {what} id")
    return str(value).strip()


def text(value: Any) -> str:
    """A field as stripped text ('' for None)."""
    return "" if value is None else str(value).strip()


def iso_date(*values: Any) -> str:
    """The YYYY-MM-DD date of the first value that has one ('' when none)."""
    for value in values:
        match = _DATE_RE.match(text(value))
        if match:
            return match.group(0)
    return ""


def language(locale: Any) -> str:
    """A locale as Deskpilot's language code: ``en-us`` -> ``en``, ``pt_BR`` -> ``pt``."""
    return re.split(r"[-_]", text(locale).lower(), maxsplit=1)[0]


def tags(value: Any) -> str:
    """Labels or tags as one comma-separated string."""
    if isinstance(value, list):
        return ",".join(text(t) for t in value if text(t))
    return text(value)


def html_sections(html: str) -> list[Section]:
    """HTML cleaned to sections exactly as .html articles are (headings kept as section headings)."""
    from unstructured.partition.html import partition_html

    if not html.strip():
        return []
    _, sections = sections_from_elements(partition_html(text=html, languages=[""]), False)
    return [s for s in sections if s.text.strip()]


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(html: str) -> str:
    """Plain text of a short HTML fragment (a ticket message): tags dropped, one line per block."""
    if "<" not in html:
        return html.strip()
    parser = _TextParser()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


def embedded_person(value: Any) -> Person:
    """A person given inside a record (a ticket's requester or assignee object); nobody when absent."""
    if isinstance(value, dict):
        return Person(text(value.get("name")), text(value.get("email")))
    return Person()


def message_text(item: dict[str, Any], *plain_keys: str, html_key: str) -> str:
    """A message's plain text: the first plain-text field present, else the HTML field cleaned."""
    for key in plain_keys:
        value = text(item.get(key))
        if value:
            return value
    return html_to_text(text(item.get(html_key)))
