"""The web pages in real Chromium (Debian's, driven by Playwright) against a live server on loopback."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from deskpilot.api.app import create_app
from deskpilot.container import Container
from deskpilot.ingest.sources import SourceSpec
from tests.conftest import KB, make_settings, serve_in_thread

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WIDGET_KEY = "dp_public_widget_key_browser_tests"
SHOTS = Path(__file__).resolve().parents[2] / "eval" / "reports" / "screenshots"


def wait_until(page: Any, script: str, timeout: float = 15_000) -> None:
    """Poll a JavaScript expression (or function) from here until it is truthy. Unlike `wait_for_function`,
    which evaluates strings inside the page, this works under the pages' Content-Security-Policy (no eval)."""
    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(script):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {script[:120]}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[tuple[str, Container]]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make test` installs Debian's chromium package (make browser)")
    tmp = tmp_path_factory.mktemp("browser")
    settings = make_settings(tmp, models_dir, llm="fake")
    settings.api.widget_key = WIDGET_KEY
    container = Container(settings)
    container.ingestor.run([SourceSpec(path=KB / "articles"), SourceSpec(path=KB / "internal", audience="internal"),
                            SourceSpec(path=KB / "tickets", kind="ticket")])
    with serve_in_thread(create_app(container)) as url:
        yield url, container


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield instance
        instance.close()


def test_widget_streams_a_cited_answer_and_hands_off(live: tuple[str, Container], browser: object) -> None:
    url, container = live
    page = browser.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{url}/widget")
    if not page.locator("#dp-input").is_visible():
        page.click("#dp-launcher")
    page.fill("#dp-input", "How long is a password reset link valid?")
    page.click("#dp-send")
    answer = page.locator('.dp-answer[data-decision="answer"]').last
    answer.wait_for(timeout=30_000)
    assert "60 minutes" in answer.inner_text() or "reset" in answer.inner_text().lower()
    citation = page.locator("a.dp-citation").first
    citation.wait_for(timeout=10_000)
    assert "reset-password" in (citation.get_attribute("href") or "")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "widget.png"))

    before = {e.ticket_id for e in container.helpdesk.escalations("open")}
    page.click("#dp-human")
    page.locator(".dp-handoff").last.wait_for(timeout=10_000)
    after = container.helpdesk.escalations("open")
    new = [e for e in after if e.ticket_id not in before]
    assert len(new) == 1 and new[0].reasons == ["user_requested_human"]
    assert str(new[0].ticket_id) in page.locator(".dp-handoff").last.inner_text()
    assert errors == []
    page.close()


def test_agent_console_shows_a_draft_with_sources(live: tuple[str, Container], browser: object) -> None:
    url, container = live
    _, key = container.keys.create("agent", "browser agent")
    ticket_id = container.helpdesk.create_ticket("Invitation expired",
                                                 "My teammate says the invitation link I sent last week has expired.")
    page = browser.new_page(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.add_init_script(f"window.localStorage.setItem('deskpilot.key', {key!r});")
    page.goto(f"{url}/agent")
    page.get_by_text("Invitation expired").first.click(timeout=15_000)
    page.get_by_role("button", name="Draft reply").click()
    draft = page.locator("#dp-draft")
    wait_until(page, "document.querySelector('#dp-draft') && document.querySelector('#dp-draft').value.length > 20",
                           timeout=60_000)
    assert draft.input_value().strip()
    sources = page.locator("a.dp-source")
    sources.first.wait_for(timeout=10_000)
    assert sources.count() >= 1
    page.screenshot(path=str(SHOTS / "agent-console.png"), full_page=True)
    assert errors == []
    assert container.helpdesk.ticket(ticket_id).status == "open"
    page.close()


def test_qa_page_shows_a_report_without_the_key_in_any_url(live: tuple[str, Container], browser: object,
                                                           tmp_path: Path) -> None:
    from deskpilot.evaluation.harness import EvalRun
    from deskpilot.evaluation.report import save_report
    from deskpilot.evaluation.results import ItemResult

    url, container = live
    container.settings.eval.reports_dir = tmp_path
    item = ItemResult(id="a", question="q", kind="answerable", lang="en", role="customer", must_escalate=False,
                      gold_sources=["x"], must_not_contain=[], retrieved=["x"], answer="a [1]", decision="answer",
                      citations=[{"source_id": "x", "title": "x", "url": ""}])
    save_report(EvalRun("s.jsonl", [item]), tmp_path)
    _, key = container.keys.create("qa", "browser qa")
    page = browser.new_page(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
    problems: list[str] = []
    urls: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda msg: problems.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.on("request", lambda request: urls.append(request.url))
    # (the report frame is sandboxed: it has no storage, so the key is set in the top page only)
    page.add_init_script(f"try {{ window.localStorage.setItem('deskpilot.key', {key!r}); }} catch (e) {{}}")
    response = page.goto(f"{url}/qa")
    assert response is not None and "frame-ancestors 'none'" in response.headers["content-security-policy"]
    page.locator(".dp-open-report").first.click(timeout=15_000)
    wait_until(page, "(document.querySelector('#dp-report-frame').srcdoc || '').includes('<svg')")
    assert page.locator("#dp-report-frame").get_attribute("sandbox") == ""
    assert page.locator("#dp-viewer-newtab").get_attribute("href").startswith("blob:")
    assert not [u for u in urls if "key=" in u]
    assert problems == []
    page.close()


# Every page and what shows that its script ran (the widget's launcher; a staff page's signed-in role).
READY = {"": "#dp-link-widget", "widget": "#dp-launcher", "agent": "#dp-role-name", "editor": "#dp-role-name",
         "ops": "#dp-role-name", "qa": "#dp-role-name"}
# Requests a page makes on purpose that may fail: the editor asks for the last ingestion run, 404 when none ran.
EXPECTED_FAILURES = ("/v1/ingest/latest",)


@pytest.mark.parametrize("path", list(READY))
def test_each_page_loads_its_scripts_without_a_console_error(live: tuple[str, Container], browser: object,
                                                              path: str) -> None:
    url, container = live
    _, key = container.keys.create("admin", f"browser pages {path or 'index'}")
    page = browser.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    errors: list[str] = []
    failed: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(f"{msg.text} ({msg.location.get('url')})") if msg.type == "error" else None)
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 and not r.url.endswith(EXPECTED_FAILURES) else None)
    # (the QA page's report frame is sandboxed, without storage: the key is set in the top page only)
    page.add_init_script(f"try {{ window.localStorage.setItem('deskpilot.key', {key!r}); }} catch (e) {{}}")
    page.goto(f"{url}/{path}")
    page.locator(READY[path]).wait_for(timeout=30_000)
    page.wait_for_load_state("networkidle")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"page-{path or 'index'}.png"), full_page=True)
    # the browser logs each failed request as a console error: only the expected ones are let through
    errors = [e for e in errors if not any(f"{u})" in e for u in EXPECTED_FAILURES) and "favicon.ico" not in e]
    assert errors == [] and failed == []
    page.close()


def test_the_widget_is_one_classic_script_on_another_site(live: tuple[str, Container], browser: object) -> None:
    url, _ = live
    # The host site's page, exactly as the snippet on /widget says (with the company named: no config request),
    # served from another origin (another port: a public host page may not load from loopback in Chromium).
    snippet = f'<script src="{url}/static/widget.js" data-key="{WIDGET_KEY}" data-company="Acme" defer></script>'
    html = f"<!doctype html><title>Acme</title><link rel=icon href=data:,>{snippet}"  # (no favicon request)
    site = Starlette(routes=[Route("/", lambda _request: HTMLResponse(html))])
    page = browser.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    errors: list[str] = []
    ours: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("request", lambda request: ours.append(request.url) if request.url.startswith(url) else None)
    with serve_in_thread(site) as host:
        assert host != url
        page.goto(f"{host}/")
        page.locator("#dp-launcher").wait_for(timeout=15_000)
    assert ours == [f"{url}/static/widget.js"]  # one file: nothing imported at run time
    page.evaluate("window.Deskpilot.open()")
    assert page.locator("#dp-title").inner_text() == "Acme help" and page.locator("#dp-panel").is_visible()
    assert page.evaluate("document.querySelectorAll('#dp-widget-style').length") == 1
    assert errors == []
    page.close()
