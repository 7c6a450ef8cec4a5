"""Answer a customer: rewrite, retrieve, generate with citations, check every claim, route.

Grounding is enforced here, not trusted to the model: unsupported sentences are removed, links not
present in the sources are dropped, and anything doubtful becomes an honest hand-off.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from deskpilot.assist.citations import CheckResult, CitationChecker
from deskpilot.assist.compose import Composer, Composition, Section, Unit, answers_the_way, next_section
from deskpilot.assist.escalation import HUMAN, NEGATIVE, SENSITIVE, EscalationDetector, Trigger
from deskpilot.assist.language import handoff_message, language_name, question_language, see_also
from deskpilot.assist.prompts import PromptLibrary
from deskpilot.assist.routing import Decision, Signals, in_doubt, route
from deskpilot.assist.signals import detect_injection, read_signals
from deskpilot.config import AssistantSettings, RetrievalSettings, RoutingSettings
from deskpilot.domain import AGENT_PREFIXES, CUSTOMER_PREFIX, TICKET_NOTES, TICKET_RESOLUTION
from deskpilot.errors import DeskpilotError, InvalidInputError, LLMError
from deskpilot.providers.llm import LLMClient
from deskpilot.retrieval.search import HybridRetriever, RetrievedChunk
from deskpilot.text.language import detect_language, foreign_fragments, untranslated_words
from deskpilot.text.words import tokenize

logger = logging.getLogger(__name__)

NOT_FOUND = "NOT_FOUND"


@dataclass
class Citation:
    """A source shown with an answer; `number` is the [n] marker used in the text."""

    number: int
    source_id: str
    title: str
    url: str
    snippet: str
    audience: str = "public"  # "internal": for staff only, never shown to a customer

    def as_json(self) -> dict[str, Any]:
        """The citation object of the `--json` contract."""
        return {"source_id": self.source_id, "title": self.title, "url": self.url, "snippet": self.snippet}

    @classmethod
    def of(cls, number: int, chunk: RetrievedChunk) -> Citation:
        """The citation of a retrieved chunk, with its audience."""
        return cls(number, chunk.source_id, chunk.title, chunk.url, chunk.snippet(),
                   str(chunk.metadata.get("audience") or "public"))


@dataclass
class Answer:
    """What the assistant returns for one question."""

    answer: str
    citations: list[Citation]
    confidence: float
    decision: str
    reasons: list[str]
    language: str
    query: str = ""
    standalone: str = ""  # the question rewritten to stand alone (the question itself on a first turn)
    translation: str = ""  # the standalone question in the KB's language, when it was translated for search
    retrieved: list[RetrievedChunk] = field(default_factory=list)
    removed_claims: list[str] = field(default_factory=list)
    prompt: str = ""
    model: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    signals: Signals | None = None
    draft: str = ""  # the checked answer text, also when the conversation was handed to a human
    triggers: list[Trigger] = field(default_factory=list)  # why a human is needed, with the sentence that showed it

    def as_json(self) -> dict[str, Any]:
        """The `deskpilot ask --json` object."""
        return {"answer": self.answer, "citations": [c.as_json() for c in self.citations],
                "confidence": self.confidence, "decision": self.decision, "reasons": self.reasons,
                "language": self.language}


@dataclass
class Composed:
    """An answer composed from one section and verified, before any routing decision."""

    composition: Composition | None  # None: no section fits
    lines: list[str]  # the verified source lines
    text: str  # the lines in the asker's language ("" when no faithful translation was found)
    support: float
    coverage: float  # share of the chosen lines that were verified
    source_language: str
    citation: Citation | None
    compose_ms: float

    @property
    def fit(self) -> float:
        """How well the chosen section answers the question (0 when none does)."""
        return self.composition.score if self.composition is not None else 0.0


# A tip, note or warning line of a help page (en, fr, de, es): an aside to the answer.
_ASIDE_RE = re.compile(r"^\s*(?:tip|note|hint|warning|caution|important|astuce|remarque|conseil|attention|hinweis|tipp|"
                       r"achtung|warnung|consejo|nota|sugerencia|advertencia|importante)\s*:", re.IGNORECASE)
_UNIT_RE = re.compile(r"(?<=[.!?])\s+|\n+")


def compress(body: str, queries: Sequence[str], budget: int, count_tokens: Callable[[str], int]) -> str:
    """The sentences (and list items) of a chunk that share the most words with the question, in their
    original order, within a token budget: less for a small model to read, and less to get wrong."""
    units = [u.strip() for u in _UNIT_RE.split(body) if u.strip()]
    if count_tokens(body) <= budget or len(units) <= 1:
        return body.strip()
    terms = {t for q in queries for t in tokenize(q)}
    scored = sorted(range(len(units)), key=lambda i: (-len(terms & set(tokenize(units[i]))), i))
    chosen: list[int] = []
    used = 0
    for i in scored:
        size = count_tokens(units[i])
        if used + size > budget and chosen:
            continue
        chosen.append(i)
        used += size
        if used >= budget:
            break
    return "\n".join(units[i] for i in sorted(chosen))


def format_sources(chunks: Sequence[RetrievedChunk], count_tokens: Callable[[str], int], budget: int,
                   queries: Sequence[str] = ()) -> str:
    """The numbered sources block of a prompt within a token budget. With queries, each source is
    compressed to its sentences most related to them; without, later sources are shortened first."""
    blocks: list[str] = []
    used = 0
    share = max(40, budget // max(1, len(chunks)))
    for n, chunk in enumerate(chunks, 1):
        section = chunk.metadata.get("section") or ""
        header = f"[{n}] {chunk.title}" + (f" — {section}" if section else "")
        remaining = budget - used - count_tokens(header) - 4
        if remaining <= 20:
            break
        if queries:
            body = compress(chunk.body, queries, min(share, remaining), count_tokens)
        else:
            body = chunk.body.strip()
            while count_tokens(body) > remaining and len(body) > 80:
                body = body[: int(len(body) * 0.8)].rsplit(" ", 1)[0] + " …"
        blocks.append(f"{header}\n{body}")
        used += count_tokens(blocks[-1]) + 2
    return "\n\n".join(blocks)


_ITEM_MARK = re.compile(r"^(?:- |\d+\. )")  # a list item's dash or a step's number


def _outline(chunks: Sequence[RetrievedChunk]) -> list[tuple[str, str]]:
    """A page's headings in page order (its chunks in page order), each with the section its text is stored under
    (a small section's text is merged into the chunk before it, see ingest/chunking.py)."""
    outline: dict[str, str] = {}
    for chunk in chunks:
        stored = str(chunk.metadata.get("section") or "")
        for name in str(chunk.metadata.get("headings") or stored).split("\n"):
            outline.setdefault(name, stored)
    return list(outline.items())


def _heading_of(composition: Composition, names: Sequence[str]) -> str:
    """The heading the answer's anchor is under: its section's, or that of a small section merged into it (its
    heading is a "Heading:" line of the section, see ingest/chunking.py)."""
    heading = composition.section.heading
    for unit in composition.section.units[:composition.anchor + 1]:
        if unit.text.endswith(":") and unit.text[:-1] in names:
            heading = unit.text[:-1]
    return heading


def _solved_parts(section: Section) -> tuple[Section | None, Section | None]:
    """What of a solved ticket's section says how it was solved: its resolution, and what its agents wrote (their
    messages of the conversation, whole, and their internal notes). Small sections merged into it ("Resolution:" and
    what follows it) count as their own; the customer's report and messages are neither. None for a part it lacks."""
    resolution: list[Unit] = []
    agents: list[Unit] = []
    under, speaker = section.heading, ""
    for unit in section.units:  # in source order
        if unit.heading:
            under, speaker = unit.text.rstrip(": "), ""
            continue
        if unit.text.startswith(AGENT_PREFIXES) or unit.text.startswith(CUSTOMER_PREFIX):
            speaker = "agent" if unit.text.startswith(AGENT_PREFIXES) else "customer"
        if under == TICKET_RESOLUTION:
            resolution.append(unit)
        elif under == TICKET_NOTES or speaker == "agent":
            agents.append(unit)
    return (dataclasses.replace(section, units=resolution) if resolution else None,
            dataclasses.replace(section, units=agents) if agents else None)


def _is_source_text(line: str, source: str) -> bool:
    """The line (a list item without its dash or step number) appears word for word in the source."""
    return " ".join(_ITEM_MARK.sub("", line, count=1).split()) in " ".join(source.split())


AMBIGUOUS = 0.03  # sources this close for a question alone leave it to the conversation to say which is meant
# Words by which a question points back at the conversation (en, fr, de, es): such a question is a follow-up.
_REFERS_BACK = re.compile(
    r"\b(?:it|its|that|this|those|these|they|them|their|there|same|one|ones|else|instead|also|too|what about|how about|"
    r"and if|ça|cela|ceci|celui|celle|ceux|celles|aussi|et si|et pour|le même|la même|das|dies|diese|dieser|dieses|"
    r"dort|auch|dafür|damit|davon|und wenn|und was|eso|esto|ese|esa|ahí|allí|también|y si|y para)\b"
    r"|^\W*(?:and|but|or|so|then|et|mais|ou|puis|und|aber|oder|y|pero|o)\b", re.IGNORECASE)
_NUMBER_RE = re.compile(r"\d+(?:[.,:]\d+)*|https?://\S+")


def faithful_translation(source: str, translated: str, language: str) -> bool:
    """A translation keeps every number and link and every line (a step per line), is about as long as its source
    (a refusal or a fragment is not), is in the language asked for, and has nothing left in another language or
    script (no English function word, no common English word of the source copied as it is)."""
    if not translated.strip():
        return False
    if sorted(_NUMBER_RE.findall(source)) != sorted(_NUMBER_RE.findall(translated)):
        return False
    if len(source.strip().splitlines()) != len(translated.strip().splitlines()):
        return False
    if not 0.5 <= len(translated) / max(1, len(source)) <= 2.2:
        return False
    return (detect_language(translated, language) == language and not foreign_fragments(translated, language)
            and not untranslated_words(translated, source, language))


# A translated line that fails the checks twice (greedy, then told which English words it left) is sampled at these
# temperatures in turn; at most this many lines of an answer (each try is a model call).
RESAMPLE_TEMPERATURES = (0.5, 0.9)
RESAMPLED_LINES = 2
# A page that names itself in at least this share of its sentences is about a named thing (a business, a place), not
# a topic: a follow-up is compared with it without its names (Assistant._names_itself).
NAMED_PAGE_SHARE = 0.25


class Assistant:
    """The customer-facing answer service."""

    def __init__(self, retriever: HybridRetriever, llm: Callable[[], LLMClient], checker: CitationChecker,
                 prompts: PromptLibrary, count_tokens: Callable[[str], int], assistant: AssistantSettings,
                 routing: RoutingSettings, retrieval: RetrievalSettings, composer: Composer | None = None,
                 escalation: EscalationDetector | None = None) -> None:
        self._retriever = retriever
        self._composer = composer
        self._escalation = escalation
        self._llm = llm
        self._checker = checker
        self._prompts = prompts
        self._count = count_tokens
        self._settings = assistant
        self._routing = routing
        self._retrieval = retrieval

    def answer(self, question: str, history: Sequence[dict[str, str]] = (), role: str = "customer",
               on_token: Callable[[str], None] | None = None) -> Answer:
        """Answer one customer question (multi-turn: history holds earlier {role, content} turns).

        Raises:
            InvalidInputError: the question is empty or too long.
        """
        started = time.perf_counter()
        question = " ".join(question.split())
        if not question:
            raise InvalidInputError("the question is empty")
        if len(question) > self._retrieval.max_query_chars:
            raise InvalidInputError(f"the question is too long ({len(question)} characters; "
                                    f"the limit is {self._retrieval.max_query_chars})")
        turns = [t for t in history if t.get("content")][-8:]
        user_turns = " ".join(t["content"] for t in turns if t.get("role") == "user")
        language = question_language(question, user_turns, self._settings.kb_language)
        text_signals = read_signals(question)
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        # Staff asking about a customer's case ("the customer wants a chargeback: what do I do?") need the answer,
        # not a hand-off to themselves: only a customer's own words are screened for why a human is needed.
        triggers = self._triggers(question, turns) if role == "customer" else []
        timings["detect_ms"] = round((time.perf_counter() - t0) * 1000, 1)

        def finish(decision: Decision, text: str, citations: list[Citation], **extra: Any) -> Answer:
            timings["total_ms"] = round((time.perf_counter() - started) * 1000, 1)
            result = Answer(text, citations, decision.confidence, decision.kind, decision.reasons, language,
                            timings=timings, signals=signals, triggers=triggers, **extra)
            logger.info("answer decision=%s reasons=%s confidence=%.2f prompt=%s", result.decision, result.reasons,
                        result.confidence, result.prompt)
            return result

        human = any(t.reason == HUMAN for t in triggers) if self._escalation else text_signals.human_requested
        sensitive = tuple(dict.fromkeys(t.sub_reason for t in triggers if t.reason == SENSITIVE and t.sub_reason)) \
            if self._escalation else tuple(text_signals.sensitive)
        negative = max(text_signals.negativity, 1.0 if any(t.reason == NEGATIVE for t in triggers) else 0.0)
        base = Signals(searched=False, human_requested=human, negativity=negative, sensitive=sensitive,
                       injection=text_signals.injection)
        signals = base
        if text_signals.injection or human:
            decision = route("", base, self._routing)
            return finish(decision, handoff_message(language, human), [])

        if sensitive or negative >= self._routing.max_negativity:
            # Going to a human whatever the sources say: search as asked, for the links only (no model call).
            extra_queries: list[str] = []
            subject: list[str] = []
            query, standalone, translation, llm_failed = question, question, "", False
        else:
            query, extra_queries, standalone, translation, llm_failed, subject = self._queries(
                question, turns, language, role)
        asked = {"query": query, "standalone": standalone, "translation": translation}
        t0 = time.perf_counter()
        result = self._retriever.search(query, role, extra_queries=extra_queries, prefer=subject)
        timings["retrieval_ms"] = round((time.perf_counter() - t0) * 1000, 1)
        chunks = [c for c in result.chunks if not detect_injection(c.body)]
        poisoned = len(chunks) < len(result.chunks)
        if poisoned:
            logger.warning("dropped %d retrieved chunks that contain instructions", len(result.chunks) - len(chunks))
        signals = Signals(**{**base.__dict__, "searched": True, "top_relevance": result.top_dense,
                             "injection": base.injection or poisoned, "llm_failed": llm_failed})
        relevant = [c for c in chunks if c.dense >= self._routing.min_relevance]
        if not relevant or signals.sensitive:
            decision = route("", signals, self._routing)
            return finish(decision, self._handoff_text(language, False, relevant), self._links(relevant),
                          **asked, retrieved=result.chunks)

        if self._settings.compose == "extract" and self._composer is not None:
            said = next((t["content"] for t in reversed(turns) if t.get("role") == "assistant"), "")
            return self._extracted(question, standalone, translation, language, role, relevant, result.chunks, signals,
                                   asked, finish, on_token, said, subject)
        generation_language = self._generation_language(language, relevant)
        prompt = self._prompts.get("answer")
        system, user = prompt.render(
            company=self._settings.company, question=standalone,
            sources=format_sources(relevant, self._count, self._settings.answer_budget, [standalone, *result.queries]),
            language=language_name(generation_language))
        t0 = time.perf_counter()
        try:
            raw = self._llm().complete(system, user)
        except LLMError as exc:
            logger.warning("LLM unavailable: %s", exc)
            signals = Signals(**{**signals.__dict__, "llm_failed": True})
            decision = route("", signals, self._routing)
            return finish(decision, self._handoff_text(language, False, relevant), self._links(relevant),
                          **asked, retrieved=result.chunks, prompt=prompt.id)
        timings["llm_ms"] = round((time.perf_counter() - t0) * 1000, 1)
        not_found = NOT_FOUND in raw.upper().replace(" ", "_") and len(raw) < 60
        self._retriever.attach_vectors(relevant)
        check = self._checker.check("" if not_found else raw, relevant, question=f"{question} {standalone}")
        text, citations = self._compose(check, relevant)
        if text and detect_language(text, language) != language:
            translated = self._translate(text, language)  # small models sometimes ignore "answer in X"
            if translated and detect_language(translated, language) == language:
                text = translated
        signals = Signals(**{**signals.__dict__, "support": check.support, "coverage": check.coverage,
                             "claims_kept": len(check.kept), "not_found": not_found})
        decision = route(text, signals, self._routing)
        removed = [c.text for c in check.removed]
        if decision.kind == "escalate":
            return finish(decision, self._handoff_text(language, False, relevant), self._links(relevant),
                          **asked, retrieved=result.chunks, removed_claims=removed, prompt=prompt.id,
                          model=self._llm().name, draft=text)
        self._emit(text, on_token, timings, started)
        return finish(decision, text, citations, **asked, retrieved=result.chunks, removed_claims=removed,
                      prompt=prompt.id, model=self._llm().name, draft=text)

    def _triggers(self, question: str, turns: Sequence[dict[str, str]]) -> list[Trigger]:
        """Why this message needs a human (assist/escalation.py), with the sentence that shows it."""
        if self._escalation is None:
            return []
        triggers = self._escalation.detect(question)
        again = self._escalation.conversation(question, turns) if turns else None
        if again is not None and not any(t.reason == NEGATIVE for t in triggers):
            triggers.append(again)
        return triggers

    # -- composed answers (the default) ---------------------------------------------------------------

    def _extracted(self, question: str, standalone: str, translation: str, language: str, role: str,
                   relevant: list[RetrievedChunk], retrieved: list[RetrievedChunk], signals: Signals,
                   asked: dict[str, str], finish: Callable[..., Answer],
                   on_token: Callable[[str], None] | None, said: str = "", subject: Sequence[str] = ()) -> Answer:
        """The answer composed from the best section (assist/compose.py), verified, translated if needed."""
        queries = [q for q in dict.fromkeys([standalone, translation, question]) if q]
        links = self._links(relevant)
        try:
            composed = self._composed(queries, relevant, role, language, said, subject)
        except LLMError as exc:
            logger.warning("LLM unavailable for the translation: %s", exc)
            signals = Signals(**{**signals.__dict__, "llm_failed": True})
            decision = route("", signals, self._routing)
            return finish(decision, self._handoff_text(language, False, relevant), links, **asked,
                          retrieved=retrieved, prompt="compose")
        composition = composed.composition
        if composition is None:
            decision = route("", Signals(**{**signals.__dict__, "not_found": True}), self._routing)
            return finish(decision, self._handoff_text(language, False, relevant), links, **asked, retrieved=retrieved)
        translated_ok = bool(composed.text) or not composed.lines
        # "How do I ...?" answered with nothing to do (a page's introduction, a definition): a topic match, not an
        # answer; the customer gets the links and a person rather than a sentence that restates the question.
        way = answers_the_way(queries, composition.units)
        if not way:
            logger.info("asked how to do something, and %s — %s says nothing to do: not an answer",
                        composition.section.source_id, composition.section.heading)
        signals = Signals(**{**signals.__dict__, "support": composed.support if translated_ok else 0.0,
                             "coverage": composed.coverage, "claims_kept": len(composed.lines) if translated_ok else 0,
                             "fit": composition.score, "margin": composition.margin, "not_found": not way})
        text = composed.text
        timings = {"compose_ms": composed.compose_ms}
        if in_doubt(text, signals, self._routing):
            t0 = time.perf_counter()
            signals = dataclasses.replace(signals, check=self._check(translation or standalone, composed.lines))
            timings["check_ms"] = round((time.perf_counter() - t0) * 1000, 1)
        decision = route(text, signals, self._routing)
        assert composed.citation is not None
        if decision.kind == "escalate":
            answer = finish(decision, self._handoff_text(language, False, relevant), links, **asked,
                            retrieved=retrieved, draft=text, prompt="compose")
        else:
            if on_token is not None:
                self._stream_lines(text, on_token)
            answer = finish(decision, f"{text} [1]", [composed.citation], **asked, retrieved=retrieved, draft=text,
                            prompt="compose",
                            model="extractive" if composed.source_language == language else self._llm().name)
            answer.timings["first_token_ms"] = answer.timings["total_ms"]
        answer.timings.update(timings)
        answer.signals = signals  # what routing decided on: the composition's fit, support and coverage
        return answer

    def _check(self, question: str, lines: Sequence[str]) -> float | None:
        """The model's log-odds that the answer's (verified, source-language) lines tell the customer what they
        asked; None when the model fails (the confidence alone decides then)."""
        text = "\n".join(lines)
        system, user = self._prompts.get("answer_check").render(question=question, answer=text[:1500])
        try:
            odds = self._llm().yes_odds(system, user)
        except LLMError as exc:
            logger.warning("the answer check failed, the confidence alone decides: %s", exc)
            return None
        logger.info("answer check: log-odds %.2f that the answer answers %r", odds, question[:80])
        return round(odds, 3)

    def _composed(self, queries: Sequence[str], relevant: Sequence[RetrievedChunk], role: str,
                  language: str, said: str = "", subject: Sequence[str] = ()) -> Composed:
        """The best section's answer lines for the queries, verified as source text and put in the asker's
        language (a page the conversation is about preferred when it answers, an article in the asker's language
        when it answers nearly as well).

        Raises:
            LLMError: the model failed while translating.
        """
        assert self._composer is not None
        started = time.perf_counter()
        sections = self._sections(queries, relevant, role)
        composition = self._composer.compose(queries, sections, said)
        about = self._subject_sections(queries, sections, subject, role) if composition is not None else []

        def unnamed(text: str) -> str:
            return self._retriever.unnamed(text, subject, role)

        asked = [q for q in dict.fromkeys(map(unnamed, queries)) if q.strip()] if about else []
        if len({s.source_id for s in about}) == 1 and self._names_itself(about, unnamed):
            # A follow-up about the named thing the conversation is about ("do they allow dogs?"): that page's
            # answer, when it has one, rather than the same question answered better for another page. The page's
            # entries all name it ("Does Lake Merced allow dogs?"), and the follow-up names it in none of its words
            # or in all of them alike (a rewrite's "where is the San Francisco Zoo located?" fitted the zoo's
            # appointment entry at 0.71 by the name alone): question and entries are compared without the page's
            # names, so the entry chosen and its fit are what is asked about the page. That comparison also decides
            # when the best answer found was the page's own.
            page = self._composer.compose(asked or list(queries), about, said, hide=unnamed)
            if page is not None and (page.score >= self._routing.min_fit or (
                    composition is not None and composition.section.source_id in subject)):
                composition = page
        elif about:
            page = self._composer.compose(queries, about, said)
            if page is not None and page.score >= self._routing.min_fit:
                # A follow-up about the page the conversation named (a help article, or several named things told
                # apart by their names): that page's answer, when it has one. Asked by name ("what time is check-in
                # at the Grant Hotel and the Sir Francis Drake?"), its entry is the one that fits what is asked about
                # the page, not its name; how well the page fits the question as asked stays its fit.
                entry = self._composer.compose(asked, about, said) if asked and asked != list(queries) else None
                composition = dataclasses.replace(entry, score=page.score) if entry is not None else page
        if composition is not None and subject and composition.section.source_id not in subject \
                and composition.section.source_id in self._retriever.subject([" ".join(composition.lines())], role):
            # The conversation is about one page ("the Lake Merced park"), and the answer found is another page's,
            # saying so ("Dogs are allowed at Mount Davidson Park"): the same question answered about something
            # else. On DSTC10, 7 of the 8 answers shown from outside the conversation's page were about the wrong
            # business; this holds back 4 of them (and 1 right one, about "the orchard garden", a name that does not
            # name the Orchard Garden Hotel's page, said in the same turn as the SW Hotel, which does).
            logger.info("composed from %s, which the answer names, while the conversation is about %s: not shown",
                        composition.section.source_id, subject)
            composition = None
        if composition is not None and composition.section.chunk.metadata.get("kind") == "ticket":
            composition = self._solution(composition, queries, role, said)
        if composition is not None:
            native = [s for s in sections if s.chunk.metadata.get("language", "en") == language]
            if native and composition.section.chunk.metadata.get("language", "en") != language:
                own = self._composer.compose(queries, native, said)
                # Asked in the knowledge base's own language, a page translated from it is never preferred to one
                # of its pages that answers (the local embedder scores text across languages by shared words: a
                # French page's "--version" beat the English "Versions and Build Numbers" by 0.16).
                kb_own = language == self._settings.kb_language
                if own is not None and (own.score >= composition.score - 0.05
                                        or (kb_own and own.score >= self._routing.min_fit)):
                    composition = own
        if composition is not None and composition.section.chunk.metadata.get("language", "en") != language:
            # Only then the chosen page's own translation (not before: the French command-line page's English
            # original would replace "Versions and Build Numbers" for "which version do I have?").
            composition = self._translated_page(composition, queries, language, role, said) or composition
        if composition is None:
            return Composed(None, [], "", 0.0, 0.0, language, None, 0.0)
        composition = self._read_on(composition, queries, role, said)
        lines = composition.lines()
        section = composition.section
        whole = RetrievedChunk(section.chunk.chunk_id, f"{section.topic}\n\n{section.text}", section.chunk.metadata,
                               section.chunk.score, section.chunk.dense, section.chunk.keyword)
        # Every line is the source's own text: the check passes it by construction and stays the last gate.
        check = self._checker.check(" ".join(f"{line} [1]" for line in lines), [whole], question="")
        verified = [line for line in lines if _is_source_text(line, section.text)]
        source_language = str(section.chunk.metadata.get("language") or "en")
        text = "\n".join(verified)
        if text and source_language != language:
            text = self.translate_verified(verified, language)
        logger.info("composed from %s — %s (score %.3f, anchor %.3f); candidates %s", section.source_id,
                    section.heading, composition.score, composition.anchor_score, composition.candidates[:4])
        citation = Citation.of(1, section.chunk)
        return Composed(composition, verified, text, check.support, len(verified) / len(lines) if lines else 0.0,
                        source_language, citation, round((time.perf_counter() - started) * 1000, 1))

    def _read_on(self, composition: Composition, queries: Sequence[str], role: str, said: str) -> Composition:
        """A way asked for and a section that says nothing to do (a page's introduction, a subsection's lead-in): the
        answer is the steps of the subsection that follows it on the page, when they are steps; how well the chosen
        section fits the question stays its fit (the choice of page and place is the same)."""
        assert self._composer is not None
        if answers_the_way(queries, composition.units):
            return composition
        following = next_section(composition.section, self._retriever.source_chunks([composition.section.source_id], role))
        if following is None:
            return composition
        steps = self._composer.compose(queries, [following], said)
        if steps is None or not answers_the_way(queries, steps.units):
            return composition
        logger.info("%s — %s says nothing to do: read on into %s", composition.section.source_id,
                    composition.section.heading, following.heading)
        return dataclasses.replace(steps, score=composition.score, margin=composition.margin,
                                   candidates=composition.candidates)

    def _solution(self, composition: Composition, queries: Sequence[str], role: str, said: str) -> Composition | None:
        """A solved ticket (staff answers) answers with how it was solved: its resolution, else its agents' replies
        and notes, never the customer's own words. What matched the question is often the customer's report ("every
        timer I track offline ends up as two entries" is closer to their story than to any answer), so how well the
        ticket fits stays the answer's score; None when the ticket holds nothing its agents wrote."""
        assert self._composer is not None
        chunks = self._retriever.source_chunks([composition.section.source_id], role)
        split = [_solved_parts(section) for section in self._composer.shortlist(queries, chunks, len(chunks))]
        # its resolution when it has one (the fix, in a line or two), else what its agents wrote
        parts = [r for r, _ in split if r is not None] or [a for _, a in split if a is not None]
        solution = self._composer.compose(queries, parts, said) if parts else None
        if solution is None:
            logger.info("%s: nothing its agents wrote answers, not shown", composition.section.source_id)
            return None
        return dataclasses.replace(solution, score=composition.score, margin=composition.margin,
                                   candidates=composition.candidates)

    def _translated_page(self, composition: Composition, queries: Sequence[str], language: str, role: str,
                         said: str) -> Composition | None:
        """The answer from the chosen page's translation into the asker's language (its own words, not the small
        model's translation), when the knowledge base has one with the same sections and it answers (fit at least
        min_fit)."""
        assert self._composer is not None
        chosen = composition.section
        pages = self._retriever.translations(chosen.chunk, language, role)
        if not pages:
            return None
        # A translation keeps its page's headings in order: the counterpart of the heading the answer comes from is
        # the one at the same place in the translation's outline (the small embedder compares sections across
        # languages poorly: on the sample kb, "et si je perds mon téléphone ?" got the French page's setup steps
        # instead of its lost-phone section). A translation with headings added or left out is not used.
        original = _outline(self._retriever.source_chunks([chosen.source_id], role))
        page = pages[0].source_id
        counterparts = _outline([c for c in pages if c.source_id == page])
        names = [name for name, _ in original]
        heading = _heading_of(composition, names)
        if len(original) != len(counterparts) or heading not in names:
            return None
        stored = counterparts[names.index(heading)][1]  # the section the counterpart's text is stored under
        pages = [c for c in pages if c.source_id == page and str(c.metadata.get("section") or "") == stored]
        sections = self._composer.shortlist(queries, pages, self._settings.sections)
        twin = self._composer.compose(queries, sections, said) if sections else None
        # the translation's section was the only candidate: how clearly the original won is the measure
        return dataclasses.replace(twin, margin=composition.margin) \
            if twin is not None and twin.score >= self._routing.min_fit else None

    def compose_reply(self, questions: Sequence[str], language: str) -> tuple[Composed, list[RetrievedChunk]]:
        """What the public help centre says to a customer's message, composed and verified as answers are, with
        no routing: for an agent's draft reply (the agent decides). Only public articles are used, so nothing
        internal can reach the customer. Returns the composition and the relevant chunks.

        Raises:
            LLMError: the model failed while translating the message or the answer.
        """
        questions = [" ".join(q.split())[: self._retrieval.max_query_chars] for q in questions if q.strip()]
        if not questions:
            raise InvalidInputError("the message is empty")
        extra = list(questions[1:])
        if self._settings.translate_queries and language != self._settings.kb_language:
            translated = self._translate(questions[0], self._settings.kb_language, strict=True)
            if translated:
                extra.append(translated)
        result = self._retriever.search(questions[0], "customer", extra_queries=extra)
        relevant = [c for c in result.chunks if c.dense >= self._routing.min_relevance and not detect_injection(c.body)]
        if not relevant or self._composer is None:
            return Composed(None, [], "", 0.0, 0.0, language, None, 0.0), relevant
        return self._composed([*questions, *extra], relevant, "customer", language), relevant

    def _subject_sections(self, queries: Sequence[str], sections: Sequence[Section], subject: Sequence[str],
                          role: str) -> list[Section]:
        """The candidate sections of the pages the conversation is about, read from those pages when the search
        did not bring them among the candidates (a spoken "do they offer take ou" finds the same entry of many
        restaurants before the one talked about)."""
        about = [s for s in sections if s.source_id in subject]
        missing = [source_id for source_id in subject if source_id not in {s.source_id for s in about}]
        if not missing:
            return about
        assert self._composer is not None
        found = self._composer.shortlist(queries, self._retriever.source_chunks(missing, role), self._settings.sections)
        for section in found:
            section.rank = len(sections) + subject.index(section.source_id)
        return [*about, *found]

    @staticmethod
    def _names_itself(sections: Sequence[Section], unnamed: Callable[[str], str]) -> bool:
        """Whether a page is about a named thing, as a business's FAQ is ("Lake Merced has free parking."): it names
        itself in at least NAMED_PAGE_SHARE of its sentences. (On DSTC10's FAQ pages 0.70 on average, 0.44 at the
        10th percentile; on the sample kb's and LibreOffice's help articles 0.01, 0.04 at the 90th: their titles name
        a topic, not a thing.)"""
        units = [u for s in sections for u in s.units if not u.heading]
        return bool(units) and sum(unnamed(u.text) != u.text for u in units) >= NAMED_PAGE_SHARE * len(units)

    def _sections(self, queries: Sequence[str], relevant: Sequence[RetrievedChunk], role: str) -> list[Section]:
        """Candidate sections from the whole pages of the best retrieved sources: articles for customers
        (solved tickets too for staff)."""
        assert self._composer is not None
        sources = [c.source_id for c in relevant if role != "customer" or c.metadata.get("kind") == "article"]
        sources = list(dict.fromkeys(sources))[: self._settings.sources]
        sections = self._composer.shortlist(queries, self._retriever.source_chunks(sources, role), self._settings.sections)
        for section in sections:
            # Staff asking how to handle a case ("can I just process the refund or do I need approval?") want the
            # procedure staff follow: in a near tie (compose.TIE, where the search's ranking decides), an internal
            # runbook comes before the public article that tells customers the policy.
            runbook = section.chunk.metadata.get("audience") == "internal" and section.chunk.metadata.get("kind") == "article"
            section.rank = sources.index(section.source_id) + (len(sources) if role != "customer" and not runbook else 0)
        return sections

    def translate_verified(self, lines: Sequence[str], language: str) -> str:
        """Verified lines in the customer's language, or "" when no translation passes the checks (same numbers
        and links, the language asked for, nothing left in another language or script).

        Raises:
            LLMError: the model failed.
        """
        text = "\n".join(lines)
        whole = self._translate(text, language, strict=True)
        if faithful_translation(text, whole, language):
            return whole
        parts = [self._translate(line, language, strict=True) for line in lines]  # line by line: easier for a small model
        for n, (line, part) in enumerate(zip(lines, parts, strict=True)):
            left = untranslated_words(part, line, language)
            if left:  # once more, told which words it left in English
                parts[n] = self._translate(line, language, strict=True, left=left)
        # Greedy decoding copies the same English word however the model is asked ("Billed monthly: Custom" stayed
        # "Custom" twice): a line still not faithful is sampled again, a little and then more freely (seeded, so the
        # same line gets the same tries), and the first that passes the checks is kept. Only a few lines an answer:
        # where most lines fail, the translation is not close.
        faithful = [faithful_translation(line, part, language) for line, part in zip(lines, parts, strict=True)]
        for n in [n for n, ok in enumerate(faithful) if not ok][:RESAMPLED_LINES]:
            for temperature in RESAMPLE_TEMPERATURES:
                parts[n] = self._translate(lines[n], language, strict=True, temperature=temperature)
                faithful[n] = faithful_translation(lines[n], parts[n], language)
                if faithful[n]:
                    break
        if all(faithful):
            return "\n".join(parts)
        # A tip or a note that keeps English words (the title of a page that exists only in English, "Tip:") is left
        # out rather than the whole answer: what it adds is an aside, never a step or what the answer says.
        asides = [_ASIDE_RE.match(line) is not None for line in lines]
        if all(ok or aside for ok, aside in zip(faithful, asides, strict=True)) \
                and any(ok and not aside for ok, aside in zip(faithful, asides, strict=True)):
            logger.info("%d aside(s) left out of the %s translation: no faithful translation", faithful.count(False),
                        language)
            return "\n".join(part for part, ok in zip(parts, faithful, strict=True) if ok)
        logger.info("no faithful %s translation of the composed answer", language)
        return ""

    @staticmethod
    def _stream_lines(text: str, on_token: Callable[[str], None]) -> None:
        for line in text.split("\n"):
            on_token(line + "\n")

    @staticmethod
    def _emit(text: str, on_token: Callable[[str], None] | None, timings: dict[str, float], started: float) -> None:
        """Stream a checked answer (never the model's raw tokens, which the check may still remove)."""
        if on_token is not None and text:
            on_token(text)
        timings["first_token_ms"] = round((time.perf_counter() - started) * 1000, 1)

    # -- steps ----------------------------------------------------------------------------------

    def _queries(self, question: str, turns: Sequence[dict[str, str]], language: str,
                 role: str) -> tuple[str, list[str], str, str, bool, list[str]]:
        """The search query, extra phrasings (history, translation), the standalone question for the prompt, its
        translation into the KB's language ("" when not translated), whether the model failed on the way, and
        the pages a follow-up is about (named in it or in the conversation, see HybridRetriever.subject)."""
        extra: list[str] = []
        translated = ""
        query = question
        standalone = question
        failed = False
        subject: list[str] = []
        if turns and self._new_topic(question, turns):
            turns = []  # searched on its own: the earlier topic would only pull the search back to it
        if turns:
            # What a follow-up is about is the page the conversation named last ("I recommend the Exploratorium"
            # ... "do they take Mastercard?"): among the FAQ entries that all answer "do they take cards?", that
            # page's come first.
            subject = self._retriever.subject([question, *(t["content"] for t in reversed(turns))], role)
            # The thing asked about is often named a few turns back, and as often by the assistant as by the
            # customer ("I recommend the Exploratorium" ... "do they take Mastercard?"). On DSTC10 track 2,
            # searching with the last three turns of both sides found the gold FAQ in the top 5 for 74% of
            # turns, against 8% for the last turn alone and 17% with the customer's turns only. The model's
            # standalone rewrite is searched too: alone it finds the gold FAQ for only 0.35 of those turns (it
            # names the need without the business), and searching with the turns alone raised the product's
            # top 5 from 0.65 to 0.67 but escalated 4 more turns of 104 (12 more as `no_relevant_source`, 8 fewer
            # as `low_support`): relevance is measured on the same queries, and the rewrite's clean question is
            # what matches an FAQ entry best.
            recent = " ".join(t["content"] for t in turns[-3:])
            query = f"{recent} {question}"
            history = "\n".join(f"{t.get('role', 'user')}: {t['content']}" for t in turns[-6:])
            try:
                system, user = self._prompts.get("condense").render(history=history, question=question)
                rewritten = self._llm().complete(system, user, max_tokens=80, temperature=0.0).strip().strip('"')
                if rewritten and len(rewritten) < 400:
                    extra.append(query)
                    query = standalone = rewritten
            except LLMError as exc:
                logger.info("condense skipped: %s", exc)
                failed = True
        if self._settings.translate_queries and language != self._settings.kb_language and not failed:
            try:
                translated = self._translate(standalone, self._settings.kb_language, strict=True)
            except LLMError as exc:
                logger.info("query translation skipped: %s", exc)
                failed = True
            if translated:
                extra.append(translated)
        return query, extra, standalone, translated, failed, subject

    def _new_topic(self, question: str, turns: Sequence[dict[str, str]]) -> bool:
        """Whether a question in a conversation starts a new topic rather than following up: it refers to nothing
        earlier (no pronoun or "what about"), says something on its own, and the best source for it alone is none
        of the conversation's own best sources and stands out from the next one. (Similarities cannot decide it:
        the conversation's turns repeat its sources' words, so adding them always raises the similarity to the
        old topic.)"""
        if _REFERS_BACK.search(question) or len(set(tokenize(question))) < 2:
            return False
        recent = " ".join(t["content"] for t in turns[-3:])
        try:
            alone = self._retriever.search(question, "customer", k=5).chunks
            before = self._retriever.search(recent, "customer", k=5).chunks
        except DeskpilotError:
            return False
        topics = list(dict.fromkeys(c.source_id for c in before))[:3]
        best: dict[str, float] = {}
        for chunk in alone:
            best[chunk.source_id] = max(best.get(chunk.source_id, 0.0), chunk.dense)
        ranked = sorted(best.values(), reverse=True)
        # Several sources that answer it about equally well ("what is the check-in time?" of any hotel): the
        # conversation says which one is meant.
        ambiguous = len(ranked) > 1 and ranked[0] - ranked[1] < AMBIGUOUS
        new = bool(alone) and alone[0].source_id not in topics and not ambiguous
        logger.info("conversation turn: %s (alone: %s; the conversation: %s)", "new topic" if new else "follow-up",
                    alone[0].source_id if alone else None, topics)
        return new

    def _translate(self, text: str, target: str, strict: bool = False, left: Sequence[str] = (),
                   temperature: float = 0.0) -> str:
        """text in the target language; "" when the model fails (strict: LLMError raised instead). `left`: the
        English words an earlier translation of it left as they were (the model is told to translate them);
        `temperature`: above 0 to sample another translation than the greedy one."""
        try:
            if left:
                system, user = self._prompts.get("translate_again").render(
                    text=text, target=language_name(target), words=", ".join(dict.fromkeys(left)))
            else:
                system, user = self._prompts.get("translate").render(text=text, target=language_name(target))
            # greedy first: a translation is not a place for variety, and the same answer is translated the same way
            return self._llm().complete(system, user, max_tokens=max(64, self._count(text) * 2),
                                        temperature=temperature).strip()
        except LLMError as exc:
            if strict:
                raise
            logger.info("translation skipped: %s", exc)
            return ""

    @staticmethod
    def _generation_language(language: str, chunks: Sequence[RetrievedChunk]) -> str:
        """Write in the customer's language when a source is in it; else in the sources' language
        (the check compares like with like) and translate the checked answer afterwards."""
        languages = Counter(str(c.metadata.get("language") or "en") for c in chunks)
        if language in languages:
            return language
        return languages.most_common(1)[0][0]

    @staticmethod
    def _compose(check: CheckResult, chunks: Sequence[RetrievedChunk]) -> tuple[str, list[Citation]]:
        """Answer text from the kept claims, with markers renumbered to the citations list."""
        numbers: dict[int, int] = {}
        citations: list[Citation] = []
        sentences = []
        for claim in check.kept:
            assert claim.supported_by is not None
            if claim.supported_by not in numbers:
                chunk = chunks[claim.supported_by - 1]
                numbers[claim.supported_by] = len(citations) + 1
                citations.append(Citation.of(len(citations) + 1, chunk))
            text = claim.text if claim.text.endswith((".", "!", "?", ":")) else claim.text + "."
            sentences.append(f"{text} [{numbers[claim.supported_by]}]")
        return " ".join(sentences), citations

    @staticmethod
    def _links(chunks: Sequence[RetrievedChunk], limit: int = 3) -> list[Citation]:
        """Distinct public sources that were partly relevant, offered with a hand-off."""
        out: list[Citation] = []
        for chunk in chunks:
            if chunk.source_id in {c.source_id for c in out} or chunk.metadata.get("kind") != "article":
                continue
            out.append(Citation.of(len(out) + 1, chunk))
            if len(out) == limit:
                break
        return out

    def _handoff_text(self, language: str, human_requested: bool, chunks: Sequence[RetrievedChunk]) -> str:
        text = handoff_message(language, human_requested)
        links = self._links(chunks)
        if links:
            text += "\n\n" + see_also(language) + "\n" + "\n".join(f"- {c.title}: {c.url}" for c in links)
        return text
