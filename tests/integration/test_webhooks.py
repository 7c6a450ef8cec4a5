"""The new-ticket webhook end to end: signatures, replays, idempotency, and delivery with retries to a real
loopback receiver (which checks the signature of what it receives)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from deskpilot.api.app import create_app
from deskpilot.config import Settings
from deskpilot.container import Container
from deskpilot.errors import LLMError
from tests.conftest import sample_service

pytestmark = pytest.mark.integration

SECRET = "whsec-test-3f9a"
CALLBACK_SECRET = "cbsec-test-77c1"  # signs what Deskpilot sends back: not the secret its senders hold


@dataclass
class Receiver:
    """A loopback HTTP receiver: records every POST; `plan[ticket_key]` lists the statuses to answer first."""

    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    plan: dict[str, list[int]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def deliveries(self, key: str) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.received if r["json"].get("ticket_key") == key]


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            body = json.loads(raw)
            key = body.get("ticket_key", "")
            with state.lock:
                plan = state.plan.get(key, [])
                status = plan.pop(0) if plan else 200
                state.received.append({"raw": raw, "json": body, "headers": dict(self.headers), "status": status})
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok" if status < 300 else f"receiver says {status}".encode())

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/deskpilot-callback"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, models_dir: Path,
            receiver: Receiver) -> Iterator[tuple[TestClient, Container, dict[str, dict[str, str]]]]:
    """The service on two articles with the fake LLM; webhook results go to the loopback receiver."""
    def deliver_to_the_receiver(settings: Settings) -> None:
        settings.integrations.webhook_secret = SecretStr(SECRET)
        settings.integrations.callback_url = receiver.url
        settings.integrations.callback_secret = SecretStr(CALLBACK_SECRET)
        settings.integrations.delivery_backoff_s = 0.05
        settings.integrations.delivery_attempts = 4
        settings.integrations.delivery_timeout_s = 5

    container = sample_service(tmp_path_factory.mktemp("webhooks"), models_dir,
                               ("reset-password.md", "invoices-and-billing-details.md"), configure=deliver_to_the_receiver)
    with TestClient(create_app(container)) as client:
        keys = {role: {"Authorization": f"Bearer {container.keys.create(role, role)[1]}"}
                for role in ("customer", "agent")}
        yield client, container, keys


DELIVERY = "evt-fixed-0001"  # the id signed() signs by default; post() sends it unless told another


def signed(body: bytes, secret: str = SECRET, at: int | None = None, delivery: str = DELIVERY) -> str:
    stamp = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{stamp}.{delivery}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"



def ticket_body(key: str, description: str = "I forgot my password and the reset email never arrives.") -> bytes:
    return json.dumps({"ticket": {"id": key, "subject": "Cannot log in", "description": description,
                                  "requester": {"name": "Sam", "email": "sam@example.com", "locale": "en-US"},
                                  "comments": [{"body": "I tried twice already.", "author_role": "end-user"}],
                                  "via": {"channel": "email"}}, "account_id": 42}).encode()


def post(client: TestClient, body: bytes, signature: str | None = None, request_id: str | None = None) -> Any:
    """A signed request; each gets a new delivery id unless request_id (or a ready signature, over DELIVERY) is given."""
    if request_id is None:
        request_id = DELIVERY if signature is not None else f"evt-{uuid.uuid4().hex}"
    headers = {"Content-Type": "application/json", "X-Deskpilot-Delivery": request_id,
               "X-Deskpilot-Signature": signed(body, delivery=request_id) if signature is None else signature}
    return client.post("/v1/webhooks/ticket", content=body, headers=headers)


def wait_for(check: Callable[[], Any], seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not true within {seconds} s")


def planned(service: tuple, receiver: Receiver, name: str, statuses: list[int]) -> str:
    """A new ticket posted (and accepted) whose deliveries the receiver answers with these statuses; its key."""
    key = f"{name}-{uuid.uuid4().hex[:8]}"
    receiver.plan[key] = statuses
    assert post(service[0], ticket_body(key)).status_code == 202
    return key


def final_record(client: TestClient, keys: dict, key: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        record = client.get(f"/v1/webhooks/ticket/{key}", headers=keys["agent"]).json()
        return record if record["status"] in ("delivered", "failed") else None

    return wait_for(done)  # type: ignore[no-any-return]


def test_signed_ticket_is_processed_and_delivered_signed(service: tuple, receiver: Receiver) -> None:
    client, container, keys = service
    key = f"zd-{uuid.uuid4().hex[:8]}"
    response = post(client, ticket_body(key), request_id=uuid.uuid4().hex)
    assert response.status_code == 202, response.text
    assert response.json() == {"ticket_key": key, "status": "received"}

    record = final_record(client, keys, key)
    assert record["status"] == "delivered"
    assert record["attempts"] == 1
    assert record["last_error"] == ""
    [delivery] = receiver.deliveries(key)
    # The receiver can verify the delivery with the callback secret, over the raw bytes it got; a holder of the
    # inbound secret alone could not have forged it.
    stamp, digest = (part.split("=", 1)[1] for part in delivery["headers"]["X-Deskpilot-Signature"].split(","))
    signed_id = f"{stamp}.{delivery['headers']['X-Deskpilot-Delivery']}.".encode()  # the delivery id is signed too
    expected = hmac.new(CALLBACK_SECRET.encode(), signed_id + delivery["raw"], hashlib.sha256).hexdigest()
    assert hmac.compare_digest(digest, expected)
    inbound = hmac.new(SECRET.encode(), signed_id + delivery["raw"], hashlib.sha256).hexdigest()
    assert not hmac.compare_digest(digest, inbound)
    assert abs(time.time() - int(stamp)) < 60
    payload = delivery["json"]
    assert payload["event"] == "ticket.processed"
    assert payload["errors"] == {}
    assert payload["classification"]["category"] in container.settings.assistant.categories
    assert payload["classification"]["priority"] in ("low", "normal", "high", "urgent")
    assert payload["summary"]["sentiment"] in ("positive", "neutral", "negative", "angry")
    assert payload["suggestions"][0]["source_id"] == "reset-password"
    assert payload["draft"]["reply"]
    assert payload["draft"]["citations"][0]["source_id"] == "reset-password"
    assert record["result"] == {k: v for k, v in payload.items() if k != "event"}

    # The ticket is in Deskpilot too, so agents see it in the console.
    ticket = client.get(f"/v1/tickets/{record['deskpilot_ticket_id']}", headers=keys["agent"]).json()
    assert ticket["subject"] == "Cannot log in"
    assert "reset email never arrives" in ticket["messages"][0]["content"]
    assert "I tried twice already." in ticket["messages"][0]["content"]


@pytest.mark.parametrize(("signature", "detail"), [
    (None, "missing or malformed"),
    ("v1=abc", "missing or malformed"),
    ("t=notanumber,v1=abc", "missing or malformed"),
    ("wrong-secret", "invalid signature"),
    ("tampered", "invalid signature"),
])
def test_bad_signatures_are_refused(service: tuple, receiver: Receiver, signature: str | None, detail: str) -> None:
    client, _, keys = service
    key = f"bad-{uuid.uuid4().hex[:8]}"
    body = ticket_body(key)
    header = {"wrong-secret": signed(body, "another-secret"), "tampered": signed(body.replace(b"Sam", b"Eve"))}.get(
        signature or "", signature)
    headers = {"Content-Type": "application/json", "X-Deskpilot-Delivery": DELIVERY,
               **({"X-Deskpilot-Signature": header} if header else {})}
    response = client.post("/v1/webhooks/ticket", content=body, headers=headers)
    assert response.status_code == 401
    assert detail in response.json()["detail"]
    assert client.get(f"/v1/webhooks/ticket/{key}", headers=keys["agent"]).status_code == 404


def test_the_delivery_id_is_required_and_signed(service: tuple) -> None:
    """A captured request cannot be sent again under a new delivery id (issue 19, item 6)."""
    client, _, keys = service
    key = f"id-{uuid.uuid4().hex[:8]}"
    body = ticket_body(key)
    unsigned_id = client.post("/v1/webhooks/ticket", content=body,
                              headers={"Content-Type": "application/json", "X-Deskpilot-Signature": signed(body)})
    assert unsigned_id.status_code == 401 and "missing X-Deskpilot-Delivery" in unsigned_id.json()["detail"]
    captured = {"Content-Type": "application/json", "X-Deskpilot-Delivery": "evt-original",
                "X-Deskpilot-Signature": signed(body, delivery="evt-original")}
    renamed = client.post("/v1/webhooks/ticket", content=body, headers={**captured, "X-Deskpilot-Delivery": "evt-new"})
    assert renamed.status_code == 401 and renamed.json()["detail"] == "invalid signature"
    odd = client.post("/v1/webhooks/ticket", content=body, headers={**captured, "X-Deskpilot-Delivery": "evt one"})
    assert odd.status_code == 400
    assert client.get(f"/v1/webhooks/ticket/{key}", headers=keys["agent"]).status_code == 404
    assert client.post("/v1/webhooks/ticket", content=body, headers=captured).status_code == 202


@pytest.mark.parametrize("offset", [-301, 301, -86400])
def test_timestamps_outside_the_tolerance_are_refused(service: tuple, offset: int) -> None:
    client, _, _ = service
    body = ticket_body(f"stale-{uuid.uuid4().hex[:8]}")
    response = post(client, body, signature=signed(body, at=int(time.time()) + offset))
    assert response.status_code == 401
    assert response.json()["detail"] == "timestamp outside the tolerance: replay?"


def test_a_replayed_request_id_is_refused(service: tuple) -> None:
    client, _, _ = service
    request_id = uuid.uuid4().hex
    body = ticket_body(f"replay-{uuid.uuid4().hex[:8]}")
    assert post(client, body, request_id=request_id).status_code == 202
    again = post(client, body, request_id=request_id)
    assert again.status_code == 409
    assert "replay" in again.json()["detail"]
    other = post(client, ticket_body(f"replay-{uuid.uuid4().hex[:8]}"), request_id=request_id)
    assert other.status_code == 409


def test_the_same_ticket_is_processed_and_delivered_once(service: tuple, receiver: Receiver) -> None:
    client, _, keys = service
    key = f"idem-{uuid.uuid4().hex[:8]}"
    assert post(client, ticket_body(key), request_id=uuid.uuid4().hex).status_code == 202
    early = post(client, ticket_body(key), request_id=uuid.uuid4().hex)  # a vendor retrying at once
    assert early.status_code == 200
    assert early.json()["ticket_key"] == key
    first = final_record(client, keys, key)
    assert first["status"] == "delivered"
    later = post(client, ticket_body(key, "Same ticket, edited description."), request_id=uuid.uuid4().hex)
    assert later.status_code == 200
    # A duplicate (or a replay of captured bytes) learns only that the ticket is known, never its result.
    assert later.json() == {"ticket_key": key, "status": "delivered"}
    again = final_record(client, keys, key)
    assert again["result"] == first["result"] and again["attempts"] == 1
    time.sleep(0.3)  # a second delivery would have had time to arrive
    assert len(receiver.deliveries(key)) == 1
    assert client.get(f"/v1/webhooks/ticket/{key}", headers=keys["agent"]).json()["attempts"] == 1


def test_a_failing_receiver_gets_retries_until_it_accepts(service: tuple, receiver: Receiver) -> None:
    client, _, keys = service
    key = planned(service, receiver, "retry", [500, 503])
    record = final_record(client, keys, key)
    assert (record["status"], record["attempts"], record["last_error"]) == ("delivered", 3, "")
    deliveries = receiver.deliveries(key)
    assert [d["status"] for d in deliveries] == [500, 503, 200]
    assert [d["headers"]["X-Deskpilot-Delivery"] for d in deliveries] == [f"{key}:1", f"{key}:2", f"{key}:3"]
    assert deliveries[0]["raw"] == deliveries[2]["raw"]  # the same result each time


def test_a_receiver_always_failing_ends_failed_after_every_attempt(service: tuple, receiver: Receiver) -> None:
    client, container, keys = service
    started = time.monotonic()
    key = planned(service, receiver, "down", [500] * 20)
    record = final_record(client, keys, key)
    attempts = container.settings.integrations.delivery_attempts
    assert record["status"] == "failed"
    assert record["attempts"] == attempts == 4
    assert record["last_error"].startswith("HTTP 500")
    assert record["next_attempt_at"] is None
    assert len(receiver.deliveries(key)) == attempts
    # Back-off 0.05 s doubling: at least 0.05 + 0.1 + 0.2 s between the four attempts.
    assert time.monotonic() - started >= 0.35
    assert record["result"]["draft"]["reply"]  # the result is still there to fetch


def test_a_receiver_refusing_with_400_is_not_retried(service: tuple, receiver: Receiver) -> None:
    client, _, keys = service
    key = planned(service, receiver, "refused", [400, 400])
    record = final_record(client, keys, key)
    assert (record["status"], record["attempts"], record["last_error"]) == ("failed", 1, "HTTP 400: receiver says 400")
    time.sleep(0.3)
    assert len(receiver.deliveries(key)) == 1


def test_a_failing_step_is_recorded_and_the_rest_still_delivered(service: tuple, receiver: Receiver,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    client, container, keys = service

    def llm_down(*_args: Any) -> Any:
        raise LLMError("the language model is unavailable")

    monkeypatch.setattr(container.tickets, "summarize", llm_down)
    key = f"partial-{uuid.uuid4().hex[:8]}"
    assert post(client, ticket_body(key)).status_code == 202
    record = final_record(client, keys, key)
    assert record["status"] == "delivered"
    payload = receiver.deliveries(key)[0]["json"]
    assert payload["summary"] is None
    assert payload["errors"] == {"summary": "LLMError: the language model is unavailable"}
    assert payload["draft"]["reply"]
    assert payload["suggestions"]


def test_no_callback_url_keeps_the_result_ready(service: tuple, receiver: Receiver,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    client, container, keys = service
    monkeypatch.setattr(container.settings.integrations, "callback_url", None)
    key = f"nocb-{uuid.uuid4().hex[:8]}"
    assert post(client, ticket_body(key)).status_code == 202

    def ready() -> dict[str, Any] | None:
        record = client.get(f"/v1/webhooks/ticket/{key}", headers=keys["agent"]).json()
        return record if record["status"] == "ready" else None

    record = wait_for(ready)
    assert record["result"]["classification"]["category"]
    time.sleep(0.3)
    assert client.get(f"/v1/webhooks/ticket/{key}", headers=keys["agent"]).json()["status"] == "ready"
    assert receiver.deliveries(key) == []


def test_malformed_ticket_is_refused_after_the_signature(service: tuple) -> None:
    client, _, _ = service
    body = json.dumps({"ticket": {"subject": "no id, no description"}}).encode()
    response = post(client, body)
    assert response.status_code == 400
    assert "not a ticket event" in response.json()["detail"]


def test_webhook_without_a_secret_is_off(service: tuple, monkeypatch: pytest.MonkeyPatch) -> None:
    client, container, _ = service
    monkeypatch.setattr(container.settings.integrations, "webhook_secret", None)
    body = ticket_body(f"off-{uuid.uuid4().hex[:8]}")
    response = post(client, body)
    assert response.status_code == 503
    assert response.json()["detail"] == "webhook not configured"


def test_status_route_needs_an_agent_key(service: tuple) -> None:
    client, _, keys = service
    key = f"auth-{uuid.uuid4().hex[:8]}"
    assert post(client, ticket_body(key)).status_code == 202
    assert client.get(f"/v1/webhooks/ticket/{key}").status_code == 401
    assert client.get(f"/v1/webhooks/ticket/{key}", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get(f"/v1/webhooks/ticket/{key}", headers=keys["customer"]).status_code == 403
    found = client.get(f"/v1/webhooks/ticket/{key}", headers=keys["agent"])
    assert found.status_code == 200
    assert found.json()["ticket_key"] == key
    assert client.get("/v1/webhooks/ticket/unknown-ticket", headers=keys["agent"]).status_code == 404


def test_work_left_by_a_stopped_worker_resumes_on_start(service: tuple, receiver: Receiver) -> None:
    client, container, keys = service
    container.webhooks.close()  # the service stopped: the ticket is recorded, nothing more happens
    try:
        key = planned(service, receiver, "resume", [500])
        time.sleep(0.3)
        assert client.get(f"/v1/webhooks/ticket/{key}", headers=keys["agent"]).json()["status"] == "received"
    finally:
        container.webhooks.start()  # restarted: the state in the database is picked up
    record = final_record(client, keys, key)
    assert record["status"] == "delivered"
    assert record["attempts"] == 2
