"""The widget host sites embed (GET /static/widget.js) is one classic script built from the ES modules the staff
pages share (api/bundle.py): each module once, its imports first, no import or export statement left."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from deskpilot.api.app import create_app
from deskpilot.api.bundle import BundleError, bundle
from deskpilot.api.routes.pages import STATIC, widget_script
from deskpilot.container import Container
from tests.conftest import make_settings

MODULE_SYNTAX = re.compile(r"^\s*(import\b[\s{*\"']|export\s)", re.M)


def write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_the_served_widget_is_one_classic_script_with_the_shared_code_once(tmp_path: Path) -> None:
    app = create_app(Container(make_settings(tmp_path, tmp_path / "models", llm="fake")))
    response = TestClient(app).get("/static/widget.js")  # this route, not the static files (there is no such file)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/javascript")
    assert not (STATIC / "widget.js").exists()
    script = response.text
    assert MODULE_SYNTAX.findall(script) == []
    assert script.count("\n(function () {\n") == 1 and script.rstrip().endswith("})();")
    for shared in ("function sseParser(", "async function readEvents(", "function el(", "function svgEl(",
                   "function safeUrl(", "async function send("):
        assert script.count(shared) == 1, shared
    sections = re.findall(r"^// ---- (\S+) -+$", script, re.M)
    assert sections[:3] == ["dom.js", "http.js", "sse.js"] and sections[-1] == "widget/main.js"
    assert sorted(sections[3:]) == sorted(f"widget/{p.name}" for p in (STATIC / "widget").glob("*.js"))
    assert "window.Deskpilot = { loaded: true" in script  # the embedding page's JS API


def test_an_unchanged_widget_is_answered_304_to_its_etag(tmp_path: Path) -> None:
    client = TestClient(create_app(Container(make_settings(tmp_path, tmp_path / "models", llm="fake"))))
    first = client.get("/static/widget.js")
    etag = first.headers["etag"]
    assert etag == widget_script()[1] and first.headers["cache-control"] == "no-cache"
    again = client.get("/static/widget.js", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert client.get("/static/widget.js", headers={"If-None-Match": '"other"'}).status_code == 200


def test_modules_are_joined_in_the_order_they_run(tmp_path: Path) -> None:
    write(tmp_path, {
        "a.js": 'import { b } from "./lib/b.js";\nimport { c } from "./c.js";\nexport const a = b + c;\n',
        "lib/b.js": 'import { c } from "../c.js";\nexport function b() {\n  return c;\n}\n',
        "c.js": "export const c = 1;\nlet hidden = 2;\n",
    })
    script = bundle(tmp_path / "a.js", tmp_path)
    body = script.split('"use strict";\n', 1)[1]
    assert [line for line in body.splitlines() if line and not line.startswith("//")] == [
        "const c = 1;", "let hidden = 2;", "function b() {", "  return c;", "}", "const a = b + c;", "})();"]
    assert script.startswith("/* Built by Deskpilot from c.js, lib/b.js, a.js")


@pytest.mark.parametrize(("files", "message"), [
    ({"a.js": 'import {b} from "./b.js";\n', "b.js": "export const b = 1;\n"}, "must be one line"),
    ({"a.js": 'import { b as x } from "./b.js";\n', "b.js": "export const b = 1;\n"}, "must be one line"),
    ({"a.js": "import {\n  b,\n} from \"./b.js\";\n"}, "must be one line"),
    ({"a.js": "const a = 1;\nexport { a };\n"}, "only a declaration can be exported"),
    ({"a.js": "export default function () {}\n"}, "only a declaration can be exported"),
    ({"a.js": 'import { c } from "./b.js";\n', "b.js": "export const b = 1;\n"}, "imports c which b.js does not export"),
    ({"a.js": 'import { b } from "./b.js";\nconst x = b;\n', "b.js": "export const b = 1;\nconst x = 2;\n"},
     "x is declared at the top of both b.js and a.js"),
    ({"a.js": 'import { b } from "./b.js";\nexport const a = 1;\n', "b.js": 'import { a } from "./a.js";\nexport const b = 1;\n'},
     "import cycle: a.js -> b.js -> a.js"),
    ({"a.js": 'import { b } from "./missing.js";\n'}, "a.js imports missing.js, which is not there"),
])
def test_a_module_the_bundle_cannot_join_safely_is_refused(tmp_path: Path, files: dict[str, str], message: str) -> None:
    write(tmp_path, files)
    with pytest.raises(BundleError, match=re.escape(message)):
        bundle(tmp_path / "a.js", tmp_path)
