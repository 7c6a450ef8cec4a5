"""KPI arithmetic on seeded events: every number is worked out by hand in the comments (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from deskpilot.db import make_engine, make_sessionmaker
from deskpilot.errors import InvalidInputError
from deskpilot.helpdesk.models import ConversationRow, EventRow, FeedbackRow
from deskpilot.ops.analytics import Analytics, percentile
from deskpilot.ops.period import between, since

D0, D1, D2, D3 = "2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04"


@pytest.fixture(params=["sqlite", "postgres"])
def sessions(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    url = request.getfixturevalue("postgres")() if request.param == "postgres" else f"sqlite:///{tmp_path / 'db.sqlite'}"
    return make_sessionmaker(make_engine(url))


def t(day: str, hour: int) -> str:
    return f"{day}T{hour:02d}:00:00+00:00"


def seed(sessions) -> None:  # type: ignore[no-untyped-def]
    conversations = [  # id, day, language, ticket, role
        ("c1", D1, "en", None, "customer"),  # one good answer: automated, deflected
        ("c2", D1, "en", 1, "customer"),  # answered, then escalated (low_support): ticket 1
        ("c3", D1, "fr", None, "customer"),  # answered, thumbs-down: deflected but not automated
        ("c4", D2, "fr", 2, "customer"),  # answered, then the customer asked for a human: ticket 2
        ("c5", D2, "en", 3, "customer"),  # escalated at once (no_relevant_source): ticket 3
        ("c6", D2, "de", None, "customer"),  # answered, thumbs-up: automated
        ("c7", D1, "en", None, "agent"),  # staff trying the assistant: not counted anywhere
        ("c8", D0, "en", None, "customer"),  # started before the period; its answer on D1 counts as an answer
    ]
    answers = [  # conversation, day, hour, decision, reasons, confidence, latency
        ("c1", D1, 9, "answer", [], 0.9, 1000), ("c2", D1, 10, "answer", [], 0.8, 2000),
        ("c2", D1, 11, "escalate", ["low_support"], 0.3, 3000), ("c3", D1, 12, "answer", [], 0.7, 1500),
        ("c4", D2, 9, "answer", [], 0.95, 500), ("c5", D2, 10, "escalate", ["no_relevant_source"], 0.1, 800),
        ("c6", D2, 11, "answer", [], 0.65, 1200), ("c7", D1, 9, "answer", [], 0.2, 9000),
        ("c8", D1, 13, "answer", [], 0.5, 4000), ("c8", D0, 13, "escalate", ["low_support"], 0.2, 100),
        ("c8", D3, 1, "escalate", ["low_support"], 0.2, 100),  # after the period: not an answer of it
    ]
    role = {c[0]: c[4] for c in conversations}
    with sessions.begin() as session:
        for cid, day, language, ticket, who in conversations:
            session.add(ConversationRow(id=cid, key_id="k", role=who, language=language, ticket_id=ticket,
                                        created_at=t(day, 8)))
        for cid, day, hour, decision, reasons, confidence, latency in answers:
            session.add(EventRow(kind="answer", at=t(day, hour), conversation_id=cid, role=role[cid],
                                 language="en", decision=decision, reasons=list(reasons),
                                 confidence=confidence, latency_ms=latency, question="q"))
        session.add(EventRow(kind="handoff", at=t(D2, 10), conversation_id="c4", ticket_id=2, role="customer",
                             decision="escalate", reasons=["user_requested_human"]))
        session.add_all([
            FeedbackRow(target="answer", rating="down", conversation_id="c3", message_index=0, created_at=t(D1, 13)),
            FeedbackRow(target="answer", rating="up", conversation_id="c6", message_index=0, created_at=t(D2, 12)),
            FeedbackRow(target="draft", rating="down", ticket_id=1, created_at=t(D2, 14)),
            FeedbackRow(target="answer", rating="up", conversation_id="c1", created_at=t(D3, 2)),  # after the period
        ])
        for target, kind, n in (("draft", "shown", 2), ("draft", "copied", 1), ("suggestion", "shown", 3)):
            session.add_all(EventRow(kind=kind, target=target, role="agent", ticket_id=1, at=t(D2, 15))
                            for _ in range(n))


def test_kpis_of_a_seeded_period(sessions) -> None:  # type: ignore[no-untyped-def]
    seed(sessions)
    kpis = Analytics(sessions).kpis(between(D1, D2))
    assert kpis["period"] == {"from": "2026-11-02T00:00:00+00:00", "to": "2026-11-04T00:00:00+00:00"}
    # c1..c6 started; automated c1, c6; deflected (no ticket) c1, c3, c6; escalated c2, c4, c5.
    assert kpis["conversations"] == {"started": 6, "automated": 2, "deflected": 3, "escalated": 3,
                                     "with_thumbs_down": 1, "automation_rate": 0.3333, "deflection_rate": 0.5,
                                     "escalation_rate": 0.5}
    answers = kpis["answers"]
    # Customer answers in the period: c1, c2 (2), c3, c4, c5, c6, c8 = 8, of which c2's second and c5's escalated.
    assert (answers["total"], answers["escalated"], answers["escalation_rate"]) == (8, 2, 0.25)
    # Latencies 500 800 1000 1200 1500 2000 3000 4000: nearest rank 4 of 8 and 8 of 8.
    assert answers["latency_ms"] == {"p50": 1200, "p95": 4000}
    assert answers["confidence"]["mean"] == 0.6125  # (.9 + .8 + .3 + .7 + .95 + .1 + .65 + .5) / 8
    assert [b["count"] for b in answers["confidence"]["buckets"]] == [0, 1, 0, 1, 0, 1, 1, 1, 1, 2]
    assert kpis["escalations"] == {"total": 3, "by_reason": {"low_support": 1, "no_relevant_source": 1,
                                                             "user_requested_human": 1}, "by_sub_reason": {},
                                   "share": {"low_support": 0.3333, "no_relevant_source": 0.3333,
                                             "user_requested_human": 0.3333}}
    assert kpis["csat"] == {"up": 1, "down": 1, "score": 0.5}
    assert kpis["agents"] == {
        "draft": {"shown": 2, "copied": 1, "flagged": 1, "helpful": 0, "copy_rate": 0.5},
        "summary": {"shown": 0, "copied": 0, "flagged": 0, "helpful": 0, "copy_rate": None},
        "suggestion": {"shown": 3, "copied": 0, "flagged": 0, "helpful": 0, "copy_rate": 0.0}}
    assert kpis["by_language"] == [
        {"language": "en", "conversations": 3, "automated": 1, "escalated": 2, "deflected": 1, "automation_rate": 0.3333},
        {"language": "fr", "conversations": 2, "automated": 0, "escalated": 1, "deflected": 1, "automation_rate": 0.0},
        {"language": "de", "conversations": 1, "automated": 1, "escalated": 0, "deflected": 1, "automation_rate": 1.0}]
    assert kpis["by_day"] == [
        {"day": D1, "conversations": 3, "automated": 1, "escalated": 1, "deflected": 2, "answers": 5,
         "escalations": 1, "thumbs_up": 0, "thumbs_down": 1},
        {"day": D2, "conversations": 3, "automated": 1, "escalated": 2, "deflected": 1, "answers": 3,
         "escalations": 2, "thumbs_up": 1, "thumbs_down": 0}]


def test_an_empty_period_has_no_rates_rather_than_zero_division(sessions) -> None:  # type: ignore[no-untyped-def]
    kpis = Analytics(sessions).kpis(between("2020-01-01", "2020-01-03"))
    assert kpis["conversations"]["started"] == 0
    assert kpis["conversations"]["automation_rate"] is None
    assert kpis["csat"]["score"] is None
    assert kpis["answers"]["latency_ms"] == {"p50": None, "p95": None}
    assert [d["day"] for d in kpis["by_day"]] == ["2020-01-01", "2020-01-02", "2020-01-03"]
    assert all(d["conversations"] == 0 for d in kpis["by_day"])


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 50) is None
    assert percentile([3.0], 95) == 3.0
    assert percentile([1, 2, 3, 4], 50) == 2
    assert percentile([1, 2, 3, 4], 51) == 3
    assert percentile(list(range(1, 101)), 95) == 95


@pytest.mark.parametrize("text", ["99999w", "99999d", "530w"])
def test_a_period_longer_than_ten_years_is_refused(text: str) -> None:
    with pytest.raises(InvalidInputError, match="longer than ten years"):
        since(text)
    assert len(since("520w").days) > 3600  # ten years still works


def test_sensitive_escalations_are_counted_by_sub_reason(sessions) -> None:  # type: ignore[no-untyped-def]
    def trigger(sub: str | None, reason: str = "sensitive_topic") -> dict[str, object]:
        return {"reason": reason, "sub_reason": sub, "sentence": "…", "layer": "lexicon", "score": 1.0}

    escalated = [  # (reasons, triggers)
        (["sensitive_topic"], [trigger("account_compromise"), trigger("account_compromise")]),  # one escalation
        (["sensitive_topic", "negative_sentiment"], [trigger("billing_dispute"), trigger(None, "negative_sentiment")]),
        (["sensitive_topic"], [trigger("billing_dispute"), trigger("legal_threat")]),
        (["low_support"], []),
    ]
    with sessions.begin() as session:
        for n, (reasons, triggers) in enumerate(escalated):
            session.add(EventRow(kind="answer", at=t(D1, 9 + n), conversation_id=f"s{n}", role="customer",
                                 language="en", decision="escalate", reasons=list(reasons), confidence=0.0,
                                 question="q", detail={"triggers": triggers}))
    kpis = Analytics(sessions).kpis(between(D1, D2))
    assert kpis["escalations"]["by_sub_reason"] == {"billing_dispute": 2, "account_compromise": 1, "legal_threat": 1}
    assert kpis["escalations"]["by_reason"]["sensitive_topic"] == 3
