"""Solved ticket -> draft help-centre article: a KB editor picks a solved ticket, gets a redacted Markdown draft
with its provenance in the front matter, edits it and saves it into the folder that ingestion reads.

Tickets come from the helpdesk database (``helpdesk:<id>``) or from ingested ticket exports in the index
(``index:<source id>``). Only what the customer saw is given to the model: internal notes, internal chunks and
the assistant's hand-off boilerplate are left out. Personal data is redacted before the model reads the
ticket (known names, names people introduce or sign with, e-mails, phones, cards ...) and again in what it
writes; placeholders that survive are reported to the editor.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import tempfile
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, StringConstraints, ValidationError, field_validator

from deskpilot.assist.language import is_handoff_text, language_name
from deskpilot.assist.prompts import PromptLibrary
from deskpilot.config import AssistantSettings
from deskpilot.db import iso
from deskpilot.errors import ConflictError, IngestionError, InvalidInputError, LLMOutputError, NotFoundError
from deskpilot.helpdesk.store import HelpdeskStore
from deskpilot.index.store import ChunkStore, SearchHit
from deskpilot.ingest.loaders import split_front_matter
from deskpilot.ingest.records import IngestRecord
from deskpilot.ingest.redact import Redactor, introduced_names
from deskpilot.providers.llm import LLMClient

logger = logging.getLogger(__name__)

PROMPT = "ticket_article"
MAX_TICKET_CHARS = 8000  # what the model reads of a ticket (the local model's context is 4096 tokens)
MAX_OUTPUT_TOKENS = 900
MAX_ARTICLE_BYTES = 200 * 1024
SLUG_MAX = 80
_VISIBLE_ROLES = {"customer": "Customer", "agent": "Agent", "assistant": "Assistant"}
_LABEL_RE = re.compile(r"^(?:Customer|Agent|Assistant|Agent note):[ \t]*", re.MULTILINE)
_PLACEHOLDER_RE = re.compile(r"\[(?:NAME|EMAIL|PHONE|CARD|IBAN|IP)\]")
_H1_RE = re.compile(r"^#[ \t]+(.+?)[ \t#]*$", re.MULTILINE)

_Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
_Body = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class ArticleText(BaseModel):
    """The model's article, parsed: its title and its Markdown body (a parse failure is an error)."""

    title: _Title
    body: _Body

    @field_validator("title", "body")
    @classmethod
    def _has_words(cls, value: str) -> str:
        if not re.search(r"[^\W_]", value):
            raise ValueError("no words")
        return value


@dataclass
class ArticleDraft:
    """A draft for the editor: the full Markdown file (front matter + body) and where it came from."""

    title: str
    markdown: str
    provenance: dict[str, Any]
    redactions: dict[str, int]
    slug: str
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The API form."""
        return asdict(self)


@dataclass
class _Ticket:
    """A solved ticket as the model may read it: customer-visible parts only."""

    ref: str
    subject: str
    solved_at: str
    parts: list[str]  # "Customer: …", "Agent: …", or a section of an indexed ticket
    names: list[str] = field(default_factory=list)
    number: str = ""


def slugify(text: str) -> str:
    """A file name from a title: lower-case ASCII letters, digits and hyphens, at most SLUG_MAX characters."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")
    if len(slug) > SLUG_MAX:
        slug = slug[:SLUG_MAX + 1].rsplit("-", 1)[0] if "-" in slug[:SLUG_MAX + 1] else slug[:SLUG_MAX]
    return slug.strip("-")


def parse_article(text: str, fallback_title: str) -> tuple[ArticleText, list[str]]:
    """The model's Markdown as title + body (code fences, chatter before the title and front matter dropped).

    Returns:
        The article and notes for the editor (e.g. no title line: the ticket subject is used).

    Raises:
        LLMOutputError: the model wrote no article text.
    """
    notes: list[str] = []
    text = _unwrap_fence(text.strip())
    if text.startswith("---"):
        with contextlib.suppress(IngestionError):  # not front matter after all: keep the text
            text = split_front_matter(text)[1].strip()
    heading = _H1_RE.search(text)
    if heading:
        title, body = heading.group(1).strip("*_ "), text[heading.end():]
    else:
        title, body = fallback_title, text
        notes.append("the model wrote no '# Title' line: the ticket subject is the title")
    try:
        return ArticleText(title=title, body=body), notes
    except ValidationError as exc:
        raise LLMOutputError(f"the language model wrote no usable article: {text[:200]!r}") from exc


class TicketArticles:
    """Drafts help-centre articles from solved tickets and saves edited drafts into the KB folder."""

    def __init__(self, helpdesk: HelpdeskStore, store: ChunkStore, record: IngestRecord, llm: Callable[[], LLMClient],
                 prompts: PromptLibrary, assistant: AssistantSettings, articles_dir: Path) -> None:
        self._helpdesk = helpdesk
        self._store = store
        self._record = record
        self._llm = llm
        self._prompts = prompts
        self._assistant = assistant
        self._dir = articles_dir

    def solved(self, limit: int = 100) -> list[dict[str, Any]]:
        """Solved tickets to pick from, newest first: ``{ref, subject, solved_at, origin}`` where origin is
        ``helpdesk`` (the database) or ``index`` (an ingested ticket export)."""
        limit = max(1, min(limit, 500))
        items = []
        for row in self._helpdesk.tickets(status="solved", limit=limit):
            solved_at = iso(self._helpdesk.ticket(row.id).updated_at)
            items.append({"ref": f"helpdesk:{row.id}", "subject": row.subject, "solved_at": solved_at,
                          "origin": "helpdesk"})
        for source in self._record.sources().values():
            if source.kind == "ticket" and source.state == "ok":
                items.append({"ref": f"index:{source.source_id}", "subject": source.title,
                              "solved_at": source.updated_at, "origin": "index"})
        items.sort(key=lambda item: str(item["solved_at"] or ""), reverse=True)
        return items[:limit]

    def draft(self, ref: str) -> ArticleDraft:
        """A redacted article draft from one solved ticket.

        Raises:
            InvalidInputError: a malformed ref, a ticket that is not solved, or one without customer-visible text.
            NotFoundError: no such ticket.
            LLMError: the model failed (LLMOutputError: it wrote no article).
        """
        ticket = self._load(ref)
        names = self._names(ticket)
        redactor = Redactor(names)
        counts: Counter[str] = Counter()
        notes: list[str] = []
        subject = redactor.redact(ticket.subject)
        body = redactor.redact("\n\n".join(ticket.parts))
        counts.update(subject.counts)
        counts.update(body.counts)
        text = body.text
        if len(text) > MAX_TICKET_CHARS:
            text = text[:MAX_TICKET_CHARS].rsplit("\n", 1)[0] + "\n[…]"
            notes.append(f"the ticket is long: the model read its first {MAX_TICKET_CHARS} characters")
        prompt = self._prompts.get(PROMPT)
        system, user = prompt.render(company=self._assistant.company, language=language_name(self._assistant.kb_language),
                                     subject=subject.text, ticket=text)
        llm = self._llm()
        raw = llm.complete(system, user, max_tokens=MAX_OUTPUT_TOKENS)
        output = Redactor(names, detect_names=True).redact(raw)
        counts.update(output.counts)
        article, parse_notes = parse_article(output.text, subject.text)
        notes += parse_notes
        notes += _review_notes(article, ticket.number)
        provenance = {"ticket": ticket.ref, "subject": subject.text, "solved_at": ticket.solved_at,
                      "generated_by": llm.name, "prompt": prompt.id, "redactions": sum(counts.values()),
                      "generated_at": datetime.now(UTC).isoformat(timespec="seconds")}
        front = {"title": article.title, "updated_at": datetime.now(UTC).date(),
                 "language": self._assistant.kb_language, "source": ticket.ref, "status": "draft",
                 "provenance": provenance}
        markdown = f"---\n{yaml.safe_dump(front, sort_keys=False, allow_unicode=True).strip()}\n---\n\n{article.body}\n"
        logger.info("article draft from %s: %s (%s, %s, %d redactions)", ticket.ref, article.title, prompt.id,
                    llm.name, provenance["redactions"])
        return ArticleDraft(title=article.title, markdown=markdown, provenance={**provenance, "status": "draft"},
                            redactions=dict(sorted(counts.items())), slug=slugify(article.title) or "article",
                            notes=notes)

    def save(self, markdown: str, slug: str | None = None, overwrite: bool = False) -> dict[str, Any]:
        """Write an (edited) draft to ``<articles_dir>/<slug>.md``, atomically.

        The editor is trusted: the text is written as given; personal data found in it is only reported
        (``pii_warnings``: counts by kind).

        Returns:
            ``{path, slug, bytes, overwritten, pii_warnings}``; path is relative to the working directory when
            the folder is under it.

        Raises:
            InvalidInputError: empty or oversized text, invalid front matter, no title and no slug, or a slug
                that is a path (``../x``, ``/etc/x``, ``a/b``).
            ConflictError: the file exists and overwrite is false.
        """
        data = markdown.encode("utf-8")
        if not markdown.strip():
            raise InvalidInputError("the article is empty")
        if len(data) > MAX_ARTICLE_BYTES:
            raise InvalidInputError(f"the article is too large ({len(data)} bytes; the limit is {MAX_ARTICLE_BYTES})")
        try:
            meta, body = split_front_matter(markdown.lstrip("\ufeff"))
        except IngestionError as exc:
            raise InvalidInputError(str(exc)) from exc
        if not body.strip():
            raise InvalidInputError("the article has no text after its front matter")
        name = _safe_slug(slug) if slug else slugify(str(meta.get("title") or _first_heading(body)))
        if not name:
            raise InvalidInputError("the article has no title to name its file after: give a slug")
        folder = self._dir.resolve()
        target = folder / f"{name}.md"
        if target.parent != folder:  # defence in depth: _safe_slug already refuses separators
            raise InvalidInputError(f"slug {slug!r} leaves the articles folder")
        existed = target.exists()
        if existed and not overwrite:
            raise ConflictError(f"{name}.md already exists in {self._dir}; save with overwrite to replace it")
        folder.mkdir(parents=True, exist_ok=True)
        _atomic_write(target, data, overwrite)
        warnings = Redactor(detect_names=True).redact(markdown).counts
        logger.info("article saved: %s (%d bytes)", target, len(data))
        return {"path": _display_path(target), "slug": name, "bytes": len(data), "overwritten": existed,
                "pii_warnings": dict(sorted(warnings.items()))}

    # -- tickets ------------------------------------------------------------------------------------

    def _names(self, ticket: _Ticket) -> list[str]:
        """Known names plus those people introduce, sign or greet with in each message (line starts matter,
        so role labels are dropped first); never the company's own name ("Hi Orbitly,")."""
        company = {w.lower() for w in self._assistant.company.split()}
        detected = [n for part in [ticket.subject, *ticket.parts] for n in introduced_names(_LABEL_RE.sub("", part))]
        return list(dict.fromkeys([*ticket.names, *(n for n in detected if not {w.lower() for w in n.split()} <= company)]))

    def _load(self, ref: str) -> _Ticket:
        origin, sep, key = ref.strip().partition(":")
        if not sep or origin not in ("helpdesk", "index") or not key.strip():
            raise InvalidInputError(f"ticket ref {ref!r} is not 'helpdesk:<id>' or 'index:<source id>'")
        return self._from_helpdesk(key.strip()) if origin == "helpdesk" else self._from_index(key.strip())

    def _from_helpdesk(self, key: str) -> _Ticket:
        if not key.isdigit():
            raise InvalidInputError(f"helpdesk ticket id {key!r} is not a number")
        ticket = self._helpdesk.ticket(int(key)).model_dump()  # times as the API writes them
        if ticket["status"] != "solved":
            raise InvalidInputError(f"ticket {key} is {ticket['status']}, not solved: articles come from solved tickets")
        parts = [f"{_VISIBLE_ROLES[m['role']]}: {m['content'].strip()}" for m in ticket["messages"]
                 if m["role"] in _VISIBLE_ROLES and m["content"].strip()
                 and not (m["role"] == "assistant" and is_handoff_text(m["content"]))]
        if not parts:
            raise InvalidInputError(f"ticket {key} has no customer-visible messages")
        escalation = ticket.get("escalation") or {}
        names = [escalation["claimed_by"]] if escalation.get("claimed_by") else []
        return _Ticket(f"helpdesk:{key}", ticket["subject"], ticket["updated_at"], parts, names, key)

    def _from_index(self, source_id: str) -> _Ticket:
        source = self._record.sources().get(source_id)
        if source is None or source.kind != "ticket":
            raise NotFoundError(f"no ingested ticket {source_id!r} in the index")
        hits = self._store.get(source.ids) or self._store.get(self._store.ids_of_source(source_id))
        public = sorted((h for h in hits if h.metadata.get("audience") != "internal"),
                        key=lambda h: int(h.metadata.get("chunk_index", 0)))
        parts = _sections(public)
        if not parts:
            raise InvalidInputError(f"ticket {source_id} has no customer-visible text in the index")
        number = source_id.removeprefix("ticket-")
        return _Ticket(f"index:{source_id}", source.title, source.updated_at, parts, number=number)


def _sections(hits: list[SearchHit]) -> list[str]:
    """The text of a ticket's chunks (in order), one part per section, without headers and chunk overlap."""
    parts: list[str] = []
    section, lines, previous = None, list[str](), list[str]()
    for hit in hits:
        body = hit.text.split("\n\n", 1)[1] if "\n\n" in hit.text else hit.text
        current = [line for line in body.split("\n") if line.strip()]
        heading = str(hit.metadata.get("section") or "")
        if heading != section:
            if lines:
                parts.append("\n".join(lines))
            section, lines, previous = heading, [f"{heading}:"] if heading else [], []
        overlap = next((n for n in range(min(len(previous), len(current)), 0, -1)
                        if previous[-n:] == current[:n]), 0)
        lines += current[overlap:]
        previous = current
    if lines:
        parts.append("\n".join(lines))
    return parts


def _review_notes(article: ArticleText, number: str) -> list[str]:
    """What the editor must look at before publishing."""
    notes = []
    left = sorted(set(_PLACEHOLDER_RE.findall(article.title + "\n" + article.body)))
    if left:
        notes.append(f"the draft contains redaction placeholders ({', '.join(left)}): rewrite those sentences")
    if number and re.search(rf"(?i:#|\bticket[\s#:-]*(?:no\.?\s*)?){re.escape(number)}(?![\w-])", article.body):
        notes.append(f"the draft mentions the ticket number {number}: remove it")
    return notes


def _unwrap_fence(text: str) -> str:
    """The article without the code fence a model may wrap it in (code blocks inside it are kept)."""
    lines = text.split("\n")
    fence = next((i for i, line in enumerate(lines) if line.strip().startswith("```")), None)
    heading = next((i for i, line in enumerate(lines) if _H1_RE.fullmatch(line)), None)
    if fence is None or (heading is not None and heading < fence):
        return text
    del lines[fence]
    if lines and lines[-1].strip() == "```":
        lines.pop()
    return "\n".join(lines).strip()


def _first_heading(body: str) -> str:
    match = _H1_RE.search(body)
    return match.group(1) if match else ""


def _safe_slug(slug: str) -> str:
    """A given slug, sanitised; refuses anything that is a path rather than a name."""
    raw = slug.strip()
    if not raw or "/" in raw or "\\" in raw or ".." in raw or ":" in raw or raw.startswith(("~", ".")):
        raise InvalidInputError(f"slug {slug!r} is not a file name (letters, digits and hyphens)")
    name = slugify(re.sub(r"\.(?:md|markdown)$", "", raw, flags=re.IGNORECASE))
    if not name:
        raise InvalidInputError(f"slug {slug!r} has no letters or digits")
    return name


def _atomic_write(target: Path, data: bytes, overwrite: bool) -> None:
    """Write via a hidden temp file in the same folder (ingestion skips hidden files), then rename; without
    overwrite the final step is a hard link, which fails if the file appeared meanwhile."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".tmp", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        if overwrite:
            os.replace(tmp, target)
            return
        try:
            os.link(tmp, target)
        except FileExistsError as exc:
            raise ConflictError(f"{target.name} already exists; save with overwrite to replace it") from exc
        except OSError:  # no hard links on this file system
            if target.exists():
                raise ConflictError(f"{target.name} already exists; save with overwrite to replace it") from None
            os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _display_path(path: Path) -> str:
    try:
        return path.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()
