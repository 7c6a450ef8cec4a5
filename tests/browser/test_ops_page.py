"""The operations dashboard (/ops) and the agent console's usage reporting, in real Chromium against a live server.

Activity is seeded through the real HTTP API (customer questions, a hand-off, a thumbs-down, an agent's draft,
copy and flag); the page must show the numbers `GET /v1/analytics` returns and the review list `GET /v1/review`
returns, and export the CSV without putting the key in a URL.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import httpx
import pytest

from deskpilot.container import Container
from deskpilot.ops.review import CSV_FIELDS
from tests.browser.test_pages import SHOTS, browser, live, wait_until  # noqa: F401  (module-scoped fixtures: a fresh server here)

pytestmark = pytest.mark.browser

OUT_OF_SCOPE = "What is the airspeed of an unladen swallow?"
DISLIKED = "How do I download my invoices?"
# Elements reaching past a 390px screen, outside scroll boxes (tables) and screen-reader-only content.
WIDER_THAN_A_PHONE = """() => [...document.querySelectorAll('body *')]
  .filter((e) => e.getBoundingClientRect().right > 391 && !e.closest('.dp-visually-hidden, .dp-table-wrap'))
  .map((e) => `${e.tagName}#${e.id} ${Math.round(e.getBoundingClientRect().right)}px`).slice(0, 12)"""


def _pct(text: str) -> float | None:
    """A tile's percentage as a 0..1 number (None for the dash shown when there is no data)."""
    text = text.strip()
    return None if text in ("—", "–") else float(text.rstrip("%")) / 100


def _assert_rate(shown: str, expected: float | None) -> None:
    value = _pct(shown)
    assert (value is None) == (expected is None), (shown, expected)
    if expected is not None:
        assert value == pytest.approx(expected, abs=0.0006), (shown, expected)


@pytest.fixture(scope="module")
def seeded(live: tuple[str, Container]) -> dict[str, Any]:  # noqa: F811
    """Customer and agent activity through the API; returns the keys (headers) and what was created."""
    url, container = live
    keys = {role: {"Authorization": f"Bearer {container.keys.create(role, f'ops {role}')[1]}"}
            for role in ("customer", "agent", "admin")}
    with httpx.Client(base_url=url, timeout=120) as client:
        def ask(question: str) -> dict[str, Any]:
            response = client.post("/v1/ask", json={"question": question}, headers=keys["customer"])
            assert response.status_code == 200, response.text
            return response.json()

        answered = ask("How long is a password reset link valid?")
        assert answered["decision"] == "answer"
        escalated = ask(OUT_OF_SCOPE)
        assert escalated["decision"] == "escalate"
        handed = ask("How do I change the e-mail address of my account?")
        handoff = client.post(f"/v1/conversations/{handed['conversation_id']}/handoff", json={"reason": "please call me"},
                              headers=keys["customer"])
        assert handoff.status_code == 200, handoff.text
        disliked = ask(DISLIKED)
        thumbs = client.post("/v1/feedback", json={"rating": "down", "conversation_id": disliked["conversation_id"],
                                                   "message_index": 0, "comment": "did not help at all"},
                             headers=keys["customer"])
        assert thumbs.status_code == 201, thumbs.text

        body = {"subject": "Invoice address", "body": "How do I change the address on my invoices?"}
        ticket = client.post("/v1/tickets", json=body, headers=keys["agent"]).json()["id"]
        assert client.post(f"/v1/tickets/{ticket}/draft", headers=keys["agent"]).status_code == 200
        assert client.post("/v1/events", json={"kind": "copied", "target": "draft", "ticket_id": ticket},
                           headers=keys["agent"]).status_code == 201
        assert client.post("/v1/feedback", json={"rating": "down", "target": "draft", "ticket_id": ticket,
                                                 "comment": "cites the wrong article"}, headers=keys["agent"]).status_code == 201
    secret = keys["admin"]["Authorization"].removeprefix("Bearer ")
    return {"keys": keys, "ticket": ticket, "escalated": escalated, "handed": handed, "secret": secret}


def _open_ops(browser: Any, url: str, secret: str, viewport: dict[str, int]) -> tuple[Any, list[str], list[str]]:  # noqa: F811
    context = browser.new_context(viewport=viewport, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    requested: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda request: requested.append(request.url))
    page.add_init_script(f"window.localStorage.setItem('deskpilot.key', {secret!r});")
    page.goto(f"{url}/ops")
    page.locator("#dp-kpi-started .dp-kpi-value").wait_for(timeout=30_000)
    page.locator("#dp-review-list, #dp-review .dp-empty").first.wait_for(timeout=30_000)
    return page, errors, requested


def test_ops_page_shows_the_api_numbers_charts_review_and_export(live: tuple[str, Container], browser: Any,  # noqa: F811
                                                                 seeded: dict[str, Any]) -> None:
    url, _ = live
    admin = seeded["keys"]["admin"]
    page, errors, requested = _open_ops(browser, url, seeded["secret"], {"width": 1280, "height": 900})
    assert page.get_attribute("#dp-preset-7", "aria-pressed") == "true"
    start, end = page.input_value("#dp-from"), page.input_value("#dp-to")
    with httpx.Client(base_url=url, timeout=60) as client:
        kpis = client.get("/v1/analytics", params={"from": start, "to": end}, headers=admin).json()
        review = client.get("/v1/review", params={"from": start, "to": end}, headers=admin).json()["items"]
    conversations = kpis["conversations"]
    assert conversations["started"] == 4 and conversations["automated"] == 1

    # KPI tiles: the numbers the API returns
    value = lambda kpi: page.inner_text(f"#dp-kpi-{kpi} .dp-kpi-value")  # noqa: E731
    detail = lambda kpi: page.inner_text(f"#dp-kpi-{kpi} .dp-kpi-detail")  # noqa: E731
    assert value("started") == str(conversations["started"])
    _assert_rate(value("automation"), conversations["automation_rate"])
    _assert_rate(value("deflection"), conversations["deflection_rate"])
    _assert_rate(value("escalation"), conversations["escalation_rate"])
    assert detail("escalation").startswith(f"{conversations['escalated']} ")
    _assert_rate(value("csat"), kpis["csat"]["score"])
    assert detail("csat") == f"{kpis['csat']['up']} up · {kpis['csat']['down']} down"
    assert value("latency").endswith(("ms", " s")) and detail("latency").startswith("p95 ")
    assert float(value("confidence")) == pytest.approx(kpis["answers"]["confidence"]["mean"], abs=0.006)

    # charts: inline SVG with one group per day, one bar per reason, one bar per non-empty confidence bucket
    days = kpis["by_day"]
    assert page.locator("#dp-chart-days svg[role=img] g.dp-bar").count() == len(days)
    segments = sum(bool(d["automated"]) + bool(d["escalated"]) + bool(d["conversations"] - d["automated"] - d["escalated"])
                   for d in days)
    assert page.locator("#dp-chart-days svg rect").count() == segments > 0
    assert "4 conversations" in page.locator("#dp-chart-days svg > title").text_content()
    assert page.locator("#dp-chart-days .dp-visually-hidden table tbody tr").count() == len(days)
    reasons = page.locator("#dp-chart-reasons g.dp-bar")
    assert sorted(reasons.evaluate_all("els => els.map(e => e.dataset.reason)")) == sorted(kpis["escalations"]["by_reason"])
    assert "user_requested_human" in kpis["escalations"]["by_reason"]
    buckets = [b for b in kpis["answers"]["confidence"]["buckets"] if b["count"]]
    assert page.locator("#dp-chart-confidence svg rect").count() == len(buckets) > 0

    # tables
    assert page.locator("#dp-languages-body tr").count() == len(kpis["by_language"])
    draft = page.locator('#dp-agents-body tr[data-target="draft"] td')
    assert draft.all_inner_texts() == ["1", "1", "100.0%", "1", "0"]
    assert kpis["agents"]["draft"] == {"shown": 1, "copied": 1, "flagged": 1, "helpful": 0, "copy_rate": 1.0}

    # the fallback review list
    items = page.locator("#dp-review-list > li")
    assert items.count() == len(review) and page.inner_text("#dp-review-count") == f"{len(review)} items."
    text = page.inner_text("#dp-review-list")
    assert OUT_OF_SCOPE.split("?")[0] in text
    down = page.locator('#dp-review-list > li[data-kind="thumbs_down"]')
    assert down.count() == 1 and "did not help at all" in down.inner_text() and "invoices" in down.inner_text()
    flag = page.locator('#dp-review-list > li[data-kind="agent_flag"]')
    assert flag.locator("a.dp-ticket-link").get_attribute("href") == f"/agent#ticket={seeded['ticket']}"
    assert "cites the wrong article" in flag.inner_text()
    escalation = page.locator('#dp-review-list > li[data-kind="escalation"]', has_text="swallow")
    assert escalation.locator(".dp-chip").count() >= 1
    assert escalation.locator("a.dp-ticket-link").get_attribute("href") == f"/agent#ticket={seeded['escalated']['ticket_id']}"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "ops.png"), full_page=True)

    # filtering by reason
    for reason, kind, count in (("thumbs_down", "thumbs_down", 1), ("agent_flag", "agent_flag", 1),
                                ("user_requested_human", "escalation", 1)):
        page.select_option("#dp-review-reason", reason)
        wait_until(page, f"""() => {{ const li = document.querySelectorAll('#dp-review-list > li');
            return li.length === {count} && [...li].every((e) => e.dataset.kind === '{kind}'); }}""", timeout=15_000)
        assert f"reason={reason}" in page.url
    assert page.locator('#dp-review-list .dp-chip[data-reason="user_requested_human"]').count() == 1
    page.select_option("#dp-review-reason", "no_relevant_source" if "no_relevant_source" not in kpis["escalations"]["by_reason"]
                       else "llm_unavailable")
    page.locator("#dp-review .dp-empty").wait_for(timeout=15_000)
    assert page.inner_text("#dp-review .dp-empty") == "Nothing with this reason in this period."

    # the CSV export: everything, a file with the right header, the key never in a URL
    page.select_option("#dp-review-reason", "")
    wait_until(page, f"document.querySelectorAll('#dp-review-list > li').length === {len(review)}", timeout=15_000)
    with page.expect_download(timeout=30_000) as download_info:
        page.click("#dp-export")
    download = download_info.value
    assert download.suggested_filename.startswith("deskpilot-review-") and download.suggested_filename.endswith(".csv")
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert rows[0] == list(CSV_FIELDS)
    assert len(rows) == len(review) + 1
    assert "Downloaded" in page.inner_text("#dp-export-status")
    assert not [u for u in requested if seeded["secret"] in u], "the API key was put in a URL"

    # another period: presets, and an empty period shows dashes and empty states (never NaN)
    page.click("#dp-preset-30")
    wait_until(page, "document.getElementById('dp-period-label').textContent.includes('30 days')", timeout=15_000)
    assert page.get_attribute("#dp-preset-30", "aria-pressed") == "true"
    assert page.get_attribute("#dp-preset-7", "aria-pressed") == "false"
    assert page.locator("#dp-chart-days g.dp-bar").count() == 30
    page.fill("#dp-from", "2020-01-01")
    page.fill("#dp-to", "2020-01-07")
    page.click("#dp-period-apply")
    page.get_by_text("No conversations in this period.").first.wait_for(timeout=15_000)
    assert value("started") == "0" and _pct(value("automation")) is None and _pct(value("csat")) is None
    assert page.inner_text("#dp-chart-reasons") == "No escalations in this period."
    assert page.inner_text("#dp-chart-confidence") == "No answers in this period."
    page.locator("#dp-review .dp-empty").wait_for(timeout=15_000)
    assert "NaN" not in page.inner_text("main") and "undefined" not in page.inner_text("main")
    assert "from=2020-01-01" in page.url
    assert errors == []
    page.context.close()


def test_ops_page_on_a_phone(live: tuple[str, Container], browser: Any, seeded: dict[str, Any]) -> None:  # noqa: F811
    url, _ = live
    page, errors, _ = _open_ops(browser, url, seeded["secret"], {"width": 390, "height": 844})
    page.locator("#dp-chart-days svg").wait_for(timeout=15_000)
    page.screenshot(path=str(SHOTS / "ops-mobile.png"), full_page=True)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    wide = page.evaluate(WIDER_THAN_A_PHONE)
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px on a phone: {wide}"
    widths = page.locator("svg.dp-svg").evaluate_all("els => els.map(e => e.getBoundingClientRect().right)")
    assert widths and max(widths) <= 390
    assert errors == []
    page.context.close()


def test_agent_console_reports_copies_and_flags(live: tuple[str, Container], browser: Any,  # noqa: F811
                                                seeded: dict[str, Any]) -> None:
    url, container = live
    _, secret = container.keys.create("agent", "console agent")
    ticket = container.helpdesk.create_ticket("Reset link expired", "The password reset link I got says it has expired.")
    admin = seeded["keys"]["admin"]
    with httpx.Client(base_url=url, timeout=60) as client:
        before = client.get("/v1/analytics", params={"since": "1d"}, headers=admin).json()["agents"]
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.add_init_script(f"window.localStorage.setItem('deskpilot.key', {secret!r});")
    page.goto(f"{url}/agent#ticket={ticket}")

    def copied(button: str, target: str) -> None:
        with page.expect_response(lambda r: r.url.endswith("/v1/events") and r.request.method == "POST", timeout=15_000) as sent:
            page.click(button)
        assert sent.value.status == 201
        assert sent.value.request.post_data_json["target"] == target
        assert sent.value.request.post_data_json["ticket_id"] == ticket

    page.locator("#dp-summary-fields").wait_for(timeout=60_000)
    copied("#dp-copy-summary", "summary")
    assert page.inner_text("#dp-copy-summary-status") == "Copied."
    assert page.evaluate("navigator.clipboard.readText()").startswith("Problem: ")
    page.locator("#dp-suggest-list .dp-copy-link").first.wait_for(timeout=60_000)
    source_id = page.get_attribute("#dp-suggest-list .dp-copy-link >> nth=0", "data-source-id")
    with page.expect_response(lambda r: r.url.endswith("/v1/events"), timeout=15_000) as sent:
        page.click("#dp-suggest-list .dp-copy-link >> nth=0")
    assert sent.value.status == 201 and sent.value.request.post_data_json["source_id"] == source_id
    assert page.evaluate("navigator.clipboard.readText()").startswith("https://")
    page.click("#dp-draft-btn")
    wait_until(page, "document.querySelector('#dp-draft') && document.querySelector('#dp-draft').value.length > 20",
                           timeout=60_000)
    copied("#dp-copy", "draft")
    assert page.inner_text("#dp-copy-status") == "Copied."

    for target in ("summary", "suggestion"):
        page.click(f"#dp-flag-{target}-btn")
        page.fill(f"#dp-flag-{target}-comment", f"the {target} is off")
        page.click(f"#dp-flag-{target}-send")
        page.locator(f"#dp-flag-{target}-done").wait_for(timeout=15_000)
    assert page.locator("#dp-flag-form").count() == 1  # the draft's flag form keeps its ids

    with httpx.Client(base_url=url, timeout=60) as client:
        after = client.get("/v1/analytics", params={"since": "1d"}, headers=admin).json()["agents"]
        flags = client.get("/v1/review", params={"since": "1d", "reason": "agent_flag"}, headers=admin).json()["items"]
    for target in ("draft", "summary", "suggestion"):
        assert after[target]["copied"] == before[target]["copied"] + 1, target
    assert after["summary"]["flagged"] == before["summary"]["flagged"] + 1
    assert after["suggestion"]["flagged"] == before["suggestion"]["flagged"] + 1
    mine = {(i["target"], i["comment"]) for i in flags if i["ticket_id"] == ticket}
    assert mine == {("summary", "the summary is off"), ("suggestion", "the suggestion is off")}
    page.screenshot(path=str(SHOTS / "agent-console-usage.png"), full_page=True)
    assert errors == []
    context.close()


def test_sensitive_escalations_show_their_sub_reasons(live: tuple[str, Container], browser: Any,  # noqa: F811
                                                      seeded: dict[str, Any]) -> None:
    """Issue 18: the ops page names the sensitive topics behind escalations (last in this file: it adds one)."""
    url, _ = live
    with httpx.Client(base_url=url, timeout=120) as client:
        asked = client.post("/v1/ask", json={"question": "Someone hacked my account and changed my password, I did "
                                             "not do this."}, headers=seeded["keys"]["customer"]).json()
        kpis = client.get("/v1/analytics", params={"since": "7d"}, headers=seeded["keys"]["admin"]).json()
    assert asked["decision"] == "escalate" and asked["reasons"] == ["sensitive_topic"]
    assert kpis["escalations"]["by_sub_reason"] == {"account_compromise": 1}
    page, errors, _ = _open_ops(browser, url, seeded["secret"], {"width": 1280, "height": 900})
    page.locator("#dp-sub-reasons").wait_for(timeout=15_000)
    assert page.inner_text("#dp-sub-reasons") == "Sensitive topics: account compromise 1."
    assert errors == []
    page.context.close()
