"""The API runs on the fakes (fake_app): an empty index is an honest hand-off with the /v1/ask contract."""

from __future__ import annotations

from typing import Any

from deskpilot.container import Container


def test_a_question_on_an_empty_index_is_handed_off_over_http(fake_app: Any, fake_container: Container) -> None:
    customer = {"Authorization": f"Bearer {fake_container.keys.create('customer', 'c')[1]}"}
    reply = fake_app.post("/v1/ask", json={"question": "How long is a password reset link valid?"}, headers=customer)
    assert reply.status_code == 200
    body = reply.json()
    assert (body["decision"], body["reasons"], body["citations"]) == ("escalate", ["no_relevant_source"], [])
    assert body["conversation_id"] and body["ticket_id"] is not None  # the hand-off opened a ticket
    assert fake_app.post("/v1/ask", json={"question": "hi"}).status_code == 401
