"""The staff pages share one frame (web/staff.html.j2): the nav marks the page shown, the skip link lands on it."""

from __future__ import annotations

import re

import pytest

from deskpilot.api.routes.pages import NAV, STAFF, render_staff_page


@pytest.mark.parametrize("path", list(STAFF))
def test_each_staff_page_has_the_frame_its_own_content_and_its_script(path: str) -> None:
    html = render_staff_page(path)
    page = STAFF[path]
    assert f"<title>{page.title} · Deskpilot</title>" in html
    assert re.findall(r'<a href="/(\w+)" aria-current="page">', html) == [path]  # only the page shown is current
    assert [href for href, _ in NAV] == re.findall(r'<a href="/(\w+)"(?: aria-current="page")?>', html)
    assert f'href="#{page.skip_to}"' in html and f'id="{page.skip_to}"' in html  # the skip link has a target
    assert 'id="dp-key-form"' in html and html.count("<main") == 1
    assert f'<script src="/static/{path}.js"></script>' in html
    assert html.index('src="/static/api.js"') < html.index(f'src="/static/{path}.js"')  # shared helpers first
