"""Conversations, escalations, tickets with agent tools, feedback, sources, ingestion jobs and reports over HTTP."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from deskpilot.api.app import create_app
from deskpilot.container import Container
from deskpilot.evaluation.harness import EvalRun
from deskpilot.evaluation.report import save_report
from deskpilot.evaluation.results import ItemResult
from deskpilot.helpdesk.models import ConversationRow
from deskpilot.ingest.sources import load_sources
from tests.conftest import KB, make_settings

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def setup(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
          models_dir: Path) -> tuple[TestClient, Container, Path]:
    """The service on the sample sources, with its database in SQLite (default) and in PostgreSQL."""
    tmp = tmp_path_factory.mktemp("helpdesk")
    articles = tmp / "articles"
    articles.mkdir()
    for name in ("reset-password.md", "refund-policy.docx", "invite-teammates.md"):
        shutil.copy(KB / "articles" / name, articles)
    (tmp / "sources.yaml").write_text(yaml.safe_dump({"sources": [
        {"name": "help", "path": str(articles)}, {"name": "runbooks", "path": str(KB / "internal"), "audience": "internal"},
        {"name": "tickets", "path": str(KB / "tickets"), "kind": "ticket"}]}))
    settings = make_settings(tmp, models_dir, llm="fake")
    if request.param == "postgres":
        settings.database_url = request.getfixturevalue("postgres")()
    settings.ingest.sources_file = tmp / "sources.yaml"
    settings.eval.reports_dir = tmp / "reports"
    settings.api.widget_key = "dp_public_widget_key_for_tests"
    container = Container(settings)
    client = TestClient(create_app(container))
    client.__enter__()  # run the lifespan (widget key)
    return client, container, tmp


@pytest.fixture(scope="module")
def ingested(setup: tuple[TestClient, Container, Path]) -> tuple[TestClient, Container, Path]:
    """`setup` with the sample sources in its index, whichever test runs first (a run over an index already built
    changes nothing)."""
    _, container, _ = setup
    report = container.ingestor.run(load_sources(container.settings.ingest.sources_file))
    assert report.failed == [] and container.store.count() > 0
    return setup


def key(container: Container, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {container.keys.create(role, role)[1]}"}


def wait_job(client: TestClient, job_id: str, headers: dict[str, str]) -> dict:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        job = client.get(f"/v1/ingest/{job_id}", headers=headers).json()
        if job["state"] in ("done", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError("ingestion job did not finish")


def test_ingestion_job_sources_and_editor_role(setup: tuple[TestClient, Container, Path]) -> None:
    client, container, _ = setup
    editor, customer = key(container, "editor"), key(container, "customer")
    assert client.post("/v1/ingest", json={}, headers=customer).status_code == 403
    started = client.post("/v1/ingest", json={"full": True}, headers=editor)  # a rebuild, whatever ran before
    assert started.status_code == 202
    job = wait_job(client, started.json()["job_id"], editor)
    assert job["state"] == "done", job
    assert job["report"]["added"] >= 3 + 4 and job["report"]["failed"] == []
    assert job["progress"]["chunks_embedded"] == job["report"]["chunks_embedded"] > 0
    assert client.get("/v1/ingest/latest", headers=editor).json()["id"] == job["id"]
    assert client.get("/v1/ingest/nope", headers=editor).status_code == 404
    sources = client.get("/v1/sources", headers=editor).json()
    ids = {s["source_id"] for s in sources["items"]}
    assert {"reset-password", "refund-approval"} <= ids and all(s["state"] == "ok" for s in sources["items"])
    assert client.get("/v1/sources?q=refund", headers=editor).json()["total"] >= 2
    assert client.get("/v1/sources", headers=customer).status_code == 403


def test_conversation_escalation_queue_claim_and_resolve(ingested: tuple[TestClient, Container, Path]) -> None:
    client, container, _ = ingested
    customer, agent = key(container, "customer"), key(container, "agent")
    first = client.post("/v1/ask", json={"question": "How long is a password reset link valid?"}, headers=customer).json()
    assert first["decision"] == "answer" and first["conversation_id"] and first["ticket_id"] is None
    cid = first["conversation_id"]
    second = client.post("/v1/ask", json={"question": "My account was hacked, someone logged in from abroad",
                                          "conversation_id": cid}, headers=customer).json()
    assert second["decision"] == "escalate" and "sensitive_topic" in second["reasons"]
    ticket_id = second["ticket_id"]
    assert ticket_id and second["conversation_id"] == cid
    turns = client.get(f"/v1/conversations/{cid}", headers=customer).json()["turns"]
    assert [t["role"] for t in turns] == ["user", "assistant", "user", "assistant"]
    other = key(container, "customer")
    assert client.get(f"/v1/conversations/{cid}", headers=other).status_code == 404
    assert client.post("/v1/ask", json={"question": "hi", "conversation_id": cid}, headers=other).status_code == 404

    queue = client.get("/v1/escalations", headers=agent).json()["items"]
    packet = next(e for e in queue if e["ticket_id"] == ticket_id)
    assert packet["reasons"] == ["sensitive_topic"] and "hacked" in packet["summary"]
    # The agent is told the sub-reason and the customer's sentence that showed it.
    why = packet["triggers"][0]
    assert (why["reason"], why["sub_reason"]) == ("sensitive_topic", "account_compromise")
    assert "hacked" in why["sentence"] and "account compromise" in packet["summary"]
    assert second["triggers"][0]["sub_reason"] == "account_compromise"
    ticket = client.get(f"/v1/tickets/{ticket_id}", headers=agent).json()
    assert [m["role"] for m in ticket["messages"]] == ["customer", "assistant", "customer", "assistant"]
    assert client.get("/v1/escalations", headers=customer).status_code == 403
    claimed = client.post(f"/v1/escalations/{ticket_id}/claim", headers=agent).json()
    assert claimed["status"] == "claimed" and claimed["claimed_by"] == "agent"
    resolved = client.post(f"/v1/escalations/{ticket_id}/resolve", json={"note": "Reset the e-mail"}, headers=agent)
    assert resolved.json()["status"] == "resolved"
    assert client.get(f"/v1/tickets/{ticket_id}", headers=agent).json()["status"] == "solved"
    assert client.post(f"/v1/escalations/{ticket_id}/claim", headers=agent).status_code == 400
    assert client.post("/v1/escalations/999999/claim", headers=agent).status_code == 404


def test_handoff_button_and_feedback(ingested: tuple[TestClient, Container, Path]) -> None:
    client, container, _ = ingested
    widget = {"Authorization": "Bearer dp_public_widget_key_for_tests", "X-Visitor-Token": "visitor-one-0123456789ab"}
    config = client.get("/v1/widget/config").json()
    assert config["public_key"] == "dp_public_widget_key_for_tests"
    answer = client.post("/v1/ask", json={"question": "How do I invite a teammate?"}, headers=widget).json()
    cid = answer["conversation_id"]
    with container.sessions() as session:  # hand-offs are throttled by its network origin, stored hashed
        origin = session.get(ConversationRow, cid).origin  # type: ignore[union-attr]
    assert origin and len(origin) == 32 and "testclient" not in origin
    # Every anonymous visitor shares the widget key: a conversation is bound to its visitor's token.
    other = {**widget, "X-Visitor-Token": "visitor-two-0123456789ab"}
    assert client.get(f"/v1/conversations/{cid}", headers=other).status_code == 404
    assert client.post("/v1/ask", json={"question": "and?", "conversation_id": cid}, headers=other).status_code == 404
    assert client.post(f"/v1/conversations/{cid}/handoff", json={}, headers=other).status_code == 404
    assert client.post("/v1/feedback", json={"conversation_id": cid, "message_index": 0, "rating": "down"},
                       headers=other).status_code == 404
    no_token = client.post("/v1/ask", json={"question": "hi"}, headers={"Authorization": widget["Authorization"]})
    assert no_token.status_code == 400 and "X-Visitor-Token" in no_token.json()["detail"]
    assert client.get(f"/v1/conversations/{cid}", headers=widget).status_code == 200
    up = client.post("/v1/feedback", json={"conversation_id": cid, "message_index": 0, "rating": "up"}, headers=widget)
    assert up.status_code == 201
    missing = client.post("/v1/feedback", json={"conversation_id": cid, "message_index": 5, "rating": "down"},
                          headers=widget)
    assert missing.status_code == 404
    handed = client.post(f"/v1/conversations/{cid}/handoff", json={"reason": "prefer a person"}, headers=widget).json()
    assert handed["status"] == "open"
    agent = key(container, "agent")
    packet = next(e for e in client.get("/v1/escalations", headers=agent).json()["items"]
                  if e["ticket_id"] == handed["ticket_id"])
    assert packet["reasons"] == ["user_requested_human"] and packet["conversation_id"] == cid
    again = client.post(f"/v1/conversations/{cid}/handoff", json={}, headers=widget).json()
    assert again["ticket_id"] == handed["ticket_id"]  # one ticket per conversation
    assert client.post("/v1/conversations/nope/handoff", json={}, headers=widget).status_code == 404


def test_tickets_and_agent_tools(ingested: tuple[TestClient, Container, Path]) -> None:
    client, container, _ = ingested
    agent = key(container, "agent")
    created = client.post("/v1/tickets", json={"subject": "Reset link expired",
                                               "body": "I clicked the password reset link but it says it expired."},
                          headers=agent)
    assert created.status_code == 201
    tid = created.json()["id"]
    assert any(t["id"] == tid for t in client.get("/v1/tickets?status=open", headers=agent).json()["items"])
    draft = client.post(f"/v1/tickets/{tid}/draft", headers=agent).json()
    assert draft["reply"] and draft["citations"] and draft["language"] == "en"
    summary = client.post(f"/v1/tickets/{tid}/summary", headers=agent).json()
    assert set(summary) == {"problem", "tried", "status", "next_action", "sentiment", "unverified"}
    assert isinstance(summary["unverified"], list)  # sentences the ticket does not back, shown to the agent apart
    suggested = client.post(f"/v1/tickets/{tid}/suggest", headers=agent).json()["items"]
    assert suggested[0]["source_id"] == "reset-password" and len(suggested) <= 3
    classified = client.post(f"/v1/tickets/{tid}/classify", headers=agent).json()
    assert classified["category"] in container.settings.assistant.categories
    flag = client.post("/v1/feedback", json={"ticket_id": tid, "target": "draft", "rating": "down",
                                             "comment": "wrong article"}, headers=agent)
    assert flag.status_code == 201
    assert client.get("/v1/tickets/424242", headers=agent).status_code == 404
    assert client.post("/v1/tickets", json={"body": "x"}, headers=key(container, "customer")).status_code == 403
    too_big = client.post("/v1/tickets", content=b"{" + b" " * 600_000 + b"}", headers={
        **agent, "Content-Type": "application/json"})
    assert too_big.status_code == 413
    assert "over" in too_big.json()["detail"]

    def streamed() -> Iterator[bytes]:  # chunked: no Content-Length to refuse it by
        yield b'{"body": "'
        for _ in range(70):
            yield b"x" * 10_000
        yield b'"}'

    unsized = client.post("/v1/tickets", content=streamed(), headers={**agent, "Content-Type": "application/json"})
    assert unsized.status_code == 413
    assert "over" in unsized.json()["detail"]


def test_eval_reports_for_qa(setup: tuple[TestClient, Container, Path]) -> None:
    client, container, tmp = setup
    item = ItemResult(id="a", question="q", kind="answerable", lang="en", role="customer", must_escalate=False,
                      gold_sources=["x"], must_not_contain=[], retrieved=["x"], decision="answer",
                      citations=[{"source_id": "x", "title": "x", "url": ""}])
    first, _ = save_report(EvalRun("s.jsonl", [item]), tmp / "reports")
    time.sleep(1.1)
    second, _ = save_report(EvalRun("s.jsonl", [item]), tmp / "reports")
    qa = key(container, "qa")
    listed = client.get("/v1/eval/reports", headers=qa).json()["items"]
    assert [r["name"] for r in listed] == [second.stem, first.stem] and listed[0]["hit@5"] == 1.0
    page = client.get(listed[0]["html_url"], headers=qa)
    assert page.status_code == 200 and "<svg" in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    # A key in the URL (access logs, history, Referer) is never accepted.
    assert client.get(f"{listed[0]['html_url']}?key={qa['Authorization'][7:]}").status_code == 401
    diff = client.get(f"/v1/eval/compare?a={first.stem}&b={second.stem}", headers=qa).json()
    assert diff["regressions"] == []
    assert client.get("/v1/eval/reports/../../etc/passwd.html", headers=qa).status_code == 404
    assert client.get("/v1/eval/reports", headers=key(container, "agent")).status_code == 403
    assert json.loads(json.dumps(diff))["items_regressed"] == []


def test_two_answers_rated_down_bring_a_human(ingested: tuple[TestClient, Container, Path]) -> None:
    client, container, _ = ingested
    customer = key(container, "customer")
    agent = key(container, "agent")
    first = client.post("/v1/ask", json={"question": "How do I reset my password?"}, headers=customer).json()
    cid = first["conversation_id"]
    client.post("/v1/ask", json={"question": "And how long is the link valid?", "conversation_id": cid},
                headers=customer)
    for index in (0, 1):
        rated = client.post("/v1/feedback", json={"rating": "down", "conversation_id": cid, "message_index": index},
                            headers=customer)
        assert rated.status_code == 201
    assert rated.json()["ticket_id"] is not None  # the second one brought a human
    conversation = container.helpdesk.conversation(cid, None)
    assert conversation.ticket_id is not None
    packet = next(e for e in client.get("/v1/escalations", headers=agent).json()["items"]
                  if e["ticket_id"] == conversation.ticket_id)
    assert packet["reasons"] == ["negative_sentiment"]
    assert packet["triggers"][0]["sub_reason"] == "answer_not_helpful"
