"""What a suite is run against: the assistant in this process, or a running Deskpilot over HTTP."""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Protocol

from deskpilot.assist.answer import Answer, Assistant
from deskpilot.assist.routing import route
from deskpilot.assist.tickets import TicketServices, TicketText
from deskpilot.config import RoutingSettings
from deskpilot.errors import DeskpilotError, InvalidInputError
from deskpilot.evaluation.results import ItemResult
from deskpilot.evaluation.suite import SuiteItem
from deskpilot.text.thread import thread_text


def distinct(ids: list[str]) -> list[str]:
    """Ids in first-seen order, without repeats."""
    return list(dict.fromkeys(i for i in ids if i))


class Target(Protocol):
    """Answers one suite item and fills in the result."""

    name: str

    def run(self, item: SuiteItem, result: ItemResult) -> None:
        """Fill result from the system under test; raise DeskpilotError on failure."""


class LocalTarget:
    """The assistant in this process: exactly the service's code path (retrieval, answer, check, routing)."""

    def __init__(self, assistant: Assistant, routing: RoutingSettings, name: str = "local",
                 tickets: TicketServices | None = None) -> None:
        self._assistant = assistant
        self._tickets = tickets
        self._floor = routing.model_copy(update={"min_confidence": 0.0})
        self.name = name

    def run(self, item: SuiteItem, result: ItemResult) -> None:
        """Ask the assistant (or draft a reply to the ticket); the latency is the whole call."""
        if item.task == "draft":
            self._draft(item, result)
            return
        if item.task == "summary":
            self._summary(item, result)
            return
        started = time.perf_counter()
        answer = self._assistant.answer(item.question, [t.model_dump() for t in item.history], role=item.role)
        result.latency_ms = round((time.perf_counter() - started) * 1000, 1)
        fill_from_answer(result, answer)
        if answer.decision == "escalate" and answer.signals is not None:
            # at any threshold, the confidence alone (the model's check is asked near the configured threshold)
            result.escalate_floor = route(answer.draft, dataclasses.replace(answer.signals, check=None),
                                          self._floor).kind == "escalate"
        else:
            result.escalate_floor = answer.decision == "escalate"


    def _ticket(self, item: SuiteItem) -> tuple[TicketServices, TicketText]:
        """The ticket services and the item's ticket ("Subject: ...", a blank line, the body)."""
        if self._tickets is None:
            raise InvalidInputError(f"{item.task} items need the ticket services (a local target)")
        subject, _, body = item.question.partition("\n\n")
        subject = subject.removeprefix("Subject:").strip() if body else ""
        return self._tickets, TicketText(thread_text(subject, body or item.question, []), item.id, subject)

    def _summary(self, item: SuiteItem, result: ItemResult) -> None:
        """A ticket summary, scored like an answer on its checked fields (what the agent reads as fact); the
        sentences the check removed are kept in the result's `removed`."""
        tickets, ticket = self._ticket(item)
        started = time.perf_counter()
        summary = tickets.summarize(ticket)
        result.latency_ms = round((time.perf_counter() - started) * 1000, 1)
        result.answer = result.draft = "\n".join(
            f"{label}: {value}" for label, value in (("Problem", summary.problem), ("Tried", summary.tried),
                                                     ("Status", summary.status), ("Next action", summary.next_action)))
        result.removed = list(summary.unverified)
        result.decision = "answer"
        result.confidence = 1.0
        result.escalate_floor = False

    def _draft(self, item: SuiteItem, result: ItemResult) -> None:
        """A drafted reply, scored like an answer: it is what the customer would read."""
        tickets, ticket = self._ticket(item)
        started = time.perf_counter()
        draft = tickets.draft(ticket)
        result.latency_ms = round((time.perf_counter() - started) * 1000, 1)
        result.answer = result.draft = draft.reply
        result.citations = [{"source_id": c.source_id, "title": c.title, "url": c.url} for c in draft.citations]
        result.retrieved = distinct([c.source_id for c in draft.citations] + [n.source_id for n in draft.notes])
        result.decision = "answer"
        result.reasons = [] if draft.grounded else ["asks_for_details"]
        result.confidence = 1.0 if draft.grounded else 0.0
        result.lang = result.lang or draft.language
        result.escalate_floor = False


def fill_from_answer(result: ItemResult, answer: Answer) -> None:
    """Copy an Answer into a result."""
    result.retrieved = distinct([c.source_id for c in answer.retrieved])
    result.contexts = [c.body for c in answer.retrieved]
    result.answer = answer.answer
    result.draft = answer.draft
    result.citations = [{"source_id": c.source_id, "title": c.title, "url": c.url} for c in answer.citations]
    result.confidence = answer.confidence
    result.decision = answer.decision
    result.reasons = list(answer.reasons)
    result.lang = result.lang or answer.language
    result.first_token_ms = answer.timings.get("first_token_ms")
    result.triggers = [t.as_json() for t in answer.triggers]
    if answer.signals is not None and answer.signals.claims_kept:
        result.scores["citation_support"] = answer.signals.support
    if answer.signals is not None and answer.signals.check is not None:
        result.scores["answer_check"] = answer.signals.check  # the model's log-odds that the answer answers


class HttpTarget:
    """A running Deskpilot, black box: `POST {url}/v1/ask` with the API key."""

    def __init__(self, url: str, api_key: str, timeout: float = 180.0, client: Any = None) -> None:
        import httpx

        self.name = url
        self._client = client or httpx.Client(base_url=url.rstrip("/"), timeout=timeout)
        self._headers = {"Authorization": f"Bearer {api_key}"}

    def run(self, item: SuiteItem, result: ItemResult) -> None:
        """Ask over HTTP; the latency is the request's round trip."""
        import httpx

        body = {"question": item.question, "history": [t.model_dump() for t in item.history], "role": item.role,
                "stream": False, "record": False}
        started = time.perf_counter()
        try:
            response = self._client.post("/v1/ask", json=body, headers=self._headers)
        except httpx.HTTPError as exc:
            raise DeskpilotError(f"request failed: {type(exc).__name__}: {exc}") from exc
        result.latency_ms = round((time.perf_counter() - started) * 1000, 1)
        if response.status_code != 200:
            try:
                message = response.json().get("detail") or response.text
            except ValueError:
                message = response.text
            error = InvalidInputError if response.status_code < 500 else DeskpilotError
            raise error(f"HTTP {response.status_code}: {str(message)[:300]}")
        data = response.json()
        result.answer = str(data.get("answer") or "")
        result.citations = [{"source_id": str(c.get("source_id", "")), "title": str(c.get("title", "")),
                             "url": str(c.get("url", ""))} for c in data.get("citations") or []]
        result.retrieved = distinct([str(s) for s in data.get("retrieved") or []]) or \
            distinct([c["source_id"] for c in result.citations])
        result.contexts = [str(c.get("snippet", "")) for c in data.get("citations") or []]
        result.confidence = float(data.get("confidence") or 0.0)
        result.decision = str(data.get("decision") or "escalate")
        result.reasons = [str(r) for r in data.get("reasons") or []]
        result.lang = result.lang or str(data.get("language") or "")
        result.first_token_ms = (data.get("timings") or {}).get("first_token_ms")
        result.triggers = [t for t in data.get("triggers") or [] if isinstance(t, dict)]
        support = data.get("support")
        if isinstance(support, int | float):
            result.scores["citation_support"] = float(support)
        # Without the signals, a hand-off that is not only about low confidence stays one at any threshold.
        result.escalate_floor = result.escalated and (bool(set(result.reasons) - {"low_support"})
                                                      or result.confidence == 0.0)
