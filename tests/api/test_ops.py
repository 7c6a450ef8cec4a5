"""KPIs, the review list and its CSV export over HTTP, from activity that went through the real service."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from deskpilot.api.app import create_app
from deskpilot.config import Settings
from deskpilot.container import Container
from deskpilot.ingest.sources import SourceSpec
from tests.conftest import sample_service

pytestmark = pytest.mark.integration

PII = ["jane.doe@example.com", "+1 415 555 0134", "4111 1111 1111 1111", "Jane Doe"]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> tuple[TestClient, Container, dict]:
    """The service on two help articles with the fake LLM; drafts from tickets are saved under its articles."""
    tmp = tmp_path_factory.mktemp("ops")

    def drafts_beside_the_articles(settings: Settings) -> None:
        settings.ops.articles_dir = tmp / "articles" / "from-tickets"

    container = sample_service(tmp, models_dir, ("reset-password.md", "invoices-and-billing-details.md"),
                               configure=drafts_beside_the_articles)
    client = TestClient(create_app(container))
    client.__enter__()
    keys = {role: {"Authorization": f"Bearer {container.keys.create(role, role)[1]}"}
            for role in ("customer", "agent", "admin")}
    return client, container, keys


def ask(client: TestClient, keys: dict, question: str, conversation: str | None = None) -> dict:
    body = {"question": question, **({"conversation_id": conversation} if conversation else {})}
    response = client.post("/v1/ask", json=body, headers=keys["customer"])
    assert response.status_code == 200, response.text
    return response.json()


def test_kpis_review_and_export_follow_what_happened(service: tuple[TestClient, Container, dict]) -> None:
    client, _, keys = service
    first = ask(client, keys, "How do I reset my password?")
    ask(client, keys, "And how long is the link valid?", first["conversation_id"])
    assert client.post(f"/v1/conversations/{first['conversation_id']}/handoff", json={"reason": "call me"},
                       headers=keys["customer"]).status_code == 200
    second = ask(client, keys, "=HYPERLINK(\"http://evil.example\") What is the airspeed of an unladen swallow?")
    third = ask(client, keys, f"Hi, I'm {PII[3]} ({PII[0]}, {PII[1]}). Where do I download my invoices?")
    assert client.post("/v1/feedback", json={"rating": "down", "conversation_id": third["conversation_id"],
                                             "message_index": 0, "comment": f"useless, card {PII[2]}"},
                       headers=keys["customer"]).status_code == 201
    ticket = client.post("/v1/tickets", json={"subject": "Invoice", "body": "Where are my invoices?"},
                         headers=keys["agent"]).json()["id"]
    assert client.post(f"/v1/tickets/{ticket}/draft", headers=keys["agent"]).status_code == 200
    assert client.post(f"/v1/tickets/{ticket}/suggest", headers=keys["agent"]).status_code == 200
    assert client.post("/v1/events", json={"kind": "copied", "target": "draft", "ticket_id": ticket},
                       headers=keys["agent"]).status_code == 201
    assert client.post("/v1/feedback", json={"rating": "down", "target": "draft", "ticket_id": ticket,
                                             "comment": "cites the wrong article"},
                       headers=keys["agent"]).status_code == 201

    kpis = client.get("/v1/analytics", params={"since": "1h"}, headers=keys["admin"]).json()
    escalated = {c["conversation_id"] for c in (second, third) if c["decision"] == "escalate"}
    escalated.add(first["conversation_id"])  # handed off
    assert kpis["conversations"]["started"] == 3
    assert kpis["conversations"]["escalated"] == len(escalated)
    assert kpis["conversations"]["automated"] == 0  # handed off, escalated or thumbs-down: none automated
    assert kpis["conversations"]["with_thumbs_down"] == 1
    assert kpis["answers"]["total"] == 4
    assert kpis["escalations"]["by_reason"]["user_requested_human"] == 1
    assert kpis["csat"] == {"up": 0, "down": 1, "score": 0.0}
    assert kpis["agents"]["draft"] == {"shown": 1, "copied": 1, "flagged": 1, "helpful": 0, "copy_rate": 1.0}
    assert kpis["agents"]["suggestion"]["shown"] == 1
    assert kpis["answers"]["latency_ms"]["p50"] > 0
    assert sum(b["count"] for b in kpis["answers"]["confidence"]["buckets"]) == 4

    review = client.get("/v1/review", params={"since": "1h"}, headers=keys["admin"]).json()["items"]
    kinds = [i["kind"] for i in review]
    assert kinds.count("thumbs_down") == 1 and kinds.count("agent_flag") == 1
    assert kinds.count("escalation") == len(escalated) - 1 + 1  # escalated answers + the hand-off
    flag = next(i for i in review if i["kind"] == "agent_flag")
    assert flag["ticket_id"] == ticket and flag["comment"] == "cites the wrong article" and flag["response"]
    down = next(i for i in review if i["kind"] == "thumbs_down")
    assert "invoices" in down["question"] and down["response"]
    handoffs = client.get("/v1/review", params={"since": "1h", "reason": "user_requested_human"},
                          headers=keys["admin"]).json()["items"]
    assert [i["conversation_id"] for i in handoffs] == [first["conversation_id"]]

    exported = client.get("/v1/review.csv", params={"since": "1h"}, headers=keys["admin"])
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == len(review)
    leaked = [p for p in PII if p in exported.text or p in str(review)]
    assert leaked == [], "personal data in the review export"
    assert "[EMAIL]" in exported.text and "[NAME]" in exported.text and "[CARD]" in exported.text
    assert not any(v.startswith("=") for row in rows for v in row.values()), "a cell a spreadsheet would run"

    metrics = client.get("/metrics", headers=keys["admin"]).text
    assert 'deskpilot_kpi{kpi="conversations_started"} 3.0' in metrics
    assert 'deskpilot_agent_outputs_total{action="copied",target="draft"} 1.0' in metrics
    assert 'deskpilot_feedback_total{rating="down",target="answer"} 1.0' in metrics
    assert "deskpilot_answer_seconds_bucket" in metrics


def test_roles_and_bad_periods(service: tuple[TestClient, Container, dict]) -> None:
    client, _, keys = service
    for path in ("/v1/analytics", "/v1/review", "/v1/review.csv"):
        assert client.get(path, headers=keys["customer"]).status_code == 403
        assert client.get(path).status_code == 401
    assert client.post("/v1/events", json={"kind": "copied", "target": "draft", "ticket_id": 1},
                       headers=keys["customer"]).status_code == 403
    assert client.post("/v1/events", json={"kind": "copied", "target": "draft", "ticket_id": 99999},
                       headers=keys["agent"]).status_code == 404
    assert client.post("/v1/events", json={"kind": "shown", "target": "draft", "ticket_id": 1},
                       headers=keys["agent"]).status_code == 422
    bad = client.get("/v1/analytics", params={"from": "yesterday"}, headers=keys["admin"])
    assert bad.status_code == 400 and "not a date" in bad.json()["detail"]
    assert client.get("/v1/analytics", params={"from": "2026-11-05", "to": "2026-11-01"},
                      headers=keys["admin"]).status_code == 400
    assert client.get("/v1/review", params={"since": "forever"}, headers=keys["admin"]).status_code == 400
    quiet = client.get("/v1/analytics", params={"from": "2020-01-01", "to": "2020-01-02"}, headers=keys["agent"])
    assert quiet.status_code == 200 and quiet.json()["conversations"]["automation_rate"] is None


def test_content_gaps_over_http(service: tuple[TestClient, Container, dict]) -> None:
    client, container, keys = service
    for question in ("Can I pay with bitcoin?", "Do you accept cryptocurrency payments like bitcoin?",
                     "Is paying in bitcoin possible?"):
        assert ask(client, keys, question)["decision"] == "escalate"
    report = client.get("/v1/gaps", params={"since": "1h"}, headers=keys["agent"]).json()
    assert report["total"] >= 3
    bitcoin = next(c for c in report["clusters"] if any("bitcoin" in e for e in c["examples"]))
    assert bitcoin["size"] >= 3 and bitcoin["proposal"] is None  # proposals only when asked for
    container.llm.model.scripted.append(  # type: ignore[attr-defined]
        '{"title": "Paying with cryptocurrency", "outline": ["Which payment methods we accept", '
        '"Whether bitcoin is accepted", "Who to contact for other methods"]}')
    proposed = client.post("/v1/gaps/propose", json={"questions": bitcoin["examples"]}, headers=keys["agent"])
    assert proposed.status_code == 200 and proposed.json()["title"] == "Paying with cryptocurrency"
    container.llm.model.scripted.append("not json at all")  # type: ignore[attr-defined]
    broken = client.post("/v1/gaps/propose", json={"questions": bitcoin["examples"]}, headers=keys["agent"])
    assert broken.status_code == 503 and "JSON" in broken.json()["detail"]
    assert client.get("/v1/gaps", headers=keys["customer"]).status_code == 403
    assert client.post("/v1/gaps/propose", json={"questions": []}, headers=keys["agent"]).status_code == 422


def test_article_from_a_solved_ticket_is_saved_and_ingested(service: tuple[TestClient, Container, dict]) -> None:
    client, container, keys = service
    editor = {"Authorization": f"Bearer {container.keys.create('editor', 'ed')[1]}"}
    asked = ask(client, keys, f"I'm {PII[3]} ({PII[0]}). How do I switch the dashboard to dark mode?")
    ticket = client.post(f"/v1/conversations/{asked['conversation_id']}/handoff", json={},
                         headers=keys["customer"]).json()["ticket_id"]
    assert client.post("/v1/kb/drafts", json={"ref": f"helpdesk:{ticket}"}, headers=editor).status_code == 400  # open
    client.post(f"/v1/escalations/{ticket}/resolve", json={"note": "Told them: Settings > Appearance > Dark."},
                headers=keys["agent"])
    solved = client.get("/v1/kb/solved-tickets", headers=editor).json()["items"]
    assert f"helpdesk:{ticket}" in [s["ref"] for s in solved]
    container.llm.model.scripted.append(  # type: ignore[attr-defined]
        "# Switch to dark mode\n\nThe dashboard has a dark theme.\n\n## Steps\n\n1. Open **Settings**.\n"
        "2. Choose **Appearance**.\n3. Select **Dark**.\n")
    draft = client.post("/v1/kb/drafts", json={"ref": f"helpdesk:{ticket}"}, headers=editor)
    assert draft.status_code == 200, draft.text
    body = draft.json()
    assert body["title"] == "Switch to dark mode" and body["provenance"]["ticket"] == f"helpdesk:{ticket}"
    assert not [p for p in PII if p in draft.text]
    saved = client.post("/v1/kb/articles", json={"markdown": body["markdown"]}, headers=editor)
    assert saved.status_code == 201, saved.text
    assert saved.json()["slug"] == "switch-to-dark-mode"
    again = client.post("/v1/kb/articles", json={"markdown": body["markdown"]}, headers=editor)
    assert again.status_code == 409
    assert client.post("/v1/kb/articles", json={"markdown": body["markdown"], "slug": "../escape"},
                       headers=editor).status_code == 400
    assert client.post("/v1/kb/drafts", json={"ref": "helpdesk:999999"}, headers=editor).status_code == 404
    assert client.get("/v1/kb/solved-tickets", headers=keys["agent"]).status_code == 403
    container.ingestor.run([SourceSpec(path=container.settings.ops.articles_dir.parent)])
    found = container.retriever.search("dark mode appearance settings", "customer").chunks
    assert found and found[0].title == "Switch to dark mode"


def test_hygiene_over_http(service: tuple[TestClient, Container, dict]) -> None:
    client, _, keys = service
    answered = ask(client, keys, "How do I reset my password?")
    assert answered["decision"] == "answer"
    cited = {c["source_id"] for c in answered["citations"]}
    report = client.get("/v1/hygiene/stale", headers=keys["agent"])
    assert report.status_code == 200
    body = report.json()
    never = {a["source_id"] for a in body["never_cited"]}
    assert cited and not cited & never
    assert body["min_citations"] == 5 and body["stale_after_days"] == 180
    conflicts = client.get("/v1/hygiene/conflicts", headers=keys["agent"])
    assert conflicts.status_code == 200 and conflicts.json() == {"items": []}  # two unrelated articles
    assert client.get("/v1/hygiene/stale", headers=keys["customer"]).status_code == 403
    assert client.get("/v1/hygiene/conflicts", params={"limit": 0}, headers=keys["agent"]).status_code == 422
