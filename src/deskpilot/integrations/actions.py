"""Actions: operations on other services (a password reset, ...) that the assistant runs for a customer.

An action is declared in a YAML file (name, description, trigger phrases per language, JSON schema of its
parameters, HTTP endpoint and method, auth header from the environment, confirmation). A customer turn that
matches a trigger proposes it; the run then goes collecting -> confirming -> succeeded | failed | cancelled,
one step per customer turn, stored in `action_runs`. Every endpoint call (and every refusal) is appended to
`action_audit` with the parameters masked. Matching and parameter extraction are deterministic: no LLM.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import httpx
import jsonschema
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import func, select

from deskpilot.db import iso, retry_transient
from deskpilot.errors import ConfigError
from deskpilot.helpdesk.models import ConversationRow, now
from deskpilot.integrations.models import ActionAuditRow, ActionRunRow
from deskpilot.text.words import fold

logger = logging.getLogger(__name__)

ACTION_FAILED = "action_failed"  # the routing reason of an escalated action
OPEN = ("collecting", "confirming")
MESSAGE_KEYS = ("ask", "ask_again", "invalid", "confirm", "done", "not_found", "cancelled", "failed", "ticket")
_DEFAULT_MESSAGES: dict[str, dict[str, str]] = {
    "en": {"ask": "I can help with that ({description}). Please give me your {field}.",
           "ask_again": "Please give me your {field}.",
           "invalid": "\"{value}\" is not a valid {field}. Please check it and give it again.",
           "confirm": "Shall I go ahead ({description}) with {summary}? (yes/no)",
           "done": "Done: {description} ({summary}).",
           "not_found": "Nothing was found for {summary}. Please check it and give it again.",
           "cancelled": "All right, I won't do anything. Is there anything else I can help with?",
           "failed": "I could not complete this ({description}): I've passed this to our team.",
           "ticket": " (ticket {ticket})"},
    "fr": {"ask": "Je peux m'en occuper ({description}). Pouvez-vous me donner votre {field} ?",
           "ask_again": "Pouvez-vous me donner votre {field} ?",
           "invalid": "« {value} » n'est pas un(e) {field} valide. Vérifiez-le et donnez-le à nouveau.",
           "confirm": "Dois-je continuer ({description}) avec {summary} ? (oui/non)",
           "done": "C'est fait : {description} ({summary}).",
           "not_found": "Rien n'a été trouvé pour {summary}. Vérifiez et donnez-le à nouveau.",
           "cancelled": "D'accord, je ne fais rien. Puis-je vous aider pour autre chose ?",
           "failed": "Je n'ai pas pu terminer ({description}) : j'ai transmis votre demande à notre équipe.",
           "ticket": " (ticket {ticket})"},
}
_YES = frozenset("yes y yeah yep ok okay sure confirm oui ouais d'accord daccord ja jawohl si sí sim".split())
_NO = frozenset("no n nope nah cancel stop non annuler annule nein abbrechen nicht não nao nee".split())
_TRAILING = ".,;:!?)]}\"'»>"
_Audit = tuple[str, int | None, float | None, str]  # outcome, HTTP status, latency (ms), detail


class AuthHeader(BaseModel):
    """An auth header whose value is read from the environment at call time (never stored, never logged)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field("Authorization", min_length=1)
    value_env: str = Field(min_length=1, description="Environment variable holding the secret.")
    prefix: str = Field("", description='Put before the value, e.g. "Bearer ".')


class ActionSpec(BaseModel):
    """One declared action."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,99}$")
    description: str = Field(min_length=1)
    triggers: dict[str, list[str]] = Field(min_length=1, description="Language code -> phrases (or `re:` regexes).")
    unless: list[str] = Field(default_factory=list, description="Phrases/regexes that stop a trigger (how-to questions).")
    parameters: dict[str, Any] = Field(description="JSON schema (type object) of the parameters sent as the body.")
    endpoint: str = Field(pattern=r"^https?://\S+$")
    method: Literal["POST", "PUT", "PATCH", "DELETE"] = "POST"
    auth_header: AuthHeader | None = None
    confirm: bool = True
    max_attempts: int = Field(3, ge=1, le=10, description="Invalid or unknown values before escalating.")
    retry_statuses: list[int] = Field([404, 422], description="Statuses meaning 'check the value and give it again'.")
    conceal_statuses: list[int] = Field(
        default_factory=list, description="Statuses answered exactly like a success (the `done` message), so the "
        "reply never tells whether an account exists; the audit log keeps the real outcome.")
    messages: dict[str, dict[str, str]] = Field(default_factory=dict, description="Language -> key -> text.")
    per_target_per_hour: int = Field(
        0, ge=0, le=10_000, description="Calls with the same parameter values (one account) in an hour; past it the "
        "endpoint is not called, the reply is the `done` message (nothing tells the visitor), and the audit log says "
        "`refused`. 0: no limit.")
    per_caller_per_hour: int = Field(
        0, ge=0, le=10_000, description="Calls one caller (a widget visitor, or an API key) may cause in an hour; "
        "past it, as above. 0: no limit.")

    @field_validator("parameters")
    @classmethod
    def _schema(cls, schema: dict[str, Any]) -> dict[str, Any]:
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as exc:
            raise ValueError(f"not a valid JSON schema: {exc.message}") from None
        if schema.get("type") != "object" or not isinstance(schema.get("properties"), dict):
            raise ValueError("must be a JSON schema of type object with properties")
        missing = [r for r in schema.get("required", []) if r not in schema["properties"]]
        if missing:
            raise ValueError(f"required parameters without a property: {missing}")
        for name, prop in schema["properties"].items():
            if "x-extract" in prop:
                _compile(prop["x-extract"], f"x-extract of {name}")
        return schema

    @model_validator(mode="after")
    def _patterns_and_messages(self) -> ActionSpec:
        for phrase in [p for phrases in self.triggers.values() for p in phrases] + self.unless:
            _pattern(phrase)
        names = {"description", "field", "value", "summary", "ticket", *self.parameters["properties"]}
        for language, table in self.messages.items():
            for key, text in table.items():
                if key not in MESSAGE_KEYS:
                    raise ValueError(f"messages.{language}: unknown key {key!r} (known: {', '.join(MESSAGE_KEYS)})")
                unknown = [n for n in re.findall(r"{(\w+)}", text) if n not in names]
                if unknown:
                    raise ValueError(f"messages.{language}.{key}: unknown placeholder(s) {unknown}")
        return self


class ActionsFile(BaseModel):
    """The actions file: `actions: [...]`."""

    model_config = ConfigDict(extra="forbid")
    actions: list[ActionSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> ActionsFile:
        names = [a.name for a in self.actions]
        if len(names) != len(set(names)):
            raise ValueError(f"action names must be unique: {names}")
        return self


def load_actions(path: Path | None) -> list[ActionSpec]:
    """The declared actions (none when path is None or the file does not exist).

    Raises:
        ConfigError: the file is not valid YAML or does not follow the actions format.
    """
    if path is None:
        return []
    if not path.is_file():
        logger.warning("actions file %s not found: no actions", path)
        return []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return ActionsFile.model_validate(data).actions
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{path}: invalid actions file: {problems}") from exc


def normalize(text: str) -> str:
    """Casefolded, accents removed, punctuation turned into single spaces (apostrophes kept)."""
    text = fold(text.casefold().replace("\u2019", "'"))
    return " ".join(re.sub(r"[^\w'@.+-]+", " ", text).split())


def _target(params: Mapping[str, Any]) -> str:
    """A hash of the values an action is called with (case and spacing of text ignored): what the per-target limit
    counts, without keeping the values."""
    canonical = json.dumps({k: " ".join(str(v).lower().split()) for k, v in sorted(params.items())}, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def mask(value: Any) -> Any:
    """A value safe to show and store: j***@example.com, AC***, numbers and booleans as they are."""
    if not isinstance(value, str):
        return value
    local, at, domain = value.partition("@")
    if at:
        return f"{local[:1]}***@{domain}"
    return f"{value[:2]}***" if len(value) > 2 else "***"


def _compile(regex: str, what: str) -> re.Pattern[str]:
    try:
        return re.compile(regex, re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"{what}: bad regex {regex!r}: {exc}") from None


def _pattern(phrase: str) -> re.Pattern[str]:
    if phrase.startswith("re:"):
        return _compile(phrase[3:], "trigger")
    return re.compile(rf"(?<![\w']){re.escape(normalize(phrase))}(?![\w'])")


@dataclass(frozen=True)
class ActionTurn:
    """The reply of one action step, in the customer's language."""

    action: str
    status: str
    reply: str
    language: str
    escalate: bool = False
    ticket_note: str = " (ticket {ticket})"

    @property
    def reasons(self) -> list[str]:
        """Routing reasons: `action_failed` when the action escalates."""
        return [ACTION_FAILED] if self.escalate else []

    def with_ticket(self, ticket_id: int | None) -> str:
        """The reply with the ticket reference of an escalation."""
        if not (self.escalate and ticket_id):
            return self.reply
        note, end = self.ticket_note.format(ticket=ticket_id), len(self.reply.rstrip().rstrip(".!"))
        return self.reply[:end] + note + self.reply[end:]


@dataclass
class _Run:
    id: int | None
    spec: ActionSpec
    status: str
    params: dict[str, Any]
    language: str
    attempts: int = 0
    sent: dict[str, Any] | None = None  # what the endpoint was called with, for the audit row


class Actions:
    """Proposes, collects, confirms, calls and reports declared actions, one customer turn at a time."""

    def __init__(self, specs: Sequence[ActionSpec], sessions: Any, timeout_s: float,
                 environ: Mapping[str, str] | None = None, transport: httpx.BaseTransport | None = None) -> None:
        """Args:
            specs: the declared actions.
            sessions: SQLAlchemy session factory (action_runs, action_audit).
            timeout_s: seconds an endpoint call may take.
            environ: where auth header values are read at call time (default: the process environment).
            transport: an httpx transport for the endpoint calls (default: real network).
        """
        self.specs = {s.name: s for s in specs}
        self._triggers = [(s, lang, [_pattern(p) for p in phrases]) for s in specs for lang, phrases in s.triggers.items()]
        self._unless = {s.name: [_pattern(p) for p in s.unless] for s in specs}
        self._sessions = sessions
        self._timeout_s = timeout_s
        self._environ = os.environ if environ is None else environ
        self._transport = transport

    def match(self, question: str) -> tuple[ActionSpec, str] | None:
        """The first action a question triggers and the trigger's language, or None. An action whose endpoint
        secret is not configured is not offered (the shipped demo action stays off in a deployment that did not
        set it up): the question is answered as any other."""
        text = normalize(question)
        for spec, language, patterns in self._triggers:
            if spec.auth_header is not None and not self._environ.get(spec.auth_header.value_env):
                continue
            if any(p.search(text) for p in patterns) and not any(p.search(text) for p in self._unless[spec.name]):
                return spec, language
        return None

    def handle(self, conversation_id: str, key_id: str, question: str, new: bool = False) -> ActionTurn | None:
        """Run one step of the conversation's action, or start one; None when the turn is not about an action
        (nothing running and no trigger, or the customer moved on: the running action is then cancelled).

        Args:
            new: the conversation starts with this turn (nothing can be running: no database read).
        """
        if not self.specs:
            return None
        run = None if new else self._open_run(conversation_id)
        if run is None:
            found = self.match(question)
            if found is None:
                return None
            run = _Run(None, found[0], "collecting", {}, found[1])
            values = self._extract(run.spec, question)
            if not values:
                return self._save(run, conversation_id, key_id, self._say(run, "ask", field=self._missing(run)))
            return self._collect(run, conversation_id, key_id, values)
        words = normalize(question).split() or [""]
        values = self._extract(run.spec, question)
        answered = not values or len(words) == 1  # "no, it's jane@example.com" is a correction, not a no
        if answered and run.status == "confirming" and words[0] in _YES:
            return self._call(run, conversation_id, key_id)
        if answered and words[0] in _NO:
            run.status = "cancelled"
            return self._save(run, conversation_id, key_id, self._say(run, "cancelled"),
                              audit=("refused", None, None, "cancelled by the customer"))
        if not values:  # the customer moved on: drop the action and answer normally
            run.status = "cancelled"
            self._save(run, conversation_id, key_id, "", audit=None)
            return None
        return self._collect(run, conversation_id, key_id, values)

    # --- steps ---------------------------------------------------------------------------------------------

    def _collect(self, run: _Run, conversation_id: str, key_id: str, values: dict[str, Any]) -> ActionTurn:
        validator = jsonschema.Draft202012Validator(run.spec.parameters, format_checker=jsonschema.FormatChecker())
        merged = {**run.params, **values}
        bad = {str(e.path[0]) for e in validator.iter_errors(merged) if e.path and str(e.path[0]) in values}
        run.params = {k: v for k, v in merged.items() if k not in bad}
        if bad:
            name = sorted(bad)[0]
            return self._retry(run, conversation_id, key_id, "invalid", f"invalid {name}",
                               field=self._field(run.spec, name), value=values[name])
        if self._missing(run):
            run.status = "collecting"
            return self._save(run, conversation_id, key_id, self._say(run, "ask_again", field=self._missing(run)))
        if not run.spec.confirm:
            return self._call(run, conversation_id, key_id)
        run.status = "confirming"
        return self._save(run, conversation_id, key_id, self._say(run, "confirm"))

    def _retry(self, run: _Run, conversation_id: str, key_id: str, message: str, detail: str,
               http_status: int | None = None, latency_ms: float | None = None, **fields: Any) -> ActionTurn:
        """A value was refused (invalid, or unknown to the service): ask again, or escalate after max_attempts."""
        run.attempts += 1
        audit: _Audit | None = ("failed", http_status, latency_ms, detail) if http_status is not None else None
        if run.attempts >= run.spec.max_attempts:
            run.status = "failed"
            audit = (audit[0], http_status, latency_ms, f"{detail}; {run.attempts} attempts") if audit else \
                ("refused", None, None, f"{detail}; {run.attempts} attempts")
            return self._save(run, conversation_id, key_id, self._say(run, "failed"), audit=audit, escalate=True)
        run.status = "collecting"
        return self._save(run, conversation_id, key_id, self._say(run, message, **fields), audit=audit)

    def _call(self, run: _Run, conversation_id: str, key_id: str) -> ActionTurn:
        spec = run.spec
        busy = self._over_limit(spec, run.params, conversation_id, key_id)
        if busy:
            # Mail bombing someone's inbox, or trying many accounts from one place: not called, and the visitor
            # hears what a success says (a different reply would tell them the limit, or the account, exists).
            logger.warning("action %s not called: %s", spec.name, busy)
            run.status = "succeeded"
            run.sent = dict(run.params)
            return self._save(run, conversation_id, key_id, self._say(run, "done"),
                              audit=("refused", None, None, f"not called: {busy}"))
        headers: dict[str, str] = {}
        if spec.auth_header is not None:
            secret = self._environ.get(spec.auth_header.value_env, "")
            if not secret:
                run.status = "failed"
                detail = f"not called: environment variable {spec.auth_header.value_env} is not set"
                logger.error("action %s %s", spec.name, detail)
                return self._save(run, conversation_id, key_id, self._say(run, "failed"),
                                  audit=("refused", None, None, detail), escalate=True)
            headers[spec.auth_header.name] = spec.auth_header.prefix + secret
        run.sent = dict(run.params)
        started = time.perf_counter()
        try:
            with httpx.Client(timeout=self._timeout_s, transport=self._transport) as client:
                response = client.request(spec.method, spec.endpoint, json=run.params, headers=headers)
            status: int | None = response.status_code
            detail = f"HTTP {response.status_code}"
        except httpx.TimeoutException:
            status, detail = None, f"timed out after {self._timeout_s:g} s"
        except httpx.HTTPError as exc:
            status, detail = None, f"{type(exc).__name__}: could not reach {spec.endpoint}"
        latency = round((time.perf_counter() - started) * 1000, 1)
        logger.info("action %s called: %s in %.0f ms", spec.name, detail, latency)
        if status is not None and 200 <= status < 300:
            run.status = "succeeded"
            return self._save(run, conversation_id, key_id, self._say(run, "done"),
                              audit=("succeeded", status, latency, detail))
        if status in spec.conceal_statuses:
            # The visitor hears what a success says; only the audit log knows the value was not accepted.
            run.status = "succeeded"
            return self._save(run, conversation_id, key_id, self._say(run, "done"),
                              audit=("failed", status, latency, f"{detail}: not accepted (reply concealed)"))
        if status in spec.retry_statuses:
            summary = self._summary(run)
            run.params = {}
            return self._retry(run, conversation_id, key_id, "not_found", f"{detail}: not accepted", status, latency,
                               summary=summary)
        run.status = "failed"
        return self._save(run, conversation_id, key_id, self._say(run, "failed"),
                          audit=("failed", status, latency, detail), escalate=True)

    # --- helpers -------------------------------------------------------------------------------------------

    @retry_transient
    def _over_limit(self, spec: ActionSpec, params: dict[str, Any], conversation_id: str, key_id: str) -> str:
        """Why this call would pass an hourly limit of the action ("" when it would not)."""
        if not (spec.per_target_per_hour or spec.per_caller_per_hour):
            return ""
        since = datetime.now(UTC) - timedelta(hours=1)
        calls = select(func.count()).select_from(ActionAuditRow).where(
            ActionAuditRow.action == spec.name, ActionAuditRow.at >= since, ActionAuditRow.outcome != "refused")
        with self._sessions() as session:
            if spec.per_target_per_hour and (session.scalar(calls.where(
                    ActionAuditRow.target == _target(params))) or 0) >= spec.per_target_per_hour:
                return f"{spec.per_target_per_hour} calls for these values in the last hour"
            if spec.per_caller_per_hour:
                visitor = session.scalar(select(ConversationRow.visitor).where(ConversationRow.id == conversation_id))
                mine = (select(ConversationRow.id).where(ConversationRow.key_id == key_id,
                                                         ConversationRow.visitor == visitor)
                        if visitor else select(ConversationRow.id).where(ConversationRow.key_id == key_id))
                if (session.scalar(calls.where(ActionAuditRow.conversation_id.in_(mine))) or 0) >= \
                        spec.per_caller_per_hour:
                    return f"{spec.per_caller_per_hour} calls from this caller in the last hour"
        return ""

    @staticmethod
    def _extract(spec: ActionSpec, question: str) -> dict[str, Any]:
        """Candidate values found in the message: a property's `x-extract` regex, else a one-word message."""
        values: dict[str, Any] = {}
        text = question.strip()
        for name, prop in spec.parameters["properties"].items():
            if "x-extract" in prop:
                found = re.search(prop["x-extract"], text, re.IGNORECASE)
                if found:
                    values[name] = found.group(0).rstrip(_TRAILING)
            elif len(text.split()) == 1 and prop.get("type", "string") == "string":
                values[name] = text.rstrip(_TRAILING)
        return values

    @staticmethod
    def _field(spec: ActionSpec, name: str) -> str:
        return str(spec.parameters["properties"][name].get("title", name))

    def _missing(self, run: _Run) -> str:
        required = run.spec.parameters.get("required", [])
        return next((self._field(run.spec, n) for n in required if n not in run.params), "")

    @staticmethod
    def _summary(run: _Run) -> str:
        return ", ".join(str(mask(v)) for v in run.params.values())

    def _say(self, run: _Run, key: str, **fields: Any) -> str:
        spec, language = run.spec, run.language
        template = next(t for t in (spec.messages.get(language, {}).get(key),
                                    _DEFAULT_MESSAGES.get(language, {}).get(key),
                                    spec.messages.get("en", {}).get(key), _DEFAULT_MESSAGES["en"][key]) if t)
        values = {"description": spec.description, "summary": self._summary(run), "field": "", "value": "",
                  "ticket": "", **{n: "" for n in spec.parameters["properties"]},
                  **{k: mask(v) for k, v in run.params.items()}, **fields}
        return template.format_map(values)

    # --- storage -------------------------------------------------------------------------------------------

    @retry_transient
    def _open_run(self, conversation_id: str) -> _Run | None:
        with self._sessions() as session:
            row = session.scalar(select(ActionRunRow).where(ActionRunRow.conversation_id == conversation_id,
                                                            ActionRunRow.status.in_(OPEN))
                                 .order_by(ActionRunRow.id.desc()).limit(1))
            if row is None:
                return None
            spec = self.specs.get(row.action)
            state = row.result or {}
            if spec is None:  # the action was removed from the file since
                row.status, row.updated_at = "cancelled", now()
                session.commit()
                return None
            return _Run(row.id, spec, row.status, dict(row.params or {}), state.get("language", "en"),
                        int(state.get("attempts", 0)))

    @retry_transient
    def _save(self, run: _Run, conversation_id: str, key_id: str, reply: str,
              audit: _Audit | None = None, escalate: bool = False) -> ActionTurn:
        """Store the run (parameters masked once it is over) and its audit row in one transaction."""
        done = run.status not in OPEN
        params = {k: mask(v) for k, v in run.params.items()} if done else run.params
        state: dict[str, Any] = {"language": run.language, "attempts": run.attempts}
        if audit:
            state.update(outcome=audit[0], http_status=audit[1], detail=audit[3])
        with self._sessions.begin() as session:
            row = session.get(ActionRunRow, run.id) if run.id is not None else None
            if row is None:
                row = ActionRunRow(conversation_id=conversation_id, action=run.spec.name, key_id=key_id)
                session.add(row)
            row.params, row.status, row.result, row.updated_at = params, run.status, state, now()
            session.flush()
            run.id = row.id
            if audit:
                session.add(ActionAuditRow(run_id=row.id, action=run.spec.name, key_id=key_id,
                                           conversation_id=conversation_id,
                                           target=_target(run.params if run.sent is None else run.sent),
                                           params={k: mask(v) for k, v in
                                                   (run.params if run.sent is None else run.sent).items()},
                                           outcome=audit[0], http_status=audit[1], latency_ms=audit[2],
                                           detail=audit[3]))
        ticket = self._say(run, "ticket", ticket="{ticket}")
        return ActionTurn(run.spec.name, run.status, reply, run.language, escalate, ticket)

    @retry_transient
    def audit_log(self, conversation_id: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """The newest audit rows first (parameters already masked)."""
        with self._sessions() as session:
            query = select(ActionAuditRow).order_by(ActionAuditRow.id.desc()).limit(limit)
            if conversation_id is not None:
                query = query.where(ActionAuditRow.conversation_id == conversation_id)
            return [{"at": iso(r.at), "run_id": r.run_id, "action": r.action, "key_id": r.key_id,
                     "conversation_id": r.conversation_id, "params": r.params, "outcome": r.outcome,
                     "http_status": r.http_status, "latency_ms": r.latency_ms, "detail": r.detail}
                    for r in session.scalars(query)]
