"""Typed storage at the API: the routes declare the store's models, and their JSON is what it was when the
database kept times and JSON as text."""

from __future__ import annotations

import re
from typing import Any

ISO_SECONDS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$")  # what helpdesk.models.now() wrote


def test_openapi_shows_the_records_the_routes_return(fake_app: Any) -> None:
    paths = fake_app.get("/openapi.json").json()["paths"]

    def returned(path: str, method: str = "get", status: str = "200") -> str:
        return paths[path][method]["responses"][status]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]

    assert returned("/v1/tickets/{ticket_id}") == "Ticket" and returned("/v1/tickets") == "TicketList"
    assert returned("/v1/tickets", "post", "201") == "Ticket"
    assert returned("/v1/escalations") == "EscalationQueue"
    assert returned("/v1/escalations/{ticket_id}/claim", "post") == "Escalation"
    assert returned("/v1/ingest/{job_id}") == "IngestJob"
    schemas = fake_app.get("/openapi.json").json()["components"]["schemas"]
    assert schemas["Ticket"]["properties"]["created_at"]["type"] == "string"
    assert set(schemas["Escalation"]["required"]) >= {"ticket_id", "reasons", "triggers", "created_at"}


def test_a_ticket_reads_as_before_with_times_to_the_second_in_utc(fake_app: Any) -> None:
    container = fake_app.app.state.container
    headers = {"Authorization": f"Bearer {container.keys.create('agent', 'agent')[1]}"}
    created = fake_app.post("/v1/tickets", json={"subject": "Export", "body": "Where is the export?"}, headers=headers)
    assert created.status_code == 201
    ticket = created.json()
    assert list(ticket) == ["id", "subject", "status", "language", "source", "conversation_id", "created_at",
                            "updated_at", "messages", "escalation"]
    assert ISO_SECONDS.match(ticket["created_at"]) and ISO_SECONDS.match(ticket["messages"][0]["at"])
    assert [{**m, "at": ""} for m in ticket["messages"]] == [{"role": "customer", "content": "Where is the export?",
                                                               "at": ""}]
    listed = fake_app.get("/v1/tickets", headers=headers).json()["items"]
    assert listed == [{key: ticket[key] for key in ("id", "subject", "status", "created_at", "source")}]
    assert fake_app.get(f"/v1/tickets/{ticket['id']}", headers=headers).json() == ticket
