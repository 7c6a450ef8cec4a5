"""The password-reset action end to end over `POST /v1/ask`, against the fake identity service on loopback:
proposal, parameter validation, confirmation, the authorised call, the audit log, cancellation, escalation when
the service is down or the token is missing, French messages and streaming. Plus the actions file's validation."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from deskpilot.api.app import create_app
from deskpilot.container import Container
from deskpilot.errors import ConfigError
from deskpilot.integrations.actions import load_actions, mask
from deskpilot.integrations.identity import IdentityServer, IdentityService
from tests.conftest import REPO, make_settings
from tests.servers import free_port, wait_until_up

pytestmark = pytest.mark.integration

TOKEN = "test-identity-token"
KNOWN, UNKNOWN = "jane.doe@example.com", "nobody@example.com"


@pytest.fixture
def identity() -> Iterator[IdentityServer]:
    """The fake identity service on a free loopback port."""
    server = IdentityServer(IdentityService(TOKEN), port=free_port()).start()
    yield server
    server.stop()


def actions_file(tmp_path: Path, endpoint: str) -> Path:
    """The shipped deploy/actions.yaml, pointed at endpoint."""
    data = yaml.safe_load((REPO / "deploy" / "actions.yaml").read_text(encoding="utf-8"))
    data["actions"][0]["endpoint"] = endpoint
    path = tmp_path / "actions.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def service(tmp_path: Path, models_dir: Path, identity: IdentityServer,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, Container, dict[str, str]]]:
    """The API with the fake LLM and the password-reset action pointed at the fake identity service."""
    monkeypatch.setenv("DESKPILOT_IDENTITY_TOKEN", TOKEN)
    settings = make_settings(tmp_path, models_dir, llm="fake")
    settings.integrations.actions_file = actions_file(tmp_path, f"{identity.url}/password-resets")
    settings.integrations.action_timeout_s = 3
    container = Container(settings)
    with TestClient(create_app(container)) as client:
        principal, secret = container.keys.create("customer", "c")
        yield client, container, {"Authorization": f"Bearer {secret}", "key_id": principal.key_id}


class Chat:
    """One conversation over /v1/ask."""

    def __init__(self, client: TestClient, headers: dict[str, str]) -> None:
        self.client, self.headers, self.id = client, {"Authorization": headers["Authorization"]}, None

    def say(self, question: str) -> dict:
        body = {"question": question, **({"conversation_id": self.id} if self.id else {})}
        response = self.client.post("/v1/ask", json=body, headers=self.headers)
        assert response.status_code == 200, response.text
        data = response.json()
        self.id = data["conversation_id"]
        return data


def test_password_reset_end_to_end(service: tuple, identity: IdentityServer) -> None:
    client, container, headers = service
    chat = Chat(client, headers)
    first = chat.say("Hi, I forgot my password")
    assert first["answer"] == "I can send you a password reset link. What is the e-mail address of your account?"
    assert (first["action"], first["decision"], first["citations"]) == (
        {"name": "password_reset", "status": "collecting"}, "answer", [])

    invalid = chat.say("it is jane.doe@example")
    assert invalid["answer"].startswith('"jane.doe@example" is not a valid e-mail address')
    assert invalid["action"]["status"] == "collecting"
    assert identity.service.received == []  # an invalid value never reaches the service

    confirm = chat.say(UNKNOWN)
    assert (confirm["action"]["status"], confirm["answer"]) == (
        "confirming", "Shall I send the reset link to n***@example.com? (yes/no)")
    assert identity.service.received == []  # nothing is called before the customer confirms
    unknown = chat.say("yes")
    # Whether the account exists is never told: an unknown one gets the reply a known one gets.
    assert unknown["answer"] == ("If an account exists for n***@example.com, a password reset link is on its way to "
                                 "its e-mail address. It is valid for 60 minutes.")
    assert unknown["action"]["status"] == "succeeded"

    first_chat = chat.id
    chat = Chat(client, headers)
    chat.say("I forgot my password")
    confirm = chat.say(f"Sorry, my address is {KNOWN}.")
    assert confirm["answer"] == "Shall I send the reset link to j***@example.com? (yes/no)"
    assert len(identity.service.received) == 1
    done = chat.say("yes please")
    assert done["answer"] == ("If an account exists for j***@example.com, a password reset link is on its way to its "
                              "e-mail address. It is valid for 60 minutes.")
    assert (done["action"]["status"], done["decision"], done["ticket_id"]) == ("succeeded", "answer", None)
    received = identity.service.received
    assert [(r.body, r.authorised, r.status) for r in received] == [
        ({"account": UNKNOWN}, True, 404), ({"account": KNOWN}, True, 202)]
    assert identity.service.resets == ["ACC-1001"]

    # The audit log keeps the real outcome.
    audit = [*container.actions.audit_log(first_chat), *container.actions.audit_log(chat.id)]
    assert [(a["outcome"], a["http_status"], a["params"], a["key_id"]) for a in audit] == [
        ("failed", 404, {"account": "n***@example.com"}, headers["key_id"]),
        ("succeeded", 202, {"account": "j***@example.com"}, headers["key_id"])]
    assert all(a["action"] == "password_reset" and a["latency_ms"] >= 0 and a["at"] for a in audit)
    assert KNOWN not in json.dumps(audit)

    # The turns are an ordinary conversation: history, and a new question after the action is answered normally.
    turns = container.helpdesk.conversation(chat.id).turns
    assert [t["content"] for t in turns if t["role"] == "user"] == [
        "I forgot my password", f"Sorry, my address is {KNOWN}.", "yes please"]
    assert turns[-1]["content"] == done["answer"]
    after = chat.say("What are the password requirements?")
    assert after.get("action") is None


def test_the_audit_log_is_readable_by_admins_only(service: tuple, identity: IdentityServer) -> None:
    client, container, headers = service
    chat = Chat(client, headers)
    chat.say(f"I forgot my password, my e-mail is {KNOWN}")
    chat.say("yes")
    admin = {"Authorization": f"Bearer {container.keys.create('admin', 'a')[1]}"}
    items = client.get("/v1/actions/audit", params={"conversation_id": chat.id}, headers=admin).json()["items"]
    assert [(i["action"], i["outcome"], i["http_status"], i["key_id"]) for i in items] == \
        [("password_reset", "succeeded", 202, headers["key_id"])]
    assert KNOWN not in str(items) and items[0]["params"]["account"].startswith("j***@")
    agent = {"Authorization": f"Bearer {container.keys.create('agent', 'g')[1]}"}
    assert client.get("/v1/actions/audit", headers=agent).status_code == 403
    assert client.get("/v1/actions/audit", headers={"Authorization": headers["Authorization"]}).status_code == 403


def test_no_cancels_and_nothing_is_called(service: tuple, identity: IdentityServer) -> None:
    client, container, headers = service
    chat = Chat(client, headers)
    chat.say("I forgot my password, my e-mail is john.smith@example.com")  # the value comes with it: confirm
    corrected = chat.say(f"No, it's {KNOWN}")  # a correction, not a "no"
    assert corrected["answer"] == "Shall I send the reset link to j***@example.com? (yes/no)"
    cancelled = chat.say("No")
    assert cancelled["answer"] == "All right, I won't do anything. Is there anything else I can help with?"
    assert cancelled["action"]["status"] == "cancelled"
    assert identity.service.received == []
    audit = container.actions.audit_log(chat.id)
    assert [(a["outcome"], a["detail"], a["http_status"]) for a in audit] == [
        ("refused", "cancelled by the customer", None)]


def test_how_to_question_and_other_topics_get_normal_answers(service: tuple, identity: IdentityServer) -> None:
    client, _, headers = service
    chat = Chat(client, headers)
    assert chat.say("How do I reset my password?").get("action") is None  # a how-to question: the KB answers
    chat.say("I forgot my password")
    moved_on = chat.say("Can I pay my invoice with a credit card?")  # the running action is dropped
    assert moved_on.get("action") is None
    assert chat.say(KNOWN).get("action") is None  # nothing is running any more
    assert identity.service.received == []


def test_service_down_escalates_with_the_transcript(service: tuple, identity: IdentityServer) -> None:
    client, container, headers = service
    chat = Chat(client, headers)
    chat.say("I forgot my password")
    chat.say(KNOWN)
    identity.stop()
    failed = chat.say("yes")
    assert failed["decision"] == "escalate" and failed["reasons"] == ["action_failed"]
    assert failed["ticket_id"] is not None and failed["action"]["status"] == "failed"
    assert failed["answer"] == (f"I could not send the reset link: I've passed this to our team "
                                f"(ticket {failed['ticket_id']}).")
    ticket = container.helpdesk.ticket(failed["ticket_id"])
    contents = [m.content for m in ticket.messages]
    assert contents[0] == "I forgot my password" and KNOWN in contents and contents[-2] == "yes"
    assert ticket.escalation is not None and ticket.escalation.reasons == ["action_failed"]
    [audit] = container.actions.audit_log(chat.id)
    assert (audit["outcome"], audit["http_status"]) == ("failed", None)
    assert audit["detail"].startswith("ConnectError") and audit["params"] == {"account": "j***@example.com"}


def test_server_error_escalates(service: tuple, identity: IdentityServer) -> None:
    client, container, headers = service
    chat = Chat(client, headers)
    chat.say(f"I've lost my password. Account: {KNOWN}")
    identity.service.outage = True
    failed = chat.say("yes")
    assert failed["decision"] == "escalate" and failed["ticket_id"] is not None
    assert [(a["outcome"], a["http_status"]) for a in container.actions.audit_log(chat.id)] == [("failed", 503)]


def test_timeout_escalates(service: tuple, identity: IdentityServer) -> None:
    client, container, headers = service
    container.settings.integrations.action_timeout_s = 0.3  # read when the actions are built (at start):
    container.forget("actions")  # build them again with it
    identity.service.delay_s = 2
    chat = Chat(client, headers)
    chat.say(f"I forgot my password: {KNOWN}")
    assert chat.say("yes")["decision"] == "escalate"
    [audit] = container.actions.audit_log(chat.id)
    assert (audit["outcome"], audit["http_status"], audit["detail"]) == ("failed", None, "timed out after 0.3 s")
    assert audit["latency_ms"] < 1500


def test_missing_token_is_refused_and_escalated(service: tuple, identity: IdentityServer,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    client, container, headers = service
    chat = Chat(client, headers)
    chat.say(f"I forgot my password ({KNOWN})")
    monkeypatch.delenv("DESKPILOT_IDENTITY_TOKEN")  # the secret went away between the confirmation and the call
    refused = chat.say("yes")
    assert refused["decision"] == "escalate" and refused["ticket_id"] is not None
    assert identity.service.received == []
    [audit] = container.actions.audit_log(chat.id)
    assert audit["outcome"] == "refused"
    assert audit["detail"] == "not called: environment variable DESKPILOT_IDENTITY_TOKEN is not set"


def test_an_action_whose_secret_is_not_configured_is_not_offered(service: tuple, identity: IdentityServer,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    client, container, headers = service
    monkeypatch.delenv("DESKPILOT_IDENTITY_TOKEN")
    chat = Chat(client, headers)
    reply = chat.say("I forgot my password")
    assert reply.get("action") is None  # answered (or handed over) as any question: no reset is proposed
    assert identity.service.received == [] and container.actions.audit_log(chat.id) == []


def test_unknown_accounts_get_the_reply_a_known_one_gets(service: tuple, identity: IdentityServer) -> None:
    client, _, headers = service
    replies = []
    for account in ("a@example.com", "b@example.com", KNOWN):
        chat = Chat(client, headers)
        chat.say("I forgot my password")
        chat.say(account)
        last = chat.say("yes")
        assert (last["decision"], last["action"]["status"]) == ("answer", "succeeded")
        replies.append(last["answer"].replace(account[0] + "***@", "?***@").replace("j***@", "?***@"))
    assert len(set(replies)) == 1
    assert [r.status for r in identity.service.received] == [404, 404, 202]


def test_french_conversation_gets_french_messages(service: tuple, identity: IdentityServer) -> None:
    client, _, headers = service
    chat = Chat(client, headers)
    first = chat.say("Bonjour, j'ai oublié mon mot de passe")
    assert first["answer"].startswith("Je peux vous envoyer un lien de réinitialisation")
    assert first["language"] == "fr"
    assert chat.say("marie.dupont@example.fr")["answer"] == (
        "Dois-je envoyer le lien de réinitialisation à m***@example.fr ? (oui/non)")
    done = chat.say("oui")
    assert done["answer"].startswith("Si un compte existe pour m***@example.fr, un lien de réinitialisation part")
    assert identity.service.resets == ["ACC-1003"]


def test_streaming_action_turn_ends_with_one_final_event(service: tuple) -> None:
    client, _, headers = service
    with client.stream("POST", "/v1/ask", json={"question": "I forgot my password", "stream": True},
                       headers={"Authorization": headers["Authorization"]}) as response:
        text = "".join(response.iter_text())
    events = [line.removeprefix("event:").strip() for line in text.splitlines() if line.startswith("event:")]
    data = [json.loads(line.removeprefix("data:")) for line in text.splitlines() if line.startswith("data:")]
    assert events == ["token", "final"]
    assert data[0]["text"] == data[1]["answer"]
    assert data[1]["action"] == {"name": "password_reset", "status": "collecting"}


def test_identity_service_runs_as_a_module() -> None:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "deskpilot.integrations.identity", "--port", str(port),
                                "--token", TOKEN], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/health", process, seconds=20)
        import httpx

        url = f"http://127.0.0.1:{port}/password-resets"
        auth = {"Authorization": f"Bearer {TOKEN}"}
        assert httpx.post(url, json={"account": "ACC-1002"}, headers=auth).status_code == 202
        assert httpx.post(url, json={"account": UNKNOWN}, headers=auth).status_code == 404
        assert httpx.post(url, json={"account": KNOWN}).status_code == 401
        assert httpx.post(url, json={}, headers=auth).status_code == 422
    finally:
        process.terminate()
        process.wait(10)


# --- the actions file ------------------------------------------------------------------------------------------


def test_shipped_actions_file_is_valid() -> None:
    [action] = load_actions(REPO / "deploy" / "actions.yaml")
    assert action.name == "password_reset" and action.confirm
    assert action.endpoint == "http://127.0.0.1:8765/password-resets"
    assert action.auth_header is not None and action.auth_header.value_env == "DESKPILOT_IDENTITY_TOKEN"


def _write(tmp_path: Path, **change: object) -> Path:
    data = yaml.safe_load((REPO / "deploy" / "actions.yaml").read_text(encoding="utf-8"))
    data["actions"][0].update(change)
    path = tmp_path / "actions.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(("change", "message"), [
    ({"parameters": {"type": "object", "properties": {"a": {"type": "strin"}}}}, "not a valid JSON schema"),
    ({"parameters": {"type": "string"}}, "type object"),
    ({"parameters": {"type": "object", "required": ["b"], "properties": {"a": {}}}}, "without a property: ['b']"),
    ({"endpoint": "ftp://example.com/x"}, "endpoint"),
    ({"method": "FETCH"}, "method"),
    ({"triggers": {"en": ["re:(unclosed"]}}, "bad regex"),
    ({"messages": {"en": {"confirm": "Send to {acount}?"}}}, "unknown placeholder(s) ['acount']"),
    ({"messages": {"en": {"greeting": "hi"}}}, "unknown key 'greeting'"),
    ({"auth_header": {"name": "Authorization", "value": "hard-coded-secret"}}, "auth_header"),
    ({"confirm_please": True}, "confirm_please"),
])
def test_invalid_actions_file_is_a_clear_config_error(tmp_path: Path, change: dict, message: str) -> None:
    with pytest.raises(ConfigError, match="invalid actions file") as error:
        load_actions(_write(tmp_path, **change))
    assert message in str(error.value)


def test_duplicate_names_bad_yaml_and_no_file(tmp_path: Path) -> None:
    path = _write(tmp_path)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    path.write_text(yaml.safe_dump({"actions": data["actions"] * 2}), encoding="utf-8")
    with pytest.raises(ConfigError, match="unique"):
        load_actions(path)
    path.write_text("actions: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_actions(path)
    assert load_actions(None) == [] and load_actions(tmp_path / "missing.yaml") == []


def test_mask() -> None:
    assert (mask("jane.doe@example.com"), mask("ACC-1001"), mask("ab"), mask(3)) == (
        "j***@example.com", "AC***", "***", 3)


def test_one_account_and_one_caller_are_throttled_without_telling_the_visitor(service: tuple,
                                                                            identity: IdentityServer) -> None:
    """Issue 19 item 2: at most 3 reset mails an hour for one account, 5 calls an hour from one caller; past either,
    the identity service is not called and the reply is the one a success gets (the audit log knows)."""
    client, container, headers = service
    replies = []
    for n in range(4):  # the same account four times (with its case changed: still one account)
        chat = Chat(client, headers)
        chat.say("I forgot my password")
        chat.say(KNOWN.upper() if n == 3 else KNOWN)
        replies.append(chat.say("yes"))
    assert len(identity.service.received) == 3
    assert {(r["decision"], r["action"]["status"]) for r in replies} == {("answer", "succeeded")}
    assert len({r["answer"] for r in replies[:3]}) == 1 and replies[3]["answer"].lower() == replies[0]["answer"].lower()
    refused_target = container.actions.audit_log()[0]
    assert refused_target["outcome"] == "refused" and "3 calls for these values" in refused_target["detail"]
    for account in ("other1@example.com", "other2@example.com", "other3@example.com"):
        chat = Chat(client, headers)
        chat.say("I forgot my password")
        chat.say(account)
        last = chat.say("yes")
    # calls 4 and 5 of this caller reach the service (unknown accounts: 404, concealed); the 6th does not
    assert len(identity.service.received) == 5
    assert (last["decision"], last["action"]["status"]) == ("answer", "succeeded")
    newest = container.actions.audit_log()[0]
    assert newest["outcome"] == "refused" and "5 calls from this caller" in newest["detail"]
