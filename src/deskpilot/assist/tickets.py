"""Agent-side services on a ticket: draft reply, summary, suggested articles, classification."""

from __future__ import annotations

import json
import logging
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from deskpilot.assist.answer import Citation, format_sources
from deskpilot.assist.citations import CitationChecker
from deskpilot.assist.language import language_name
from deskpilot.assist.prompts import PromptLibrary
from deskpilot.assist.signals import detect_sensitive, negativity
from deskpilot.config import AssistantSettings
from deskpilot.errors import InvalidInputError, NotFoundError
from deskpilot.ingest.tickets import parse_ticket
from deskpilot.providers.llm import LLMClient
from deskpilot.retrieval.search import HybridRetriever, RetrievedChunk
from deskpilot.retrieval.store import ChunkStore
from deskpilot.text.language import detect_language

logger = logging.getLogger(__name__)
MAX_TICKET_CHARS = 200_000


@dataclass
class TicketText:
    """A ticket as text, wherever it came from."""

    text: str
    ticket_id: str = ""
    subject: str = ""

    @property
    def query(self) -> str:
        """What to search with: subject and the start of the thread."""
        return (self.subject + "\n" + self.text)[:1500]


def load_ticket(ref: str, store: ChunkStore) -> TicketText:
    """Resolve a ticket reference: an ingested ticket id (``ticket-1042`` or ``1042``), a JSON file, or text.

    Raises:
        NotFoundError: it looks like a ticket id but no such ticket is indexed.
        InvalidInputError: empty or oversized text.
    """
    ref = ref.strip()
    if not ref:
        raise InvalidInputError("the ticket is empty")
    if len(ref) > MAX_TICKET_CHARS:
        raise InvalidInputError(f"the ticket is too long ({len(ref)} characters; the limit is {MAX_TICKET_CHARS})")
    if re.fullmatch(r"(ticket-)?[A-Za-z0-9._-]{1,64}", ref) and (ref.startswith("ticket-") or ref.isdigit()):
        source_id = ref if ref.startswith("ticket-") else f"ticket-{ref}"
        hits = store.get(store.ids_of_source(source_id))
        if not hits:
            raise NotFoundError(f"no ticket {source_id} in the index (ingest the ticket export first)")
        hits.sort(key=lambda h: int(h.metadata.get("chunk_index", 0)))
        body = "\n".join(h.text.split("\n\n", 1)[-1] if i else h.text for i, h in enumerate(hits))
        return TicketText(body, source_id, str(hits[0].metadata.get("title", "")))
    path = Path(ref)
    if len(ref) < 1024 and path.suffix.lower() in (".json", ".txt", ".md", ".eml") and path.is_file():
        raw = path.read_text(encoding="utf-8", errors="replace")
        if path.suffix.lower() == ".json":
            try:
                ticket = parse_ticket(json.loads(raw))
            except (ValueError, json.JSONDecodeError) as exc:
                raise InvalidInputError(f"{path}: not a ticket ({exc})") from exc
            thread = "\n".join(f"{'Agent' if c.author_role == 'agent' else 'Customer'}: {c.body}"
                               for c in ticket.comments if c.public)
            return TicketText(f"{ticket.subject}\n\nCustomer: {ticket.description}\n{thread}".strip(),
                              f"ticket-{ticket.id}", ticket.subject)
        return TicketText(raw)
    return TicketText(ref)


@dataclass
class Draft:
    """A drafted reply: nothing is sent."""

    reply: str
    citations: list[Citation]
    next_steps: list[str]
    language: str
    warnings: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """JSON form for `deskpilot draft --json` and the API."""
        return {"reply": self.reply, "citations": [c.as_json() for c in self.citations],
                "next_steps": self.next_steps, "language": self.language, "warnings": self.warnings}


class Summary(BaseModel):
    """A ticket summary (parsed from the model's JSON; a parse failure is an error)."""

    problem: str
    tried: str
    status: str
    next_action: str
    sentiment: Literal["positive", "neutral", "negative", "angry"]


SUMMARY_SCHEMA = {"type": "object", "properties": {
    "problem": {"type": "string"}, "tried": {"type": "string"}, "status": {"type": "string"},
    "next_action": {"type": "string"},
    "sentiment": {"type": "string", "enum": ["positive", "neutral", "negative", "angry"]}},
    "required": ["problem", "tried", "status", "next_action", "sentiment"]}


@dataclass
class Suggestion:
    """A suggested article with its relevance score."""

    source_id: str
    title: str
    url: str
    score: float
    snippet: str


@dataclass
class Classification:
    """Category, priority and mood of a new ticket, with the similar solved tickets it was inferred from."""

    category: str
    priority: str
    sentiment: str
    urgency: str
    confidence: float
    similar: list[str]

    def as_json(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self)


_URGENT_RE = re.compile(r"\b(urgent|asap|immediately|right now|down|outage|can't (log ?in|access|work)|cannot (log ?in|access)|"
                        r"blocked|production|deadline|today|urgente|dringend|sofort|bloqu[eé]|imm[eé]diatement)\b", re.I)


class TicketServices:
    """Draft, summarise, suggest and classify, grounded in the index."""

    def __init__(self, retriever: HybridRetriever, store: ChunkStore, llm: Callable[[], LLMClient],
                 checker: CitationChecker, prompts: PromptLibrary, count_tokens: Callable[[str], int],
                 settings: AssistantSettings) -> None:
        self._retriever = retriever
        self._store = store
        self._llm = llm
        self._checker = checker
        self._prompts = prompts
        self._count = count_tokens
        self._settings = settings

    def load(self, ref: str) -> TicketText:
        """Resolve a ticket reference (see `load_ticket`)."""
        return load_ticket(ref, self._store)

    def _context(self, ticket: TicketText, k: int = 6) -> list[RetrievedChunk]:
        chunks = self._retriever.search(ticket.query, role="agent", k=k + 2).chunks
        return [c for c in chunks if c.source_id != ticket.ticket_id][:k]

    def draft(self, ticket: TicketText) -> Draft:
        """A reply draft in the ticket's language, citing KB articles and similar solved tickets."""
        language = detect_language(ticket.text)
        chunks = self._context(ticket)
        prompt = self._prompts.get("draft_reply")
        budget = self._settings.context_budget
        system, user = prompt.render(company=self._settings.company, language=language_name(language),
                                     sources=format_sources(chunks, self._count, budget // 2, [ticket.query]),
                                     ticket=self._fit(ticket.text, budget // 2))
        raw = self._llm().complete(system, user, max_tokens=350)
        parts = re.split(r"(?i)\n?\s*\**next steps\**\s*:?", raw, maxsplit=1)
        body = parts[0].strip()
        steps_text = parts[1] if len(parts) > 1 else ""
        steps = [re.sub(r"^\s*(?:[-*•]|\d+[.)])\s*", "", s).strip() for s in steps_text.splitlines() if s.strip()]
        self._retriever.attach_vectors(chunks)
        check = self._checker.check(body, chunks)
        citations: list[Citation] = []
        numbers: dict[int, int] = {}
        for claim in check.kept:
            if claim.supported_by is not None and claim.supported_by not in numbers:
                chunk = chunks[claim.supported_by - 1]
                numbers[claim.supported_by] = len(citations) + 1
                citations.append(Citation(len(citations) + 1, chunk.source_id, chunk.title, chunk.url, chunk.snippet()))
        reply = body
        for old, new in sorted(numbers.items(), reverse=True):
            reply = reply.replace(f"[{old}]", f"[#{new}]")
        reply = re.sub(r"\[(\d+)\]", "", reply).replace("[#", "[")
        warnings = [f"not supported by the sources, check before sending: {c.text}" for c in check.removed]
        if not check.kept:
            warnings.insert(0, "the draft states nothing the sources support (the model may have refused or "
                               "guessed): write this reply yourself from the suggested articles")
        return Draft(reply.strip(), citations, steps[:3], language, warnings)

    def summarize(self, ticket: TicketText) -> Summary:
        """Problem, what was tried, status, next action and sentiment; long threads are map-reduced.

        Raises:
            LLMOutputError: the model's summary could not be parsed.
        """
        text = ticket.text
        budget = self._settings.context_budget
        if self._count(text) > budget:
            parts = self._split(text, budget)
            notes = []
            prompt = self._prompts.get("summarize_part")
            for index, part in enumerate(parts, 1):
                system, user = prompt.render(part=part, index=index, total=len(parts))
                notes.append(self._llm().complete(system, user, max_tokens=200))
            text = "\n".join(f"Notes on part {i}:\n{n}" for i, n in enumerate(notes, 1))
            text = self._fit(text, budget)
        system, user = self._prompts.get("summarize").render(ticket=text)
        return self._llm().complete_model(system, user, Summary, SUMMARY_SCHEMA, "the summary", max_tokens=300)

    def suggest(self, text: str, k: int = 3) -> list[Suggestion]:
        """The k most relevant articles (distinct sources) for a ticket or text."""
        chunks = self._retriever.search(text[:2000], role="agent", k=k * 3, kind="article").chunks
        seen: dict[str, Suggestion] = {}
        for chunk in chunks:
            if chunk.source_id not in seen:
                seen[chunk.source_id] = Suggestion(chunk.source_id, chunk.title, chunk.url, round(chunk.score, 4),
                                                   chunk.snippet())
        return list(seen.values())[:k]

    def classify(self, text: str) -> Classification:
        """Category and priority by a weighted vote of similar solved tickets; sentiment and urgency from the text."""
        chunks = self._retriever.search(text[:2000], role="agent", k=10, kind="ticket").chunks
        votes: dict[str, float] = defaultdict(float)
        priorities: Counter[str] = Counter()
        similar: list[str] = []
        for chunk in chunks:
            category = str(chunk.metadata.get("category") or "").lower()
            votes[category if category in self._settings.categories else "other"] += chunk.score
            if chunk.metadata.get("priority"):
                priorities[str(chunk.metadata["priority"])] += 1
            if chunk.source_id not in similar:
                similar.append(chunk.source_id)
        total = sum(votes.values())
        category, weight = max(votes.items(), key=lambda kv: kv[1]) if votes else ("other", 0.0)
        mood = negativity(text)
        sentiment = "angry" if mood >= 0.6 else "negative" if mood > 0 else "neutral"
        urgent = bool(_URGENT_RE.search(text)) or bool(detect_sensitive(text))
        priority = "urgent" if urgent and mood >= 0.3 else "high" if urgent else (
            priorities.most_common(1)[0][0] if priorities else "normal")
        return Classification(category, priority, sentiment, "high" if urgent else "normal",
                              round(weight / total, 3) if total else 0.0, similar[:5])

    def _fit(self, text: str, budget: int) -> str:
        while self._count(text) > budget and len(text) > 200:
            text = text[: int(len(text) * 0.85)]
        return text

    def _split(self, text: str, budget: int) -> list[str]:
        parts: list[str] = []
        current: list[str] = []
        for line in text.splitlines():
            candidate = "\n".join([*current, line])
            if current and self._count(candidate) > budget:
                parts.append("\n".join(current))
                current = []
            current.append(self._fit(line, budget))
        if current:
            parts.append("\n".join(current))
        return parts

