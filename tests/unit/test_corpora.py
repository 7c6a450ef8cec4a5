"""The LibreOffice help converter on hand-written pages in the style of the installed help (no package needed)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from deskpilot.evaluation.corpora import (
    LICENSE_NOTE_NAME,
    HelpNotFoundError,
    build_libreoffice_kb,
    convert_help_page,
    main,
    page_slug,
)

HEAD = """<!DOCTYPE html>
<html lang="en-US" dir="ltr">
<head>
<base href="../../../../">
<meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<title>{title}</title>
<link type="text/css" href="default.css" rel="Stylesheet">
<script type="text/javascript" src="help2.js" defer></script>
</head>
<body>
<header id="TopLeftHeader"><a class="logo" href="en-US/text/shared/05/new_help.html"><p dir="auto">LibreOffice 7.4 Help</p></a>
<div class="dropdowns"><button type="button" onclick="setupModules('en-US');">Module</button><nav id="modules-nav"></nav></div>
</header>
<aside class="leftside"><div id="Index"><div class="index-label" dir="auto">Index</div>
<input id="search-bar" type="search" class="search" placeholder="Search in chosen module" dir="auto"></div></aside>
<div id="DisplayArea" itemprop="softwareHelp" itemscope="true" itemtype="http://schema.org/SoftwareApplication">
<a name="bm_id5918759"></a><meta itemprop="keywords" content="page numbers,inserting">
"""
TAIL = """</div>
<div id="SearchFrame"></div>
<div id="DonationFrame"></div>
<footer><div id="DEBUG" class="debug">
<h3 class="bug">Help content debug info:</h3>
<p dir="auto">This page is: <a href="https://opengrok.libreoffice.org/xref/help/source/text/x.xhp">/text/x.xhp</a></p>
</div></footer>
<script>console.log("navigation")</script>
</body>
</html>
"""

RELATED = """
<a name="relatedtopics"></a><div class="relatedtopics">
<p class="related" itemprop="mentions" dir="auto"><a name="related"></a><span class="emph">Related Topics</span></p>
<div class="relatedbody" itemprop="mentions">
<div class="embedded"><p class="embedded" dir="auto"><a name="hf"></a>
<a target="_top" href="en-US/text/swriter/guide/header_footer.html">About Headers and Footers</a></p></div>
<p class="paragraph"><span class="switchinline"><span hidden="true" id="MACx_9" class="MAC">LibreOffice - Preferences</span>
<span hidden="true" id="defaultx_9">Tools - Options</span></span> -
<a target="_top" href="en-US/text/shared/optionen/01040000.html">Writer</a></p>
</div>
</div>
"""

PAGE_NUMBERS = HEAD.format(title="Page Numbers") + """
<h1 id="hd_id413830" dir="auto"><a name="pagenumbers"></a>Page Numbers</h1>
<p id="par_id1617175" class="paragraph" dir="auto">In Writer, a page number is a field that you can insert into your text.</p>
<h2 id="hd_id6091494" dir="auto">To Insert Page Numbers</h2>
<p class="paragraph" dir="auto">Choose <span class="menuitem">Insert - Page Number</span> to insert a page number.</p>
<div class="tip">
<div class="noteicon" dir="auto"><img src="media/icon-themes/res/helpimg/tip.svg" alt="tip"></div>
<div class="notetext"><p dir="auto">If you see the text "Page number" instead of the number, choose
<span class="menuitem">View - Field Names</span>
(<span id="swlnsys_1" class="switchinline">
<span hidden="true" id="MACtext_1" class="MAC"><span class="keycode">Command+F9</span></span>
<span hidden="true" id="defaulttext_1"><span class="keycode">Ctrl+F9</span></span></span>).</p></div>
</div>
<br>
<h2 id="hd_id2551652" dir="auto">To Start With a Defined Page Number</h2>
<ol itemprop="HowTo" itemscope="true" itemtype="http://schema.org/HowToSection" dir="auto">
 <li itemprop="itemListElement" itemscope="true" itemtype="http://schema.org/HowToStep" dir="auto">
  <p class="listitem" dir="auto">Click into the first paragraph of your document.</p>
 </li>
 <li itemprop="itemListElement" itemscope="true" itemtype="http://schema.org/HowToStep" dir="auto">
  <p class="listitem" dir="auto">Choose <span class="menuitem">Format - Paragraph - Text flow</span> tab.</p>
 </li>
 <li itemprop="itemListElement" itemscope="true" itemtype="http://schema.org/HowToStep" dir="auto">
  <p class="listitem" dir="auto">In the Breaks area, enable <span class="emph">Insert</span>.
  Click <span class="emph">OK</span>.</p>
  <p class="listitem" dir="auto">The new page number is an attribute of the first paragraph.</p>
 </li>
</ol>
<h3 id="hd_id9364909" dir="auto">To Apply a Different Page Style to the First Page</h3>
<ol start="4"><li><p class="listitem">Double-click the "First Page" style.</p></li></ol>
<span id="swlnappl_2" class="switch">
<span hidden="true" id="CALCtext_2" class="CALC"><p class="paragraph">Only in Calc: spreadsheet text.</p></span>
<span hidden="true" id="WRITERtext_2" class="WRITER"><p class="paragraph">Only in Writer: text document text.</p></span>
<span hidden="true" id="defaulttext_2"><p class="paragraph">Default text for other modules.</p></span>
</span>
<table border="1" class="" cellpadding="0" cellspacing="0">
<tr><th class="tableheadcell"><p class="tableheadintable">Wildcard</p></th>
<th class="tableheadcell"><p class="tableheadintable">Description</p></th></tr>
<tr><td><p class="tablecontentintable">* (asterisk)</p></td>
<td><p class="tablecontentintable">Matches any sequence | of characters.</p></td></tr>
</table>
<p class="paragraph">1. This paragraph only looks like a list item.</p>
<h2 id="hd_id1" dir="auto">Heading without text</h2>
""" + RELATED + TAIL

EMPTY_PAGE = HEAD.format(title="Inserting Graphics") + """
<h1 id="hd_id1" dir="auto">Inserting Graphics</h1>
<div class="embedded"><p class="embedded" dir="auto"><a target="_top" href="en-US/text/swriter/guide/insert_graphic_dialog.html">
Inserting Graphics From a File</a></p></div>
<p class="paragraph"><a target="_top" href="en-US/text/swriter/guide/insert_graphic_scan.html">Inserting a Scanned Image</a></p>
""" + RELATED + TAIL


def _sections(body: str) -> list[str]:
    return [line for line in body.splitlines() if line.startswith("#")]


def test_headings_become_markdown_headings() -> None:
    page = convert_help_page(PAGE_NUMBERS, module="swriter")
    assert page.title == "Page Numbers"
    assert _sections(page.body) == [
        "## To Insert Page Numbers",
        "## To Start With a Defined Page Number",
        "### To Apply a Different Page Style to the First Page",
    ]
    assert "# Page Numbers" not in page.body.splitlines()  # the title is written once, by the builder


def test_procedure_steps_stay_numbered_and_in_order() -> None:
    body = convert_help_page(PAGE_NUMBERS, module="swriter").body
    steps = re.findall(r"^(\d+)\. (.*)$", body, re.MULTILINE)
    assert steps[:3] == [
        ("1", "Click into the first paragraph of your document."),
        ("2", "Choose Format - Paragraph - Text flow tab."),
        ("3", "In the Breaks area, enable Insert. Click OK."),
    ]
    assert ("4", 'Double-click the "First Page" style.') in steps  # <ol start="4">
    # A second paragraph of a step stays inside the step (indented), after it.
    assert "3. In the Breaks area, enable Insert. Click OK.\n\n    The new page number is an attribute" in body


def test_menu_paths_notes_and_shortcuts_are_plain_text() -> None:
    body = convert_help_page(PAGE_NUMBERS, module="swriter").body
    assert "Choose Insert - Page Number to insert a page number." in body
    assert 'Tip: If you see the text "Page number" instead of the number, choose View - Field Names' in body
    assert "(Ctrl+F9 (macOS: Command+F9))" in body
    assert "<span" not in body and "tip.svg" not in body


def test_application_switch_follows_the_module() -> None:
    writer = convert_help_page(PAGE_NUMBERS, module="swriter").body
    calc = convert_help_page(PAGE_NUMBERS, module="scalc").body
    shared = convert_help_page(PAGE_NUMBERS, module="shared").body
    assert "Only in Writer" in writer and "Only in Calc" not in writer and "Default text" not in writer
    assert "Only in Calc" in calc and "Only in Writer" not in calc
    assert "Default text for other modules." in shared and "Only in" not in shared


def test_boilerplate_and_link_lists_are_dropped() -> None:
    body = convert_help_page(PAGE_NUMBERS, module="swriter").body
    for boilerplate in ("LibreOffice 7.4 Help", "Module", "Index", "Search in chosen module", "debug info", "This page is",
                        "console.log", "Related Topics", "About Headers and Footers", "Tools - Options", "opengrok"):
        assert boilerplate not in body, boilerplate
    assert "Heading without text" not in body  # a heading left with nothing under it goes too
    assert body.rstrip().endswith("1\\. This paragraph only looks like a list item.")


def test_tables_and_markdown_characters() -> None:
    body = convert_help_page(PAGE_NUMBERS, module="swriter").body
    assert "| Wildcard | Description |\n|---|---|\n| \\* (asterisk) | Matches any sequence \\| of characters. |" in body


def test_a_page_of_links_only_has_no_body() -> None:
    page = convert_help_page(EMPTY_PAGE, module="swriter")
    assert page.title == "Inserting Graphics"
    assert page.body == ""


def test_page_slug_flattens_the_path() -> None:
    assert page_slug("text/swriter/guide/pagenumbers.html") == "swriter-guide-pagenumbers"
    assert page_slug("text/scalc/guide/format_value_userdef.html") == "scalc-guide-format-value-userdef"


def _help_tree(root: Path, lang_folder: str = "en-US") -> Path:
    guide = root / lang_folder / "text" / "swriter" / "guide"
    guide.mkdir(parents=True)
    (guide / "pagenumbers.html").write_text(PAGE_NUMBERS, encoding="utf-8")
    (guide / "insert_graphic.html").write_text(EMPTY_PAGE, encoding="utf-8")
    other = root / lang_folder / "text" / "sbasic" / "guide"
    other.mkdir(parents=True)
    (other / "macro.html").write_text(PAGE_NUMBERS.replace("Page Numbers", "Basic macro"), encoding="utf-8")
    return root


def _front_matter(text: str) -> tuple[dict[str, object], str]:
    assert text.startswith("---\n")
    head, body = text[4:].split("\n---\n", 1)
    return yaml.safe_load(head), body


def test_build_writes_front_matter_and_skips_empty_pages(tmp_path: Path) -> None:
    help_dir = _help_tree(tmp_path / "help")
    out = tmp_path / "kb"
    stats = build_libreoffice_kb(help_dir, out, lang="en", patterns=("text/swriter/guide/*.html",))

    assert stats.pages_seen == 2 and stats.pages_written == 1
    assert stats.skipped == ["text/swriter/guide/insert_graphic.html"]
    assert sorted(p.name for p in out.iterdir()) == [LICENSE_NOTE_NAME, "swriter-guide-pagenumbers.md"]
    meta, body = _front_matter((out / "swriter-guide-pagenumbers.md").read_text(encoding="utf-8"))
    assert meta["title"] == "Page Numbers"
    assert meta["url"] == "https://help.libreoffice.org/latest/en-US/text/swriter/guide/pagenumbers.html"
    assert meta["language"] == "en"
    assert "MPL-2.0" in str(meta["license"])
    assert body.lstrip().startswith("# Page Numbers\n\nIn Writer, a page number is a field")
    note_meta, note = _front_matter((out / LICENSE_NOTE_NAME).read_text(encoding="utf-8"))
    assert note_meta["audience"] == "internal"  # never cited in customer answers
    assert "MPL-2.0" in note and "LibreOffice" in note


def test_build_is_deterministic_and_removes_only_its_own_stale_files(tmp_path: Path) -> None:
    help_dir = _help_tree(tmp_path / "help")
    out = tmp_path / "kb"
    build_libreoffice_kb(help_dir, out, patterns=("text/swriter/guide/*.html", "text/sbasic/guide/*.html"))
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    assert "sbasic-guide-macro.md" in first
    (out / "notes-by-hand.md").write_text("# Mine\n\nKeep me.\n", encoding="utf-8")

    stats = build_libreoffice_kb(help_dir, out, patterns=("text/swriter/guide/*.html", "text/sbasic/guide/*.html"))
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.name != "notes-by-hand.md"} == first

    stats = build_libreoffice_kb(help_dir, out, patterns=("text/swriter/guide/*.html",))
    assert stats.removed == ["sbasic-guide-macro.md"]
    assert (out / "notes-by-hand.md").is_file()


def test_french_help_and_language_folder(tmp_path: Path) -> None:
    help_dir = _help_tree(tmp_path / "help", "fr")
    out = tmp_path / "kb-fr"
    stats = build_libreoffice_kb(help_dir, out, lang="fr", patterns=("text/swriter/guide/*.html",))
    assert stats.help_dir == help_dir / "fr"
    meta, body = _front_matter((out / "swriter-guide-pagenumbers.md").read_text(encoding="utf-8"))
    assert meta["language"] == "fr"
    assert meta["url"] == "https://help.libreoffice.org/latest/fr/text/swriter/guide/pagenumbers.html"
    assert "Astuce : If you see" in body
    # A language's own folder can be given directly as well.
    assert build_libreoffice_kb(help_dir / "fr", tmp_path / "again", lang="fr").pages_written == 1


def test_missing_help_gives_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(HelpNotFoundError, match=r"apt-get install libreoffice-help-fr"):
        build_libreoffice_kb(tmp_path / "nowhere", tmp_path / "kb", lang="fr")
    _help_tree(tmp_path / "help")
    with pytest.raises(HelpNotFoundError, match=r"apt-get install libreoffice-help-en-us"):
        build_libreoffice_kb(tmp_path / "help" / "en-US" / "text", tmp_path / "kb")
    with pytest.raises(HelpNotFoundError, match="no help page"):
        build_libreoffice_kb(tmp_path / "help", tmp_path / "kb", patterns=("text/scalc/guide/*.html",))
    assert not (tmp_path / "kb").exists()

    assert main(["--help-dir", str(tmp_path / "nowhere"), "--out", str(tmp_path / "kb"), "--lang", "de"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: LibreOffice help for language 'de' not found")
    assert "apt-get install libreoffice-help-de" in err


def test_main_builds_the_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _help_tree(tmp_path / "help")
    out = tmp_path / "kb"
    assert main(["--help-dir", str(tmp_path / "help"), "--out", str(out), "--pattern", "text/swriter/guide/*.html"]) == 0
    assert "1 articles written" in capsys.readouterr().out
    assert (out / "swriter-guide-pagenumbers.md").is_file()
