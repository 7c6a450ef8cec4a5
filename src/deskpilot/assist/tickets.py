"""Agent-side services on a ticket: draft reply, summary, suggested articles, classification."""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from deskpilot.assist.answer import Assistant, Citation, Composed, format_sources
from deskpilot.assist.citations import CitationChecker
from deskpilot.assist.language import is_handoff_text, language_name
from deskpilot.assist.prompts import PromptLibrary
from deskpilot.assist.signals import detect_injection, detect_sensitive, negativity
from deskpilot.config import AssistantSettings, RoutingSettings
from deskpilot.domain import TICKET_RESOLUTION
from deskpilot.errors import InvalidInputError, LLMError, NotFoundError
from deskpilot.index.store import ChunkStore
from deskpilot.ingest.tickets import parse_ticket
from deskpilot.providers.llm import LLMClient
from deskpilot.retrieval.search import HybridRetriever, RetrievedChunk
from deskpilot.text.language import detect_language
from deskpilot.text.links import LINK_RE, links
from deskpilot.text.thread import TURN_RE, thread_text

logger = logging.getLogger(__name__)
MAX_TICKET_CHARS = 200_000
MAX_DRAFT_PARTS = 3  # sections in one draft reply, at most (one per thing the ticket asks)
MAX_SUMMARY_PARTS = 8  # model calls for the parts of one long ticket, at most
NOTE_SHARE = 0.85  # a note for the agent scores at least this share of the best one
# What a summary may only repeat, never make up: links, e-mail addresses and numbers (amounts, dates, seats,
# order and error numbers). A number counts as its digits, so "$1,200" matches "1200" and "12/05" "12.05".
_DIGITS_RE = re.compile(r"\d+(?:[.,:/-]\d+)*")
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])\s+")
_ASK_SPLIT_RE = re.compile(r"(?<=[.!?])\s+|\n+")
SUMMARY_TOKENS = 500  # the most a summary's JSON may take
NEXT_ACTION_SENTENCES = 3  # the most sentences of advice a summary keeps
CHECKED_FIELDS = ("problem", "tried", "status")  # facts of the ticket; next_action is the model's suggestion


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

    def customer_messages(self) -> list[str]:
        """What the customer wrote, message by message (the whole text when it has no turn labels)."""
        parts = TURN_RE.split(self.text)
        if len(parts) == 1:
            return [self.text.strip()] if self.text.strip() else []
        messages = [parts[i + 1].strip() for i in range(1, len(parts) - 1, 2) if parts[i] == "Customer"]
        return [m for m in messages if m]

    def questions(self, limit: int = 800) -> list[str]:
        """What the customer asks, to search and compose with: the subject with the first message, and the
        latest message when it is another one."""
        messages = self.customer_messages()
        if not messages:
            return [self.subject] if self.subject else []
        first = (f"{self.subject}. " if self.subject and self.subject not in messages[0] else "") + messages[0]
        out = [first[:limit]]
        if len(messages) > 1 and messages[-1] != messages[0]:
            out.append(messages[-1][:limit])
        return out

    def asks(self, most: int = 5) -> list[str]:
        """The subject and the questions the customer asks, each alone (sentences that end with a question mark,
        of the first and the latest message; at least four words, no link): a long message's story weighs on how
        it matches a help section, while each question names what is asked ("Is there a limit to how long the app
        can stay offline?")."""
        messages = self.customer_messages()
        asked = [s.strip(" \t\"'¿¡") for m in dict.fromkeys([*messages[:1], *messages[-1:]])
                 for s in _ASK_SPLIT_RE.split(m) if s.rstrip().endswith("?")]
        asked = [a for a in [self.subject, *asked] if len(a.split()) >= 4 and not LINK_RE.search(a)]
        return list(dict.fromkeys(asked))[:most]


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
            comments = [(c.author_role, c.body) for c in ticket.comments if c.public]
            return TicketText(thread_text(ticket.subject, ticket.description, comments), f"ticket-{ticket.id}",
                              ticket.subject)
        return TicketText(raw)
    return TicketText(ref)


@dataclass
class AgentNote:
    """Something for the agent only, never part of the reply: a similar solved ticket, an internal runbook."""

    kind: Literal["solved_ticket", "internal"]
    source_id: str
    title: str
    text: str
    url: str = ""

    def as_json(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self)


@dataclass
class Draft:
    """A drafted reply: nothing is sent."""

    reply: str
    citations: list[Citation]
    next_steps: list[str]
    language: str
    warnings: list[str] = field(default_factory=list)
    notes: list[AgentNote] = field(default_factory=list)
    grounded: bool = False  # the reply's content is a help-centre section's own text

    def as_json(self) -> dict[str, Any]:
        """JSON form for `deskpilot draft --json` and the API."""
        return {"reply": self.reply, "citations": [{**c.as_json(), "audience": c.audience} for c in self.citations],
                "next_steps": self.next_steps, "language": self.language, "warnings": self.warnings,
                "notes": [n.as_json() for n in self.notes], "grounded": self.grounded}


class SummaryFields(BaseModel):
    """What the model writes for a ticket summary (its reply is held to this model's schema and parsed into it)."""

    problem: str
    tried: str
    status: str
    next_action: str
    sentiment: Literal["positive", "neutral", "negative", "angry"]


class Summary(SummaryFields):
    """A ticket summary, checked against the ticket (`verify_summary`)."""

    # Sentences the model wrote that the ticket does not back: removed from the fields above and shown to the
    # agent apart.
    unverified: list[str] = Field(default_factory=list)


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
                 settings: AssistantSettings, assistant: Assistant, routing: RoutingSettings) -> None:
        self._retriever = retriever
        self._store = store
        self._llm = llm
        self._checker = checker
        self._prompts = prompts
        self._count = count_tokens
        self._settings = settings
        self._assistant = assistant
        self._routing = routing

    def load(self, ref: str) -> TicketText:
        """Resolve a ticket reference (see `load_ticket`)."""
        return load_ticket(ref, self._store)

    def _context(self, ticket: TicketText, k: int = 6) -> list[RetrievedChunk]:
        chunks = self._retriever.search(ticket.query, role="agent", k=k + 2).chunks
        return [c for c in chunks if c.source_id != ticket.ticket_id][:k]

    def draft(self, ticket: TicketText) -> Draft:
        """A reply draft in the ticket's language, by the rules answers follow: its content is the help centre's
        own text for what the customer asks (public articles only, verified, translated faithfully), in the
        agent's voice; when no section answers, it asks the customer for the details needed and says so to the
        agent. Similar solved tickets and internal runbooks are notes for the agent, never part of the reply.

        Raises:
            LLMError: the model failed (translation, or the generated draft of `assistant.compose=generate`).
        """
        messages = ticket.customer_messages()
        language = detect_language("\n".join(messages) or ticket.text)
        warnings: list[str] = []
        if any(detect_injection(m) for m in [*messages, ticket.subject]):
            warnings.append("the ticket contains text written like instructions to an assistant: it was treated "
                            "as the customer's words only; check what the customer really asks")
        notes = self._notes(ticket)
        if self._settings.compose == "generate":
            draft = self._generated(ticket, language, warnings)
        else:
            draft = self._composed(ticket, language, warnings)
        draft.notes = notes
        draft.next_steps = self._next_steps(ticket, draft, notes)
        return draft

    def _composed(self, ticket: TicketText, language: str, warnings: list[str]) -> Draft:
        composed, relevant = self._assistant.compose_reply(ticket.questions(), language)
        phrases = self._prompts.phrases("draft_phrases")
        greeting, closing = phrases.get("greeting", language), phrases.get("closing", language)
        fits = composed.composition is not None and composed.fit >= self._routing.min_fit
        parts = self._parts(ticket, language, composed if fits and composed.text else None, warnings)
        if parts:
            citations: list[Citation] = []
            body = []
            for part in parts:
                assert part.citation is not None
                number = next((c.number for c in citations if c.source_id == part.citation.source_id), None)
                if number is None:
                    number = len(citations) + 1
                    citations.append(dataclasses.replace(part.citation, number=number))
                body.append(f"{part.text} [{number}]")
            more = [f"{c.title}" + (f" ({c.url})" if c.url.startswith(("https://", "http://")) else "")
                    for c in citations]
            reply = "\n\n".join([greeting, phrases.get("intro", language), *body,
                                  f"{phrases.get('more', language)} {'; '.join(more)}", closing])
            return Draft(reply, citations, [], language, warnings, grounded=True)
        if fits and not composed.text:
            warnings.append(f"the help centre's answer could not be translated faithfully into {language_name(language)}")
        best = composed.composition.candidates[0][0] if composed.composition and composed.composition.candidates else \
            (relevant[0].title if relevant else "")
        warnings.insert(0, "no help-centre section answers this ticket well enough"
                        + (f" (the nearest: {best})" if best else "")
                        + ": the draft asks the customer for details; write the answer yourself if you know it")
        signature = closing.rsplit("\n\n", 1)[-1]  # "Best regards," without "if this doesn't solve it"
        reply = "\n\n".join([greeting, phrases.get("ask_details", language), phrases.get("follow_up", language),
                              signature])
        links = [Citation.of(n, c) for n, c in enumerate(
            {c.source_id: c for c in relevant if c.metadata.get("kind") == "article"}.values(), 1)][:3]
        return Draft(reply, links, [], language, warnings, grounded=False)

    def _parts(self, ticket: TicketText, language: str, first: Composed | None,
               warnings: list[str]) -> list[Composed]:
        """What the help centre says to each thing the ticket asks: the whole message's answer (`first`), then the
        answer to the subject and to each question asked alone, when it fits and says something the draft does not
        say yet; at most MAX_DRAFT_PARTS sections. A ticket often asks two things ("Can she fix the submitted
        week? … who gets the reminder?"), and one section answers one of them.

        Every part after the first comes from a page the draft already cites: a ticket's further questions are
        about its topic, and on the draft suites the further parts found on another page were nearly all beside it
        (Okta setup steps for "is there a Microsoft Teams app?", SSO enforcement for "the cheapest plan with SSO").
        A page's translations count as the page. Such a page is named to the agent in `warnings` instead."""
        parts = [first] if first is not None else []
        for ask in ticket.asks():
            if len(parts) >= MAX_DRAFT_PARTS:
                break
            try:
                other, _ = self._assistant.compose_reply([ask], language)
            except LLMError as exc:  # the model died while translating: the parts found so far still make a draft
                warnings.append(f"the ticket's further questions were not looked up (the language model failed: {exc})")
                break
            if other.composition is None or other.fit < self._routing.min_fit or not other.text \
                    or other.citation is None:
                continue
            if parts and _page(other) not in {_page(part) for part in parts}:
                warnings.append(f"the ticket also asks \"{ask}\": \"{other.citation.title}\" may answer it (another "
                                "page, not put in the reply)")
                continue
            if any(set(other.lines) & set(part.lines) for part in parts):
                continue  # the same lines, or some of them: said already
            parts.append(other)
        return parts

    def _generated(self, ticket: TicketText, language: str, warnings: list[str]) -> Draft:
        """The model's draft (`assistant.compose=generate`), each sentence checked against the sources; a
        sentence backed only by an internal source is dropped and named to the agent."""
        chunks = self._context(ticket)
        prompt = self._prompts.get("draft_reply")
        budget = self._settings.context_budget
        system, user = prompt.render(company=self._settings.company, language=language_name(language),
                                     sources=format_sources(chunks, self._count, budget // 2, [ticket.query]),
                                     ticket=self._fit(ticket.text, budget // 2))
        raw = self._llm().complete(system, user, max_tokens=350)
        body = re.split(r"(?i)\n?\s*\**next steps\**\s*:?", raw, maxsplit=1)[0].strip()
        self._retriever.attach_vectors(chunks)
        check = self._checker.check(body, chunks)
        citations: list[Citation] = []
        numbers: dict[int, int] = {}
        kept: list[str] = []
        for claim in check.kept:
            assert claim.supported_by is not None
            chunk = chunks[claim.supported_by - 1]
            if chunk.metadata.get("audience") != "public" and chunk.metadata.get("kind") != "ticket":
                warnings.append(f"dropped, it comes from an internal source ({chunk.title}): {claim.text}")
                continue
            if claim.supported_by not in numbers:
                numbers[claim.supported_by] = len(citations) + 1
                citations.append(Citation.of(len(citations) + 1, chunk))
            kept.append(f"{claim.text} [{numbers[claim.supported_by]}]")
        warnings += [f"not supported by the sources, check before sending: {c.text}" for c in check.removed]
        if not kept:
            warnings.insert(0, "the draft states nothing the sources support (the model may have refused or "
                               "guessed): write this reply yourself from the suggested articles")
        return Draft(" ".join(kept), citations, [], language, warnings, grounded=bool(kept))

    def _notes(self, ticket: TicketText, limit: int = 3) -> list[AgentNote]:
        """How similar solved tickets were resolved, and the internal runbooks that apply: for the agent."""
        query = "\n".join(ticket.questions()) or ticket.query
        chunks = [c for c in self._retriever.search(query, role="agent", k=10).chunks
                  if c.source_id != ticket.ticket_id and c.dense >= self._routing.min_relevance
                  and (c.metadata.get("kind") == "ticket" or c.metadata.get("audience") != "public")]
        # Only what ranks nearly as high as the closest one: a note about another problem costs the agent time.
        best = max((c.score for c in chunks), default=0.0)
        chunks = [c for c in chunks if c.score >= NOTE_SHARE * best]
        notes: list[AgentNote] = []
        seen: set[str] = set()
        for chunk in chunks:
            if chunk.source_id in seen or len(notes) >= limit:
                continue
            if chunk.metadata.get("kind") == "ticket":
                text = self._resolution(chunk.source_id)
                if not text:
                    continue
                notes.append(AgentNote("solved_ticket", chunk.source_id, chunk.title, text))
            elif chunk.metadata.get("audience") != "public":
                notes.append(AgentNote("internal", chunk.source_id, chunk.title, chunk.snippet(400), chunk.url))
            else:
                continue
            seen.add(chunk.source_id)
        return notes

    def _resolution(self, source_id: str) -> str:
        """How a solved ticket was resolved (its Resolution section), or "" when it has none."""
        hits = self._store.get(self._store.ids_of_source(source_id))  # the text only: no vectors needed here
        hits.sort(key=lambda h: int(h.metadata.get("chunk_index", 0)))
        for hit in hits:
            body = hit.text.split("\n\n", 1)[-1]
            if hit.metadata.get("section") != TICKET_RESOLUTION:
                parts = re.split(rf"(?m)^{TICKET_RESOLUTION}:\s*$", body, maxsplit=1)
                if len(parts) < 2:
                    continue
                body = parts[1]
            return " ".join(body.split())[:400]
        return ""

    @staticmethod
    def _next_steps(ticket: TicketText, draft: Draft, notes: list[AgentNote]) -> list[str]:
        steps: list[str] = []
        topics = detect_sensitive("\n".join(ticket.customer_messages()))
        runbooks = [n for n in notes if n.kind == "internal"]
        if topics:
            steps.append(f"The customer raises {', '.join(t.replace('_', ' ') for t in topics)}: "
                         + (f"follow the runbook \u201c{runbooks[0].title}\u201d" if runbooks else "follow your policy")
                         + " and promise nothing the help centre does not state")
        if not draft.grounded:
            steps.append("Answer the customer's question yourself, or send the draft to ask for details")
        else:
            steps.append("Check that the help-centre text fits the customer's plan and situation before sending")
        solved = [n for n in notes if n.kind == "solved_ticket"]
        if solved:
            steps.append(f"See how {solved[0].source_id} (\u201c{solved[0].title}\u201d) was resolved")
        return steps[:3]

    def summarize(self, ticket: TicketText) -> Summary:
        """Problem, what was tried, status, next action and sentiment; long threads are map-reduced.

        Raises:
            LLMOutputError: the model's summary could not be parsed.
        """
        # The assistant's own hand-off sentence is not something the customer tried.
        text = "\n".join(line for line in ticket.text.splitlines()
                         if not is_handoff_text(line.split(":", 1)[-1]) or len(line.split(":", 1)[0]) > 20)
        budget = self._settings.context_budget
        if self._count(text) > budget:
            parts = self._split(text, budget)
            if len(parts) > MAX_SUMMARY_PARTS:
                # A huge ticket costs at most MAX_SUMMARY_PARTS model calls: its start and its latest messages.
                half = MAX_SUMMARY_PARTS // 2
                parts = [*parts[:half], *parts[-half:]]
            notes = []
            prompt = self._prompts.get("summarize_part")
            for index, part in enumerate(parts, 1):
                system, user = prompt.render(part=part, index=index, total=len(parts))
                notes.append(self._llm().complete(system, user, max_tokens=200))
            text = "\n".join(f"Notes on part {i}:\n{n}" for i, n in enumerate(notes, 1))
            text = self._fit(text, budget)
        language = self._settings.agent_language
        system, user = self._prompts.get("summarize").render(ticket=text, language=language_name(language))
        # 300 tokens cut a French ticket's summary inside a string (1,290 characters of JSON, no closing brace):
        # the agent got an error instead of a summary. The schema keeps the reply to five fields.
        fields = self._llm().complete_model(system, user, SummaryFields, "the summary", max_tokens=SUMMARY_TOKENS)
        return self._in_language(verify_summary(Summary(**fields.model_dump()), ticket.text), language)

    def _in_language(self, summary: Summary, language: str) -> Summary:
        """The summary with every field the model left in the ticket's language translated into the agent's (a
        1.5B model asked for English often answers a French ticket in French, in the customer's voice). A
        translation that does not pass the answers' check (same numbers and links, the language asked for, nothing
        left in another language) is not used: the field stays as the model wrote it.

        Raises:
            LLMError: the model failed.
        """
        update: dict[str, str] = {}
        for name in (*CHECKED_FIELDS, "next_action"):
            value = getattr(summary, name)
            if value and detect_language(value, language) != language:
                translated = self._assistant.translate_verified([value], language)
                if translated:
                    update[name] = translated
        return summary.model_copy(update=update) if update else summary

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


def _page(part: Composed) -> str:
    """The page a composed part comes from: its translation group (a page and its translations are one page), else
    its source id."""
    assert part.composition is not None
    chunk = part.composition.section.chunk
    return str(chunk.metadata.get("translation") or "") or chunk.source_id


def _digits(text: str) -> set[str]:
    return {re.sub(r"\D", "", n) for n in _DIGITS_RE.findall(text)}


def _sentences(text: str, most: int | None = None) -> str:
    """The text's distinct sentences (the first `most` of them)."""
    kept: dict[str, str] = {}
    for sentence in _SENTENCE_END_RE.split(text.strip()):
        kept.setdefault(" ".join(sentence.lower().split()), sentence)
    return " ".join(list(kept.values())[:most])


def verify_summary(summary: Summary, ticket: str) -> Summary:
    """The summary with every sentence of its problem, tried and status that states a link, an e-mail address
    or a number the ticket does not hold removed and listed in `unverified`: a summary follows the answers'
    rule (say only what the source says) where a small model most often breaks it, made-up amounts, dates,
    counts and addresses. A field left empty says so. next_action is advice to the agent, not a fact.

    Every field says each sentence once, and next_action keeps at most NEXT_ACTION_SENTENCES: a small model can
    loop ("If he is a full Member, the agent should check … If he is not a full Member, the agent should contact …"
    for 40 lines)."""
    ticket_links = {link.lower() for link in links(ticket)}
    numbers = _digits(LINK_RE.sub(" ", ticket))
    fields: dict[str, str] = {"next_action": _sentences(summary.next_action, NEXT_ACTION_SENTENCES)}
    unverified = list(summary.unverified)
    for name in CHECKED_FIELDS:
        kept = []
        for sentence in _SENTENCE_END_RE.split(_sentences(getattr(summary, name))):
            stated_links = {link.lower() for link in links(sentence)}
            stated_numbers = _digits(LINK_RE.sub(" ", sentence))
            if stated_links - ticket_links or stated_numbers - numbers:
                unverified.append(sentence)
            elif sentence:
                kept.append(sentence)
        fields[name] = " ".join(kept) or "Not stated in the ticket."
    return summary.model_copy(update={**fields, "unverified": unverified})
