"""The new-ticket webhook: signature check, idempotent intake, background processing (classify, summarise,
suggest, draft) and signed delivery of the result to the callback URL with retries and back-off.

Every state lives in `webhook_deliveries`, so a restarted service (or another worker process) resumes what was
left: a worker claims a row with a conditional update before working on it, and a claim older than
`stale_s` seconds (a process that died mid-way) is taken over.

Statuses: received -> processing -> ready -> (delivering -> retrying ->)* delivered | failed. Without a
callback URL a result stays `ready` (fetch it with `GET /v1/webhooks/ticket/{ticket_key}`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from deskpilot.assist.tickets import TicketServices, TicketText
from deskpilot.config import IntegrationSettings
from deskpilot.db import iso, retry_transient
from deskpilot.errors import ConfigError, ConflictError, DeskpilotError, InvalidInputError, NotFoundError
from deskpilot.helpdesk.store import HelpdeskStore
from deskpilot.integrations.models import WebhookDeliveryRow
from deskpilot.text.thread import thread_text

logger = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Deskpilot-Signature"
DELIVERY_HEADER = "X-Deskpilot-Delivery"
RETRYABLE_4XX = (408, 429)


class SignatureError(DeskpilotError):
    """A webhook request is unsigned, badly signed, or signed outside the time tolerance (HTTP 401)."""


class WebhookDisabledError(ConfigError):
    """No webhook secret is configured: the webhook is off (HTTP 503)."""


def _stamp(moment: datetime | None = None) -> datetime:
    """Now (or moment), with microseconds: sub-second back-off."""
    return moment or datetime.now(UTC)


_DELIVERY_RE = re.compile(r"[A-Za-z0-9_:\-]{1,100}")
_DELIVERY_UNSAFE = re.compile(r"[^A-Za-z0-9_\-]")


def sign(secret: str, body: bytes, timestamp: int, delivery: str = "") -> str:
    """The `X-Deskpilot-Signature` value for body: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.delivery.body">`
    (of "t.body" when there is no delivery id). Signing the delivery id means a captured request cannot be sent
    again under a new id."""
    signed = f"{timestamp}.{delivery}." if delivery else f"{timestamp}."
    digest = hmac.new(secret.encode(), signed.encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, body: bytes, header: str | None, tolerance_s: int, now: float | None = None,
           delivery: str = "") -> None:
    """Check a signature header against the raw body and the delivery id.

    Raises:
        SignatureError: missing or malformed header, wrong signature, or a timestamp outside the tolerance.
    """
    parts: dict[str, list[str]] = {}
    for item in (header or "").split(","):
        name, _, value = item.strip().partition("=")
        parts.setdefault(name, []).append(value)
    stamps, given = parts.get("t", []), parts.get("v1", [])
    if len(stamps) != 1 or not (stamps[0].isascii() and stamps[0].isdigit()) or not given:
        raise SignatureError(f"missing or malformed {SIGNATURE_HEADER} header (expected t=<unix seconds>,v1=<hex>)")
    timestamp = int(stamps[0])
    expected = sign(secret, body, timestamp, delivery).split("v1=", 1)[1]
    # Bytes, not str: compare_digest refuses non-ASCII text, which would turn a forged header into a 500.
    if not any(hmac.compare_digest(expected.encode(), candidate.encode("utf-8", "replace")) for candidate in given):
        raise SignatureError("invalid signature")
    if abs((time.time() if now is None else now) - timestamp) > tolerance_s:
        raise SignatureError("timestamp outside the tolerance: replay?")


class Requester(BaseModel):
    """Who opened the ticket (vendors send more; the rest is ignored)."""

    model_config = ConfigDict(extra="ignore")
    name: str = ""
    email: str = ""


class Comment(BaseModel):
    """A comment of the ticket's thread."""

    model_config = ConfigDict(extra="ignore")
    body: str = Field("", validation_alias=AliasChoices("body", "text", "plain_body"), max_length=100_000)
    author_role: str = Field("customer", validation_alias=AliasChoices("author_role", "role"))
    public: bool = True


class IncomingTicket(BaseModel):
    """The new ticket, as a helpdesk system sends it."""

    model_config = ConfigDict(extra="ignore")
    id: str | int
    subject: str = Field("", max_length=1000)
    description: str = Field(validation_alias=AliasChoices("description", "body"), min_length=1, max_length=200_000)
    requester: Requester | None = None
    language: str = Field("", max_length=8)
    comments: list[Comment] = Field(default_factory=list, max_length=500)

    def text(self) -> TicketText:
        """The ticket as text for the agent services (public comments only)."""
        comments = [(c.author_role, c.body) for c in self.comments if c.public]
        return TicketText(thread_text(self.subject, self.description, comments), f"webhook-{self.id}", self.subject)


class TicketEvent(BaseModel):
    """The webhook's body: `{"ticket": {...}}`."""

    model_config = ConfigDict(extra="ignore")
    ticket: IncomingTicket


class WebhookService:
    """Intake, processing and delivery of new-ticket webhooks."""

    def __init__(self, sessions: Callable[[], sessionmaker], tickets: Callable[[], TicketServices],  # type: ignore[type-arg]
                 helpdesk: Callable[[], HelpdeskStore], settings: IntegrationSettings,
                 http: httpx.Client | None = None, poll_s: float = 1.0, stale_s: float = 600.0) -> None:
        """Wire the service.

        Args:
            sessions: the session factory (called on use: the database may be away at start).
            tickets: the agent services (built on first processing).
            helpdesk: where the incoming ticket is stored so agents see it in the console.
            settings: secret, tolerance, callback URL, attempts, back-off, timeout (read at each use).
            http: the client deliveries are posted with (default: one with `delivery_timeout_s`).
            poll_s: longest wait of the worker between two looks at the table.
            stale_s: a claim older than this is taken over (its process died mid-way).
        """
        self._sessions = sessions
        self._tickets = tickets
        self._helpdesk = helpdesk
        self._settings = settings
        self._http = http
        self._poll_s = poll_s
        self._stale_s = max(stale_s, settings.delivery_timeout_s * 3)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- intake -------------------------------------------------------------------------------------

    def _secret(self) -> str:
        secret = self._settings.webhook_secret
        if secret is None or not secret.get_secret_value():
            raise WebhookDisabledError("webhook not configured")
        return secret.get_secret_value()

    def receive(self, body: bytes, signature: str | None, request_id: str | None = None) -> tuple[bool, dict[str, Any]]:
        """Verify, parse and record a new-ticket request; processing happens in the background.

        Returns:
            (True, the new record) the first time; (False, the existing record) for a ticket id already received.

        Raises:
            WebhookDisabledError: no secret configured.
            SignatureError: unsigned, badly signed, or stale.
            ConflictError: the request id was seen before (a replay).
            InvalidInputError: the body is not a ticket event.
        """
        if request_id is not None and not _DELIVERY_RE.fullmatch(request_id):
            raise InvalidInputError(f"{DELIVERY_HEADER} must have 1 to 100 letters, digits, '_', ':' or '-'")
        if request_id is None and self._settings.require_delivery_id:
            raise SignatureError(f"missing {DELIVERY_HEADER} header: a unique id for this request, covered by the "
                                 "signature (see docs/webhooks.md)")
        verify(self._secret(), body, signature, self._settings.webhook_tolerance_s, delivery=request_id or "")
        try:
            event = TicketEvent.model_validate_json(body)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])
            raise InvalidInputError(f"not a ticket event: {problems}") from exc
        key = str(event.ticket.id).strip()
        if not key or len(key) > 200:
            raise InvalidInputError("the ticket id must have 1 to 200 characters")
        created, record = self._insert(key, request_id, hashlib.sha256(body).hexdigest(), event.ticket)
        if created:
            self._wake.set()
        return created, record

    @retry_transient
    def _insert(self, key: str, request_id: str | None, payload_hash: str,
                ticket: IncomingTicket) -> tuple[bool, dict[str, Any]]:
        with self._sessions()() as session:
            if request_id is not None and session.scalar(
                    select(WebhookDeliveryRow.id).where(WebhookDeliveryRow.request_id == request_id)) is not None:
                raise ConflictError(f"request {request_id} was already received (replay)")
            existing = session.scalar(select(WebhookDeliveryRow).where(WebhookDeliveryRow.ticket_key == key))
            if existing is not None:
                return False, _record(existing)
            row = WebhookDeliveryRow(ticket_key=key, request_id=request_id, payload_hash=payload_hash,
                                     status="received", result={"input": ticket.model_dump()},
                                     callback_url=self._settings.callback_url or "", updated_at=_stamp())
            session.add(row)
            try:
                session.commit()
            except IntegrityError:  # the same ticket (or request id) arrived at the same moment
                session.rollback()
                if request_id is not None and session.scalar(
                        select(WebhookDeliveryRow.id).where(WebhookDeliveryRow.request_id == request_id)) is not None:
                    raise ConflictError(f"request {request_id} was already received (replay)") from None
                return False, self.record(key)
            return True, _record(row)

    @retry_transient
    def record(self, key: str) -> dict[str, Any]:
        """A delivery record: status, attempts, last error, result.

        Raises:
            NotFoundError: no webhook for this ticket id.
        """
        with self._sessions()() as session:
            row = session.scalar(select(WebhookDeliveryRow).where(WebhookDeliveryRow.ticket_key == key))
            if row is None:
                raise NotFoundError(f"no webhook for ticket {key}")
            return _record(row)

    # -- processing ---------------------------------------------------------------------------------

    def process(self, key: str, ticket: IncomingTicket, deskpilot_id: int | None) -> dict[str, Any]:
        """Store the ticket for the console (once), then classify, summarise, suggest and draft; a step that
        fails (the model away...) is recorded in `errors`, the others still run."""
        if deskpilot_id is None:
            deskpilot_id = self._helpdesk().create_ticket(ticket.subject, ticket.text().text, ticket.language)
            self._save(key, result={"input": ticket.model_dump(), "deskpilot_ticket_id": deskpilot_id})
        text = ticket.text()
        services = self._tickets()
        steps: dict[str, Callable[[], Any]] = {
            "classification": lambda: services.classify(text.text).as_json(),
            "summary": lambda: services.summarize(text).model_dump(),
            "suggestions": lambda: [{"source_id": s.source_id, "title": s.title, "url": s.url, "score": s.score,
                                     "snippet": s.snippet} for s in services.suggest(text.query)],
            "draft": lambda: services.draft(text).as_json(),
        }
        result: dict[str, Any] = {"ticket_key": key, "deskpilot_ticket_id": deskpilot_id}
        errors: dict[str, str] = {}
        for name, step in steps.items():
            try:
                result[name] = step()
            except DeskpilotError as exc:
                result[name], errors[name] = None, f"{type(exc).__name__}: {exc}"[:500]
                logger.warning("webhook %s: %s failed: %s", key, name, exc)
            except Exception as exc:  # a bug in one step must not lose the others
                result[name], errors[name] = None, f"{type(exc).__name__}: {exc}"[:500]
                logger.exception("webhook %s: %s failed", key, name)
        result["errors"] = errors
        return result

    def _process_claimed(self, key: str, stored: dict[str, Any], callback_url: str) -> None:
        ticket = IncomingTicket.model_validate(stored["input"])
        result = self.process(key, ticket, stored.get("deskpilot_ticket_id"))
        self._save(key, status="ready", result=result, next_attempt_at=_stamp() if callback_url else None)

    # -- delivery -----------------------------------------------------------------------------------

    def deliver(self, key: str, result: dict[str, Any], callback_url: str, attempt: int) -> None:
        """Post the result (signed like the webhook) and record the outcome: delivered on 2xx; otherwise retried
        after `delivery_backoff_s * 2**(attempt-1)` s, or failed after `delivery_attempts` attempts or on a 4xx
        other than 408/429 (the receiver refuses it: trying again would not help)."""
        settings = self._settings
        body = json.dumps({"event": "ticket.processed", **result}, ensure_ascii=False).encode()
        delivery = f"{_DELIVERY_UNSAFE.sub('-', key)[:90]}:{attempt}"
        headers = {"Content-Type": "application/json", DELIVERY_HEADER: delivery, "User-Agent": "Deskpilot-Webhook/1"}
        signer = settings.callback_secret or settings.webhook_secret
        secret = signer.get_secret_value() if signer else ""
        if secret:
            headers[SIGNATURE_HEADER] = sign(secret, body, int(time.time()), delivery)
        error, permanent = "", False
        try:
            client = self._http or httpx.Client(timeout=settings.delivery_timeout_s)
            try:
                response = client.post(callback_url, content=body, headers=headers, timeout=settings.delivery_timeout_s)
            finally:
                if client is not self._http:
                    client.close()
            if response.is_success:
                self._save(key, status="delivered", attempts=attempt, delivered_at=_stamp(), next_attempt_at=None,
                           last_error="")
                logger.info("webhook %s delivered (attempt %d)", key, attempt)
                return
            error = f"HTTP {response.status_code}: {response.text[:200]}"
            permanent = 400 <= response.status_code < 500 and response.status_code not in RETRYABLE_4XX
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
        if permanent or attempt >= settings.delivery_attempts:
            self._save(key, status="failed", attempts=attempt, last_error=error, next_attempt_at=None)
            logger.warning("webhook %s: delivery failed after %d attempt(s): %s", key, attempt, error)
            return
        delay = settings.delivery_backoff_s * 2 ** (attempt - 1)
        self._save(key, status="retrying", attempts=attempt, last_error=error,
                   next_attempt_at=_stamp(datetime.now(UTC) + timedelta(seconds=delay)))
        logger.info("webhook %s: attempt %d failed (%s); next in %.2f s", key, attempt, error, delay)

    # -- the worker ---------------------------------------------------------------------------------

    def run_once(self) -> int:
        """Process every received ticket and make every due delivery attempt; returns how many rows were worked."""
        worked = 0
        while not self._stop.is_set() and (claimed := self._claim()) is not None:
            key, status, result, callback_url, attempts = claimed
            worked += 1
            try:
                if status == "processing":
                    self._process_claimed(key, result, callback_url)
                else:
                    self.deliver(key, result, callback_url, attempts + 1)
            except Exception:  # the row is taken over once its claim is stale
                logger.exception("webhook %s: %s stopped", key, status)
        return worked

    @retry_transient
    def _claim(self) -> tuple[str, str, dict[str, Any], str, int] | None:
        """Take one row to work on: a received ticket, or a due delivery; None when there is nothing to do."""
        moment = datetime.now(UTC)
        stale = _stamp(moment - timedelta(seconds=self._stale_s))
        Row = WebhookDeliveryRow
        wanted = (
            ("processing", or_(Row.status == "received", (Row.status == "processing") & (Row.updated_at < stale))),
            ("delivering", or_(Row.status.in_(("ready", "retrying")) & (Row.next_attempt_at <= _stamp(moment)),
                               (Row.status == "delivering") & (Row.updated_at < stale))),
        )
        with self._sessions()() as session:
            for status, condition in wanted:
                for row in session.scalars(select(Row).where(condition).order_by(Row.id).limit(5)).all():
                    taken = session.execute(update(Row).where(Row.id == row.id, Row.updated_at == row.updated_at,
                                                              Row.status == row.status)
                                            .values(status=status, updated_at=_stamp()))
                    session.commit()
                    if taken.rowcount == 1:  # type: ignore[attr-defined]
                        if status == "delivering" and not row.callback_url:
                            self._save(row.ticket_key, status="ready", next_attempt_at=None)
                            continue
                        return row.ticket_key, status, row.result, row.callback_url, row.attempts
        return None

    @retry_transient
    def _save(self, key: str, **values: Any) -> None:
        with self._sessions().begin() as session:
            session.execute(update(WebhookDeliveryRow).where(WebhookDeliveryRow.ticket_key == key)
                            .values(updated_at=_stamp(), **values))

    @retry_transient
    def _next_due(self) -> float | None:
        """Seconds until the next delivery attempt is due (None: none waiting)."""
        with self._sessions()() as session:
            due = session.scalar(select(func.min(WebhookDeliveryRow.next_attempt_at))
                                 .where(WebhookDeliveryRow.status.in_(("ready", "retrying"))))
        return None if due is None else (due - datetime.now(UTC)).total_seconds()

    def _run(self) -> None:
        while not self._stop.is_set():
            wait = self._poll_s
            try:
                self.run_once()
                due = self._next_due()
                wait = self._poll_s if due is None else min(self._poll_s, max(due, 0.0))
            except Exception:
                logger.exception("webhook worker: pass failed; trying again in %.1f s", self._poll_s)
            self._wake.wait(wait)
            self._wake.clear()

    def start(self) -> None:
        """Start the background worker (once); a service without a secret has nothing to do and starts none."""
        if self._thread is None and self._settings.webhook_secret is not None and self._settings.callback_url \
                and self._settings.callback_secret is None:
            logger.warning("integrations.callback_secret is not set: deliveries are signed with webhook_secret, so "
                           "whoever can sign requests to Deskpilot can also forge its results")
        if self._thread is None and self._settings.webhook_secret is not None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="deskpilot-webhooks", daemon=True)
            self._thread.start()

    def close(self) -> None:
        """Stop the worker; work in progress is finished, what is left resumes on the next start."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=self._settings.delivery_timeout_s + 5)
            self._thread = None


def _record(row: WebhookDeliveryRow) -> dict[str, Any]:
    result = row.result or {}
    return {"ticket_key": row.ticket_key, "status": row.status, "attempts": row.attempts, "last_error": row.last_error,
            "next_attempt_at": iso(row.next_attempt_at, "microseconds"),
            "delivered_at": iso(row.delivered_at, "microseconds"),
            "created_at": iso(row.created_at), "updated_at": iso(row.updated_at, "microseconds"),
            "deskpilot_ticket_id": result.get("deskpilot_ticket_id"),
            "result": None if "input" in result else result}
