"""Evaluation corpora built from public help content that this project did not write.

The LibreOffice help (Debian packages `libreoffice-help-en-us`, `libreoffice-help-fr`, ...) is installed as
generated HTML pages under /usr/share/libreoffice/help/<lang>/text/. `build_libreoffice_kb` turns a selection
of those pages (the Writer, Calc and shared how-to guides by default) into a folder of Markdown articles that
`deskpilot ingest` reads: one file per page, with YAML front matter, `##` headings, numbered procedure steps
and menu paths as plain text ("Choose Format - Paragraph"). Navigation, scripts, icons and link-only lists
("Related Topics") are dropped, and pages left without text are skipped.

Run it as `python -m deskpilot.evaluation.corpora --out eval/corpora/libreoffice/kb` (add `--lang fr` and
`--out eval/corpora/libreoffice/kb/fr` for the French help, so that one index holds both and French source ids
start with `fr/`; `make eval-data` does both). No network access is needed.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import yaml

from deskpilot.errors import ConfigError

logger = logging.getLogger(__name__)

DEFAULT_HELP_DIR = Path("/usr/share/libreoffice/help")
# Task-oriented guide pages of the modules most customers use; about 370 pages per language (LibreOffice 7.4).
DEFAULT_PATTERNS: tuple[str, ...] = ("text/swriter/guide/*.html", "text/scalc/guide/*.html", "text/shared/guide/*.html")
HELP_BASE_URL = "https://help.libreoffice.org/latest"
LICENSE = "MPL-2.0"
LICENSE_SUMMARY = (
    "LibreOffice help, (c) LibreOffice contributors and The Document Foundation; parts (c) Oracle and/or its "
    "affiliates; MPL-2.0 (some files include Apache-2.0 licensed material)"
)
LICENSE_NOTE_NAME = ".LICENSE-NOTE.md"  # hidden: ingestion skips it, so it is never indexed or cited
GENERATOR = "deskpilot.evaluation.corpora"

_VOID_TAGS = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
                        "track", "wbr"})
_DROP_TAGS = frozenset({"script", "style", "noscript", "head", "header", "footer", "aside", "nav", "img", "svg",
                        "button", "input", "label", "meta", "link", "object", "iframe", "form", "select"})
_DROP_CLASSES = frozenset({"noteicon", "related", "debug"})
_DROP_IDS = frozenset({"SearchFrame", "DonationFrame", "DEBUG", "TopLeftHeader"})
_BLOCK_TAGS = frozenset({"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ol", "ul", "li", "table", "pre", "blockquote",
                         "section", "article", "dl", "dt", "dd", "tr", "td", "th", "thead", "tbody", "center"})
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_SYSTEM_CASES = {"MAC": "macOS", "WIN": "Windows", "UNIX": "Linux"}
# The help pages of a module show that module's case of an application switch; shared pages show the default.
_MODULE_APP = {"swriter": "WRITER", "scalc": "CALC", "simpress": "IMPRESS", "sdraw": "DRAW", "smath": "MATH",
               "schart": "CHART", "sdatabase": "BASE"}
_NOTE_LABELS = {
    "en": {"note": "Note:", "tip": "Tip:", "warning": "Warning:"},
    "fr": {"note": "Remarque :", "tip": "Astuce :", "warning": "Avertissement :"},
    "de": {"note": "Hinweis:", "tip": "Tipp:", "warning": "Warnung:"},
    "es": {"note": "Nota:", "tip": "Consejo:", "warning": "Advertencia:"},
}
_ON_SYSTEM = {"en": "On {}:", "fr": "Sous {} :", "de": "Unter {}:", "es": "En {}:"}
_WS_RE = re.compile(r"\s+")
_SLUG_RE = re.compile(r"[^a-z0-9]+")
_BLOCK_START_RE = re.compile(r"^(#|>|[-+]\s|=+\s*$|-{3,})")
_NUMBERED_RE = re.compile(r"^(\d+)[.)](\s|$)")


class HelpNotFoundError(ConfigError):
    """The LibreOffice help for a language is not installed (or the folder is not a help folder)."""


@dataclass
class CorpusStats:
    """What a build wrote.

    Attributes:
        lang: the language asked for.
        help_dir: the help folder of that language that was read (e.g. /usr/share/libreoffice/help/en-US).
        out_dir: the folder the Markdown files were written to.
        pages_seen: help pages matched by the patterns.
        pages_written: Markdown files written (one per page with text).
        skipped: relative paths of pages skipped because no text was left after cleaning.
        removed: stale files of an earlier build that were removed.
        chars: characters of Markdown written, front matter included.
    """

    lang: str
    help_dir: Path
    out_dir: Path
    pages_seen: int = 0
    pages_written: int = 0
    skipped: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    chars: int = 0


@dataclass
class _Node:
    tag: str
    attrs: dict[str, str]
    children: list[_Node | str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())


@dataclass
class HelpPage:
    """A help page converted to Markdown.

    Attributes:
        title: the page title.
        body: the Markdown body, without the `# Title` line (empty when the page has no text).
    """

    title: str
    body: str


class _TreeBuilder(HTMLParser):
    """A forgiving HTML tree builder (the help pages are generated, so a simple stack is enough)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Node("#root", {})
        self._stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = _Node(tag, {name: value or "" for name, value in attrs})
        self._stack[-1].children.append(node)
        if tag not in _VOID_TAGS:
            self._stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._stack[-1].children.append(_Node(tag, {name: value or "" for name, value in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self._stack) - 1, 0, -1):
            if self._stack[depth].tag == tag:
                del self._stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self._stack[-1].children.append(data)


def _parse(html: str) -> _Node:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def _find(node: _Node, predicate: Callable[[_Node], bool]) -> _Node | None:
    for child in node.children:
        if isinstance(child, _Node):
            if predicate(child):
                return child
            found = _find(child, predicate)
            if found is not None:
                return found
    return None


def _collapse(text: str) -> str:
    return _WS_RE.sub(" ", text).strip()


def _escape(text: str) -> str:
    """Escape the characters that Markdown would otherwise read as markup."""
    text = text.replace("\\", "\\\\").replace("*", "\\*").replace("`", "\\`").replace("<", "&lt;")
    return re.sub(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])", r"\\_", text)


def _escape_block_start(text: str) -> str:
    """Keep a paragraph that starts like a heading, quote or list item a plain paragraph."""
    number = _NUMBERED_RE.match(text)
    if number:
        return f"{number.group(1)}\\{text[number.end(1):]}"
    return "\\" + text if _BLOCK_START_RE.match(text) else text


class _Converter:
    """Renders the content area of one help page as Markdown blocks."""

    def __init__(self, module: str, lang: str) -> None:
        self.app_case = _MODULE_APP.get(module, "")
        self.labels = _NOTE_LABELS.get(lang, _NOTE_LABELS["en"])
        self.on_system = _ON_SYSTEM.get(lang, _ON_SYSTEM["en"])
        # After a "Related Topics" marker, up to the next heading, only sentences and notes are kept.
        self.in_related = False

    # -- switches ---------------------------------------------------------------------------------------------
    def _switch_cases(self, node: _Node) -> dict[str, _Node]:
        cases: dict[str, _Node] = {}
        for child in node.children:
            if isinstance(child, _Node):
                key = "default" if child.attrs.get("id", "").startswith("default") else (child.attrs.get("class") or "")
                cases.setdefault(key.strip(), child)
        return cases

    def _resolve_switch(self, node: _Node) -> list[tuple[str, _Node]]:
        """The cases of a switch to show, each with a label ("" for the main text, "macOS", "Windows", ...)."""
        cases = self._switch_cases(node)
        if any(key in _SYSTEM_CASES for key in cases):
            if "default" in cases:
                shown = [("", cases["default"])]
                if "MAC" in cases:
                    shown.append(("macOS", cases["MAC"]))
                return shown
            return [(_SYSTEM_CASES[key], case) for key, case in cases.items() if key in _SYSTEM_CASES]
        chosen = cases.get(self.app_case) or cases.get("default")
        return [("", chosen)] if chosen is not None else []

    @staticmethod
    def _is_switch(node: _Node) -> bool:
        return bool(node.classes & {"switch", "switchinline"})

    # -- inline text ------------------------------------------------------------------------------------------
    def _dropped(self, node: _Node) -> bool:
        return (node.tag in _DROP_TAGS or bool(node.classes & _DROP_CLASSES) or node.attrs.get("id", "") in _DROP_IDS
                or (node.tag == "a" and not node.attrs.get("href") and not node.children))

    def inline(self, node: _Node, *, links: bool = True) -> str:
        """Text of an element, switches resolved; `links=False` leaves out the text of hyperlinks."""
        parts: list[str] = []
        for child in node.children:
            if isinstance(child, str):
                parts.append(child)
            elif self._dropped(child):
                continue
            elif child.tag == "br":
                parts.append(" ")
            elif child.tag == "a" and child.attrs.get("href") and not links:
                continue
            elif self._is_switch(child):
                parts.append(self._inline_switch(child, links=links))
            else:
                parts.append(self.inline(child, links=links))
        return "".join(parts)

    def _inline_switch(self, node: _Node, *, links: bool) -> str:
        texts: list[str] = []
        for label, case in self._resolve_switch(node):
            text = _collapse(self.inline(case, links=links))
            if not text:
                continue
            if label == "macOS" and texts:
                texts.append(f" (macOS: {text})")
            elif label:
                texts.append(f" ({self.on_system.format(label)} {text}) ")
            else:
                texts.append(text)
        return "".join(texts)

    def text(self, node: _Node) -> str:
        """Text of an element with its white space collapsed."""
        return _collapse(self.inline(node))

    def _keep(self, text: str) -> bool:
        """Whether a paragraph is worth keeping: it has words and, under "Related Topics", is a sentence (the
        menu paths and page names listed there are links to other pages)."""
        return bool(re.search(r"\w", text)) and (not self.in_related or text.rstrip().endswith((".", "!", "?", ":")))

    def _link_only(self, node: _Node) -> bool:
        """True when every word of the element is the text of a hyperlink (a "Related Topics" entry)."""
        return bool(self.text(node)) and not re.search(r"\w", self.inline(node, links=False))

    # -- blocks -----------------------------------------------------------------------------------------------
    def _has_block(self, node: _Node) -> bool:
        return any(isinstance(c, _Node) and (c.tag in _BLOCK_TAGS or self._has_block(c)) for c in node.children)

    def _has_heading(self, node: _Node) -> bool:
        return node.tag in _HEADINGS or any(isinstance(c, _Node) and self._has_heading(c) for c in node.children)

    def blocks(self, node: _Node) -> list[str]:
        """Markdown blocks of a container element."""
        out: list[str] = []
        pending: list[str] = []

        def flush() -> None:
            text = _collapse("".join(pending))
            pending.clear()
            if self._keep(text):
                out.append(_escape_block_start(_escape(text)))

        for child in node.children:
            if self.in_related and isinstance(child, _Node) and self._has_heading(child):
                self.in_related = False
            if isinstance(child, str):
                pending.append(child)
                continue
            if "related" in child.classes:
                flush()
                self.in_related = True
                continue
            if self._dropped(child):
                continue
            if self._is_switch(child):
                if not self._has_block(child):
                    pending.append(self._inline_switch(child, links=True))
                    continue
                flush()
                for label, case in self._resolve_switch(child):
                    case_blocks = self.blocks(case)
                    if case_blocks and label:
                        out.append(_escape(self.on_system.format(label)))
                    out.extend(case_blocks)
                continue
            if child.tag not in _BLOCK_TAGS and not self._has_block(child):
                pending.append(" " if child.tag == "br" else self.inline(child))
                continue
            flush()
            out.extend(self._block(child))
        flush()
        return out

    def _block(self, node: _Node) -> list[str]:
        tag = node.tag
        if tag in _HEADINGS:
            text = self.text(node)
            level = {"h1": 2, "h2": 2, "h3": 3}.get(tag, 4)
            return [f"{'#' * level} {_escape(text)}"] if text else []
        if tag == "p":
            if self._link_only(node):
                return []
            if self._has_block(node):
                return self.blocks(node)
            text = self.text(node)
            return [_escape_block_start(_escape(text))] if self._keep(text) else []
        if tag in {"ol", "ul"}:
            return self._list(node)
        if tag == "table":
            return self._table(node)
        if tag == "pre":
            code = "".join(self.raw_text(node)).strip("\n")
            return [f"```\n{code}\n```"] if code.strip() else []
        if tag == "div":
            kind = next((k for k in ("note", "tip", "warning") if k in node.classes), "")
            if "icontable" in node.classes:
                # An icon, maybe a step number, and the text: one paragraph ("2. Click ..." stays a numbered step).
                text = _collapse(" ".join(self.text(c) for c in node.children if isinstance(c, _Node)))
                if not self._keep(text):
                    return []
                number = _NUMBERED_RE.match(text)
                return [f"{number.group(1)}. {_escape(text[number.end():].strip())}" if number
                        else _escape_block_start(_escape(text))]
            if "bascode" in node.classes:
                code = "".join(self.raw_text(node)).strip("\n")
                return [f"```\n{code}\n```"] if code.strip() else []
            inner = self.blocks(node)
            if kind and inner:
                inner[0] = f"{self.labels[kind]} {inner[0]}"
            return inner
        return self.blocks(node)

    def raw_text(self, node: _Node) -> list[str]:
        """Text pieces of an element as written (code blocks keep their line breaks)."""
        parts: list[str] = []
        for child in node.children:
            if isinstance(child, str):
                parts.append(child)
            elif not self._dropped(child):
                parts.extend(self.raw_text(child))
        return parts

    def _list(self, node: _Node) -> list[str]:
        ordered = node.tag == "ol"
        try:
            number = int(node.attrs.get("start") or 1)
        except ValueError:
            number = 1
        lines: list[str] = []
        for item in self._items(node):
            item_blocks = self.blocks(item) if self._has_block(item) else [_escape_block_start(_escape(self.text(item)))]
            item_blocks = [b for b in item_blocks if b.strip()]
            if not item_blocks:
                continue
            marker = f"{number}. " if ordered else "- "
            number += 1
            first, *rest = item_blocks
            entry = marker + first.replace("\n", "\n    ")
            for block in rest:
                entry += "\n\n" + "\n".join("    " + line if line else "" for line in block.split("\n"))
            lines.append(entry)
        if not lines:
            return []
        joiner = "\n\n" if any("\n" in line for line in lines) else "\n"
        return [joiner.join(lines)]

    def _items(self, node: _Node) -> list[_Node]:
        items: list[_Node] = []
        for child in node.children:
            if not isinstance(child, _Node) or self._dropped(child):
                continue
            if child.tag == "li":
                items.append(child)
            elif self._is_switch(child):
                for _, case in self._resolve_switch(child):
                    items.extend(self._items(case))
        return items

    def _table(self, node: _Node) -> list[str]:
        """A pipe table whose first row is the header; a one-column table becomes paragraphs."""
        rows: list[list[str]] = []
        for row in self._rows(node):
            cells = [c for c in row.children if isinstance(c, _Node) and c.tag in {"td", "th"}]
            texts = [" ".join(self.blocks(c)).replace("\n", " ").replace("|", "\\|") for c in cells]
            if any(re.search(r"\w", t) for t in texts):
                rows.append(texts)
        if not rows:
            return []
        width = max(len(texts) for texts in rows)
        if width == 1:
            return [texts[0] for texts in rows]
        header, *body = [texts + [""] * (width - len(texts)) for texts in rows]
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * width]
        lines += ["| " + " | ".join(r) + " |" for r in body]
        return ["\n".join(lines)]

    def _rows(self, node: _Node) -> list[_Node]:
        rows: list[_Node] = []
        for child in node.children:
            if isinstance(child, _Node):
                if child.tag == "tr":
                    rows.append(child)
                elif child.tag in {"thead", "tbody", "tfoot"}:
                    rows.extend(self._rows(child))
        return rows


def _drop_empty_headings(blocks: list[str]) -> list[str]:
    """Remove headings that have no text under them before the next heading of the same or a higher level."""
    kept: list[str] = []
    for block in reversed(blocks):
        level = len(block) - len(block.lstrip("#")) if block.startswith("#") else 0
        if level:
            next_level = 0
            if kept:
                nxt = kept[-1]
                next_level = len(nxt) - len(nxt.lstrip("#")) if nxt.startswith("#") else 99
            if not kept or next_level <= level:
                continue
        kept.append(block)
    return list(reversed(kept))


def convert_help_page(html: str, *, module: str = "shared", lang: str = "en") -> HelpPage:
    """Convert one LibreOffice help page (HTML) to Markdown.

    Args:
        html: the page's HTML.
        module: the help module the page belongs to (`swriter`, `scalc`, `shared`, ...); it picks the
            application-specific text of the page's switches.
        lang: the page's language (ISO 639-1), for the labels of notes and tips.

    Returns:
        The page's title and Markdown body; the body is empty when no text is left after cleaning.
    """
    root = _parse(html)
    area = _find(root, lambda n: n.attrs.get("id") == "DisplayArea") or _find(root, lambda n: n.tag == "body") or root
    converter = _Converter(module, lang)
    title_node = _find(area, lambda n: n.tag == "h1") or _find(area, lambda n: n.tag in {"h2", "h3"})
    title = converter.text(title_node) if title_node is not None else ""
    if not title:
        head_title = _find(root, lambda n: n.tag == "title")
        title = _collapse("".join(converter.raw_text(head_title))) if head_title is not None else ""
    blocks = converter.blocks(area)
    if title_node is not None and blocks and blocks[0].lstrip("#").strip() == _escape(title):
        blocks = blocks[1:]
    blocks = _drop_empty_headings(blocks)
    has_text = any(not b.startswith("#") for b in blocks)
    return HelpPage(title=title, body="\n\n".join(blocks) if has_text else "")


def page_slug(rel_path: str) -> str:
    """Source id of a help page: its path under `text/`, flattened (`text/swriter/guide/page_x.html` ->
    `swriter-guide-page-x`)."""
    path = rel_path.removeprefix("text/").rsplit(".", 1)[0]
    return _SLUG_RE.sub("-", path.lower()).strip("-")


def _lang_folder(help_dir: Path, lang: str) -> Path:
    """The help folder of a language: help_dir itself when it holds `text/`, else help_dir/<lang> or <lang>-*."""
    if (help_dir / "text").is_dir():
        return help_dir
    if lang.lower() == "en" and (help_dir / "en-US" / "text").is_dir():
        return help_dir / "en-US"
    for candidate in [help_dir / lang, *sorted(help_dir.glob(f"{lang}-*"))] if help_dir.is_dir() else []:
        if (candidate / "text").is_dir():
            return candidate
    package = "libreoffice-help-" + ("en-us" if lang.lower() == "en" else lang.lower())
    raise HelpNotFoundError(
        f"LibreOffice help for language {lang!r} not found in {help_dir} (expected {help_dir}/<language>/text/). "
        f"Install it with: sudo apt-get install {package}  (or pass --help-dir)"
    )


def _front_matter(meta: dict[str, str]) -> str:
    return "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1000) + "---\n"


def _license_note(folder: Path, lang: str, stats: CorpusStats, patterns: Sequence[str]) -> str:
    meta = {"title": "About this knowledge base: LibreOffice help (license note)", "language": "en", "audience": "internal",
            "generator": GENERATOR}
    lines = [
        f"# {meta['title']}",
        f"The {stats.pages_written} articles in this folder were generated by `python -m {GENERATOR}` from the "
        f"LibreOffice help pages installed by Debian's `libreoffice-help-{folder.name.lower()}` package (language {lang!r}) "
        f"(read from `{folder}`), selected with the patterns {', '.join(f'`{p}`' for p in patterns)}.",
        "The text is the LibreOffice help: Copyright 2000, 2010 Oracle and/or its affiliates; Copyright (c) 2000, 2010 "
        "LibreOffice contributors and/or their affiliates; The Document Foundation. It is licensed under the Mozilla "
        "Public License 2.0 (MPL-2.0, https://mozilla.org/MPL/2.0/; on Debian /usr/share/common-licenses/MPL-2.0); "
        "some files include material licensed under the Apache License 2.0. See "
        f"/usr/share/doc/libreoffice-help-{folder.name.lower()}/copyright on a Debian system.",
        "The source form is the LibreOffice help repository (https://git.libreoffice.org/help) and "
        "https://help.libreoffice.org; each article's `url` names its online page. The conversion dropped navigation, "
        "icons, scripts and link-only lists and rewrote the pages as Markdown; the wording is unchanged.",
        "This folder is generated for evaluation and is not committed. This note's name starts with a dot, so "
        "ingestion skips it (and it is marked internal besides).",
    ]
    return _front_matter(meta) + "\n" + "\n\n".join(lines) + "\n"


def build_libreoffice_kb(
    help_dir: Path,
    out_dir: Path,
    *,
    lang: str = "en",
    patterns: Sequence[str] = DEFAULT_PATTERNS,
) -> CorpusStats:
    """Convert the installed LibreOffice help pages matched by `patterns` into a folder of Markdown articles.

    Each page with text becomes `<out_dir>/<slug>.md` (slug: its path under `text/` flattened, for example
    `swriter-guide-pagenumbers`; the file stem is the source id after ingestion) with front matter (`title`,
    `url`, `language`, `license`, `updated_at`, ...). `.LICENSE-NOTE.md` (hidden, so never indexed) records where the text
    comes from. Files of an earlier build that this build did not write are removed; other files are left alone.
    The output is deterministic for a given installed package.

    Args:
        help_dir: the LibreOffice help root (/usr/share/libreoffice/help) or one language's folder in it.
        out_dir: the folder to write (created when missing).
        lang: ISO 639-1 code of the help language (`en` reads `en-US`).
        patterns: globs relative to the language folder that select the pages.

    Returns:
        What was written.

    Raises:
        HelpNotFoundError: the help for `lang` is not installed, or no page matches the patterns.
    """
    folder = _lang_folder(help_dir, lang)
    stats = CorpusStats(lang=lang, help_dir=folder, out_dir=out_dir)
    pages = sorted({p for pattern in patterns for p in folder.glob(pattern) if p.is_file()})
    if not pages:
        raise HelpNotFoundError(f"no help page in {folder} matches {', '.join(patterns)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, str] = {}
    for page in pages:
        stats.pages_seen += 1
        rel = page.relative_to(folder).as_posix()
        parts = rel.split("/")
        module = parts[1] if len(parts) > 2 and parts[0] == "text" else "shared"
        converted = convert_help_page(page.read_text(encoding="utf-8", errors="replace"), module=module, lang=lang)
        if not converted.body or not converted.title:
            logger.info("skipping %s: no text after cleaning", rel)
            stats.skipped.append(rel)
            continue
        slug = page_slug(rel)
        if slug in written:
            raise HelpNotFoundError(f"{rel} and {written[slug]} have the same source id {slug!r}")
        written[slug] = rel
        meta = {
            "title": converted.title,
            "url": f"{HELP_BASE_URL}/{folder.name}/{rel}",
            "language": lang,
            "updated_at": datetime.fromtimestamp(page.stat().st_mtime, UTC).date().isoformat(),
            "license": LICENSE_SUMMARY,
            "source_page": rel.rsplit(".", 1)[0] + ".xhp",
            "generator": GENERATOR,
        }
        text = f"{_front_matter(meta)}\n# {_escape(converted.title)}\n\n{converted.body}\n"
        _write_if_changed(out_dir / f"{slug}.md", text)
        stats.pages_written += 1
        stats.chars += len(text)
    for old in sorted(out_dir.glob("*.md")):
        if old.stem not in written and old.name != LICENSE_NOTE_NAME and _generated(old):
            old.unlink()
            stats.removed.append(old.name)
    _write_if_changed(out_dir / LICENSE_NOTE_NAME, _license_note(folder, lang, stats, patterns))
    logger.info("wrote %d articles to %s (%d pages skipped)", stats.pages_written, out_dir, len(stats.skipped))
    return stats


def _write_if_changed(path: Path, text: str) -> None:
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _generated(path: Path) -> bool:
    try:
        head = path.read_text(encoding="utf-8")[:2000]
    except (OSError, UnicodeDecodeError):
        return False
    return head.startswith("---\n") and f"\ngenerator: {GENERATOR}\n" in head


def main(argv: list[str] | None = None) -> int:
    """Command line: build a Markdown knowledge base from the installed LibreOffice help.

    Args:
        argv: the arguments (default: sys.argv[1:]).

    Returns:
        The exit status: 0 on success, 2 when the help is not installed.
    """
    parser = argparse.ArgumentParser(
        prog="python -m deskpilot.evaluation.corpora",
        description="Turn the LibreOffice help installed by Debian's libreoffice-help-* packages into a folder of "
                    "Markdown articles for `deskpilot ingest`.")
    parser.add_argument("--help-dir", type=Path, default=DEFAULT_HELP_DIR,
                        help=f"LibreOffice help root or one language's folder (default: {DEFAULT_HELP_DIR})")
    parser.add_argument("--out", type=Path, required=True, help="output folder, e.g. eval/corpora/libreoffice/kb")
    parser.add_argument("--lang", default="en", help="help language, ISO 639-1 (default: en, which reads en-US)")
    parser.add_argument("--pattern", action="append", dest="patterns", metavar="GLOB",
                        help="page glob relative to the language folder; repeatable (default: "
                             + " ".join(DEFAULT_PATTERNS) + ")")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        stats = build_libreoffice_kb(args.help_dir, args.out, lang=args.lang,
                                     patterns=tuple(args.patterns) if args.patterns else DEFAULT_PATTERNS)
    except HelpNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{stats.pages_written} articles written to {stats.out_dir} from {stats.help_dir} "
          f"({stats.pages_seen} pages matched, {len(stats.skipped)} without text skipped"
          + (f", {len(stats.removed)} stale files removed" if stats.removed else "") + ")")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
