"""The staff pages share one frame (web/staff.html.j2): the nav marks the page shown, the skip link lands on it."""

from __future__ import annotations

import re

import pytest

from deskpilot.api.routes.pages import NAV, STAFF, STATIC, render_staff_page


@pytest.mark.parametrize("path", list(STAFF))
def test_each_staff_page_has_the_frame_its_own_content_and_its_module(path: str) -> None:
    html = render_staff_page(path)
    page = STAFF[path]
    assert f"<title>{page.title} · Deskpilot</title>" in html
    assert re.findall(r'<a href="/(\w+)" aria-current="page">', html) == [path]  # only the page shown is current
    assert [href for href, _ in NAV] == re.findall(r'<a href="/(\w+)"(?: aria-current="page")?>', html)
    assert f'href="#{page.skip_to}"' in html and f'id="{page.skip_to}"' in html  # the skip link has a target
    assert 'id="dp-key-form"' in html and html.count("<main") == 1
    # one ES module, named after the page; what it shares with the other pages it imports (and the frame preloads)
    assert re.findall(r"<script[^>]*>", html) == [f'<script type="module" src="/static/{path}.js">']
    assert (STATIC / f"{path}.js").is_file()
    preloaded = re.findall(r'<link rel="modulepreload" href="/static/([\w.]+)">', html)
    assert "staff.js" in preloaded and all((STATIC / name).is_file() for name in preloaded)
