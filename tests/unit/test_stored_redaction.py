"""ops.redact_stored (issue 19 item 15): personal data in a customer's words is redacted before anything is stored
(conversation, ticket, hand-off packet, analytics event); the answer itself was made from the words as written."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from deskpilot.assist.answer import Answer
from deskpilot.assist.conversation import Caller
from deskpilot.assist.escalation import Trigger
from deskpilot.db import make_engine, make_sessionmaker, upgrade
from deskpilot.helpdesk.models import EscalationRow, EventRow, MessageRow, TicketMessageRow
from deskpilot.helpdesk.store import HelpdeskStore
from deskpilot.ingest.redact import Redactor

SECRET_BITS = ("jane.doe@example.com", "+33 6 12 34 56 78", "4111 1111 1111 1111")
QUESTION = "My card 4111 1111 1111 1111 was charged twice, mail me at jane.doe@example.com or call +33 6 12 34 56 78"


def stored_texts(tmp_path: Path, redact: bool) -> str:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    store = HelpdeskStore(sessions, redact=(lambda t: Redactor(detect_names=True).redact(t).text) if redact else None)
    answer = Answer("I'm passing this to our billing team.", [], 0.0, "escalate", ["sensitive_topic"], "en",
                    standalone=QUESTION, draft=f"About {QUESTION}",
                    triggers=[Trigger("sensitive_topic", "billing_dispute", QUESTION, "lexicon")])
    store.record_turn("c1", QUESTION, answer, Caller("widget", "customer", "v1", ("widget", "v1")))
    store.handoff("c1", None, reason="call me on +33 6 12 34 56 78")
    with sessions() as session:
        texts = [*session.scalars(select(MessageRow.content)), *session.scalars(select(TicketMessageRow.content)),
                 *session.scalars(select(EventRow.question)), *session.scalars(select(EventRow.detail))]
        for row in session.scalars(select(EscalationRow)):
            texts += [row.question, row.summary, row.triggers or ""]
    return json.dumps(texts, ensure_ascii=False)


def test_with_redact_stored_no_personal_data_is_kept(tmp_path: Path) -> None:
    kept = stored_texts(tmp_path, redact=True)
    assert not any(bit in kept for bit in SECRET_BITS)
    assert "[EMAIL]" in kept and "charged twice" in kept  # the problem is still readable by the agent


def test_without_it_the_words_are_kept_as_written(tmp_path: Path) -> None:
    kept = stored_texts(tmp_path, redact=False)
    assert all(bit in kept for bit in SECRET_BITS)
