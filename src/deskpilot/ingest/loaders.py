"""Article loaders: unstructured for .md .html .txt .docx .eml, pypdf for .pdf.

Each loader turns one file into a `SourceDocument` made of sections (heading + text). Bad files raise
`IngestionError` with a reason a KB editor can act on; the pipeline records it and goes on.
"""

from __future__ import annotations

import email
import email.policy
import html.parser
import io
import logging
import os
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from deskpilot.errors import IngestionError, UnsupportedFormatError
from deskpilot.index.documents import Audience, Section, SourceDocument
from deskpilot.providers.model_files import SPACY_DIR

logger = logging.getLogger(__name__)

ARTICLE_EXTENSIONS = (".md", ".markdown", ".html", ".htm", ".txt", ".docx", ".eml", ".pdf")
TEXT_EXTENSIONS = (".md", ".markdown", ".html", ".htm", ".txt", ".eml")
_FRONT_MATTER_RE = re.compile(r"\A---\s*\n(.*?)\n---\s*(?:\n|\Z)", re.DOTALL)
_HTML_TITLE_RE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_CANONICAL_RE = re.compile(r"<link[^>]*rel=[\"']canonical[\"'][^>]*href=[\"'](https?://[^\"']+)", re.IGNORECASE)
_LAST_UPDATED_RE = re.compile(r"(?:last )?updated:?\s+(?:on\s+)?(\d{4}-\d{2}-\d{2})", re.IGNORECASE)
# Exported documents often name their web address near the top ("Source: https://…", "URL: https://…").
_SOURCE_URL_RE = re.compile(r"(?:source|url|link|canonical)\s*:\s*(https?://\S+)", re.IGNORECASE)
_setup_lock = threading.Lock()
_setup_done = False


def configure_unstructured(models_dir: Path) -> None:
    """Point unstructured at the local spaCy model and switch off its telemetry. Idempotent once the model is
    found: a call with a folder that lacks it (a test's models folder, a half-done install) leaves a later call with
    the installed folder free to configure it."""
    global _setup_done
    with _setup_lock:
        if _setup_done:
            return
        os.environ.setdefault("DO_NOT_TRACK", "1")
        os.environ.setdefault("SCARF_NO_ANALYTICS", "true")
        os.environ.setdefault("UNSTRUCTURED_DISABLE_NOTICE", "1")
        import unstructured.nlp.tokenize as tokenize
        import unstructured.partition.html.parser as html_parser

        spacy_dir = models_dir / SPACY_DIR
        found = (spacy_dir / "config.cfg").is_file()
        if found:
            # spacy.load accepts a folder: no download, no site-packages install.
            tokenize._SPACY_MODEL_NAME = str(spacy_dir)  # type: ignore[misc]
        else:
            logger.warning("spaCy model missing in %s: run `deskpilot models install`", spacy_dir)
        # HTML (and Markdown, which unstructured renders to HTML) only needs headings vs. body text; the
        # spaCy narrative-text test that tells NarrativeText from Text costs ~90% of parse time and we
        # treat both alike. Plain-text files keep it: there it is what finds the headings.
        html_parser.is_possible_narrative_text = lambda text, **_: True  # type: ignore[attr-defined]
        _setup_done = found


def decode_text(data: bytes, name: str) -> str:
    """UTF-8 (or UTF-16 with a BOM) text of a file, or an IngestionError naming the problem."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise IngestionError(f"{name}: invalid UTF-16 text ({exc.reason})") from exc
    if b"\x00" in data[:8192]:
        raise IngestionError(f"{name}: binary content in a text file (NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IngestionError(
            f"{name}: not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "re-save the file as UTF-8"
        ) from exc


def load_article(path: Path, data: bytes, source_id: str, rel_path: str, audience: Audience) -> SourceDocument:
    """Load one article file into a SourceDocument.

    Args:
        path: the file (its extension picks the loader).
        data: the file's bytes, already read and size-checked.
        source_id: the stable source id (path relative to the root, no extension).
        rel_path: path shown to users.
        audience: the source's audience (front matter may make it internal, never public).

    Raises:
        UnsupportedFormatError: unknown extension.
        IngestionError: empty, corrupt, binary or wrongly encoded content.
    """
    ext = path.suffix.lower()
    loader = _LOADERS.get(ext)
    if loader is None:
        raise UnsupportedFormatError(f"unsupported format {ext or '(no extension)'}; supported: "
                                     + " ".join(ARTICLE_EXTENSIONS))
    if not data.strip():
        raise IngestionError("empty file")
    try:
        meta, sections = loader(data, path.name)
    except IngestionError:
        raise
    except Exception as exc:
        detail = str(exc) if " at 0x" not in str(exc) else ""
        raise IngestionError(f"corrupt or unreadable {ext[1:].upper()} file ({type(exc).__name__}"
                             + (f": {detail[:200]})" if detail else ")")) from exc
    sections = [s for s in sections if s.text.strip()]
    if not sections:
        raise IngestionError("no text found in the file")
    title = str(meta.get("title") or "").strip() or _title_from_name(path)
    if not meta.get("url"):
        stated_url = _SOURCE_URL_RE.search(sections[0].text[:600])
        if stated_url:
            meta["url"] = stated_url.group(1).rstrip(".,;)")
    if not (meta.get("updated_at") or meta.get("updated") or meta.get("date")):
        stated = _LAST_UPDATED_RE.search(sections[0].text[:600])
        if stated:
            meta["updated_at"] = stated.group(1)
    if str(meta.get("audience", "")).lower() == "internal":
        audience = "internal"
    updated = meta.get("updated_at") or meta.get("updated") or meta.get("date")
    return SourceDocument(
        source_id=source_id,
        kind="article",
        audience=audience,
        title=title,
        path=rel_path,
        url=str(meta.get("url") or ""),
        updated_at=_iso_date(updated) or datetime.fromtimestamp(path.stat().st_mtime, UTC).date().isoformat(),
        language=str(meta.get("language") or meta.get("lang") or ""),
        translation_of=str(meta.get("translation_of") or ""),
        sections=sections,
    )


def _title_from_name(path: Path) -> str:
    return path.stem.replace("-", " ").replace("_", " ").strip().capitalize()


def _iso_date(value: Any) -> str:
    if value is None or value == "":
        return ""
    if hasattr(value, "isoformat"):
        return str(value.isoformat())[:10] if not isinstance(value, datetime) else value.date().isoformat()
    text = str(value).strip()
    match = re.match(r"\d{4}-\d{2}-\d{2}", text)
    if match:
        return match.group(0)
    try:
        return email.utils.parsedate_to_datetime(text).date().isoformat()
    except (TypeError, ValueError):
        return ""


_NUMBERED_RE = re.compile(r"^\d+[.)]\s")


def ordered_items(html: str, steps: set[str] | None = None) -> dict[str, list[int]]:
    """The items of the HTML's numbered lists (`<ol>`): each item's text (whitespace collapsed) with its numbers,
    in document order. unstructured calls every list item a ListItem; this is how steps stay steps.

    Args:
        steps: when given, only these texts are numbered items (Markdown's own numbered lines): Python-Markdown
            wants 4 spaces before a nested list, so a bullet list indented by 3 under a step lands in the `<ol>`.
    """
    import lxml.html

    try:
        root = lxml.html.fromstring(html)
    except (ValueError, lxml.etree.ParserError):
        return {}
    numbers: dict[str, list[int]] = {}
    for ol in root.iter("ol"):
        try:
            number = int(ol.get("start") or 1)
        except ValueError:
            number = 1
        for li in ol:
            if li.tag != "li":
                continue
            own = [li.text or ""] + [part for child in li if child.tag not in ("ol", "ul")
                                     for part in (child.text_content(), child.tail or "")]
            texts = [" ".join("".join(own).split())]
            # A step with paragraphs of its own (`<li><p>Choose Tools - Mail Merge Wizard.</p><p>You see the
            # dialog.</p></li>`, Markdown's indented paragraphs under an item): unstructured gives its first
            # paragraph as a paragraph of its own, which is the step.
            if not (li.text or "").strip() and len(li) and li[0].tag == "p":
                texts.append(" ".join(li[0].text_content().split()))
            texts = [text for text in dict.fromkeys(texts) if text and (steps is None or text in steps)]
            if not texts:
                continue  # not a numbered line of the Markdown: a nested bullet list that landed in the <ol>
            for text in texts:
                numbers.setdefault(text, []).append(number)
            number += 1
    return numbers


_MARKDOWN_STEP_RE = re.compile(r"(?m)^ {0,3}\d{1,9}[.)][ \t]+(\S.*)$")


def markdown_steps(body: str) -> set[str]:
    """The text (inline formatting removed, whitespace collapsed) of the Markdown's numbered lines."""
    import lxml.html
    import markdown

    found = set()
    for match in _MARKDOWN_STEP_RE.finditer(body):
        try:
            text = lxml.html.fromstring(markdown.markdown(match.group(1))).text_content()
        except (ValueError, lxml.etree.ParserError):
            continue
        found.add(" ".join(text.split()))
    return found


def sections_from_elements(elements: list[Any], skip_first_title: bool,
                           ordered: dict[str, list[int]] | None = None) -> tuple[str, list[Section]]:
    """Group unstructured elements into sections under their headings; returns (first title, sections).

    List items are written as "- item", or "3. item" for a numbered list's items (those in `ordered`, see
    `ordered_items`, or whose text already starts with its number, as Word's numbered paragraphs do).
    """
    ordered = {text: list(numbers) for text, numbers in (ordered or {}).items()}
    title = ""
    heading_stack: list[tuple[int, str]] = []
    sections: list[Section] = []
    current: list[str] = []

    def flush() -> None:
        if current:
            sections.append(Section(" › ".join(h for _, h in heading_stack), "\n".join(current)))
            current.clear()

    for element in elements:
        text = (element.text or "").strip()
        if not text:
            continue
        category = element.category
        depth = getattr(element.metadata, "category_depth", None) or 0
        if category == "Title" and len(text) <= 200:
            if not title and skip_first_title:
                title = text
                continue
            flush()
            heading_stack = [(d, h) for d, h in heading_stack if d < depth]
            heading_stack.append((depth, text))
            continue
        numbers = ordered.get(" ".join(text.split()))
        if numbers and category != "Table":  # a step, also one whose first paragraph unstructured gives as a paragraph
            text = f"{numbers.pop(0)}. {text}"
        elif category == "ListItem":
            if not _NUMBERED_RE.match(text):
                text = f"- {text}"
        elif category == "Table":
            rows = table_rows(getattr(element.metadata, "text_as_html", None) or "")
            if rows:
                current.extend(rows)
                continue
            text = " | ".join(part.strip() for part in text.split("\n") if part.strip())
        current.append(text)
    flush()
    return title, sections


class _TableParser(html.parser.HTMLParser):
    """The rows of an HTML table: each a list of (cell text, header cell)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[tuple[str, bool]]] = []
        self._cell: list[str] | None = None
        self._header = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._end_cell()
            if not self.rows:
                self.rows.append([])
            self._cell, self._header = [], tag == "th"
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th", "tr", "table"):
            self._end_cell()

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def _end_cell(self) -> None:
        if self._cell is not None:
            text = " ".join("".join(self._cell).split())
            self.rows[-1].append((_SPACE_BEFORE_MARK_RE.sub(r"\1", text), self._header))
            self._cell = None


MAX_LABEL_WORDS = 6
_SPACE_BEFORE_MARK_RE = re.compile(r"\s+([.,;:!?)])")


def _is_label(text: str) -> bool:
    """A header cell names a column: a few words, not a sentence (a Markdown table always has a header row, and a
    converted two-column table of "what to do | how" puts its first row of data there)."""
    return len(text.split()) <= MAX_LABEL_WORDS and not re.search(r"[.!?]$", text)


def table_rows(table_html: str) -> list[str]:
    """A table as lines, a row each, every cell named by its column's header: "Plan: Team; Billed monthly: $12 per
    user/month; Billed yearly: $10 per user/month". Flattened to one line of cells ("Plan Billed monthly Billed
    yearly Free $0 $0 Team $12 …"), a table says nothing a customer (or the composer, or a translation) can read:
    which price is the yearly one for Team. A row is one answer unit, its cells' sentences kept whole. Without a
    header row (its cells all <th>, each a label of a few words, see _is_label), a row's cells are joined with " — ". []
    when the HTML holds no cells."""
    parser = _TableParser()
    try:
        parser.feed(table_html)
        parser.close()
    except Exception:  # malformed markup: the caller keeps the flattened text
        return []
    rows = [row for row in parser.rows if any(text for text, _ in row)]
    if not rows:
        return []
    header: list[str] = []
    if len(rows) > 1 and all(is_header and _is_label(text) for text, is_header in rows[0]):
        header, rows = [text for text, _ in rows[0]], rows[1:]
    lines = []
    for row in rows:
        line = ""
        for n, (text, _) in enumerate(row):
            if not text:
                continue
            label = header[n] if n < len(header) and header[n] and header[n] != text else ""
            cell = f"{label}: {text}" if label else text
            if line:
                line += " " if re.search(r"[.!?]$", line) else ("; " if header else " — ")
            line += cell
        if line:
            lines.append(f"- {line}")
    return lines


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    match = _FRONT_MATTER_RE.match(text)
    if not match:
        return {}, text
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise IngestionError(f"invalid YAML front matter: {exc}") from exc
    if not isinstance(meta, dict):
        raise IngestionError("front matter must be a YAML mapping")
    return meta, text[match.end():]


_LIST_START_RE = re.compile(r"^(?:[-*+]|1[.)])[ \t]+\S")
_FENCE_RE = re.compile(r"^ {0,3}(?:```|~~~)")


def lists_interrupt_paragraphs(body: str) -> str:
    """The Markdown with a blank line before a list that starts right under a paragraph's line ("**No recovery
    codes?**" then "- Members and Admins: …"). CommonMark, and so GitHub and most help-centre editors, read such a
    list as a list; Python-Markdown needs the blank line and reads it as the paragraph's text, every item run into
    one line ("No recovery codes? - Members and Admins … - Workspace Owners …"). As in CommonMark, a numbered list
    interrupts a paragraph only when it starts at 1; code fences, tables, headings and indented lines are left as
    they are."""
    lines = body.split("\n")
    out: list[str] = []
    fenced = False
    for line in lines:
        if _FENCE_RE.match(line):
            fenced = not fenced
        previous = out[-1] if out else ""
        if not fenced and _LIST_START_RE.match(line) and previous.strip() and not previous[:1].isspace() \
                and not _ITEM_LINE_RE.match(previous) \
                and not previous.lstrip().startswith(("|", "#", ">", "```", "~~~")):
            out.append("")
        out.append(line)
    return "\n".join(out)


_ITEM_LINE_RE = re.compile(r"^(?:[-*+]|\d{1,9}[.)])[ \t]+")


def _load_markdown(data: bytes, name: str) -> tuple[dict[str, Any], list[Section]]:
    import markdown
    from unstructured.partition.html import partition_html

    meta, body = split_front_matter(decode_text(data, name))
    if not body.strip():
        raise IngestionError("no text found after the front matter")
    body = lists_interrupt_paragraphs(body)
    # What unstructured's partition_md does (its default extensions), rendered once: its lists are read here too.
    html = markdown.markdown(body, extensions=["tables", "fenced_code"])
    first_title, sections = sections_from_elements(partition_html(text=html, languages=[""]), not meta.get("title"),
                                                   ordered_items(html, markdown_steps(body)))
    meta.setdefault("title", first_title)
    return meta, sections


def _load_html(data: bytes, name: str) -> tuple[dict[str, Any], list[Section]]:
    from unstructured.partition.html import partition_html

    text = decode_text(data, name)
    meta: dict[str, Any] = {}
    match = _HTML_TITLE_RE.search(text)
    if match:
        meta["title"] = " ".join(match.group(1).split())
    canonical = _CANONICAL_RE.search(text)
    if canonical:
        meta["url"] = canonical.group(1)
    first_title, sections = sections_from_elements(partition_html(text=text, languages=[""]), True,
                                                   ordered_items(text))
    if first_title and (not meta.get("title") or len(first_title) < len(meta["title"])):
        meta["title"] = first_title
    return meta, sections


def _load_text(data: bytes, name: str) -> tuple[dict[str, Any], list[Section]]:
    from unstructured.partition.text import partition_text

    text = decode_text(data, name)
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    body = text.split(first_line, 1)[1] if first_line and len(first_line) <= 150 else text
    title = first_line if body is not text else ""
    _, sections = sections_from_elements(partition_text(text=body, languages=[""]), False) if body.strip() else ("", [])
    return {"title": title}, sections


def _load_docx(data: bytes, name: str) -> tuple[dict[str, Any], list[Section]]:
    from unstructured.partition.docx import partition_docx

    if not data.startswith(b"PK"):
        raise IngestionError("corrupt DOCX file: not a ZIP container")
    first_title, sections = sections_from_elements(partition_docx(file=io.BytesIO(data), languages=[""]), True)
    return {"title": first_title}, sections


def _load_email(data: bytes, name: str) -> tuple[dict[str, Any], list[Section]]:
    from unstructured.partition.email import partition_email

    decode_text(data, name)  # refuses binary and wrongly encoded files with a clear reason
    message = email.message_from_bytes(data, policy=email.policy.default)
    if not message.keys():
        raise IngestionError("not an e-mail message: no headers found")
    elements = partition_email(file=io.BytesIO(data), languages=[""], process_attachments=False)
    _, sections = sections_from_elements(elements, False)
    return {"title": str(message.get("Subject", "")), "updated_at": str(message.get("Date", ""))}, sections


def _load_pdf(data: bytes, name: str) -> tuple[dict[str, Any], list[Section]]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if not data.startswith(b"%PDF"):
        raise IngestionError("corrupt PDF file: missing %PDF header")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise IngestionError("encrypted PDF: remove the password and ingest again")
        pages = [page.extract_text() or "" for page in reader.pages]
        info_title = str(reader.metadata.get("/Title") or "").strip() if reader.metadata else ""
    except PdfReadError as exc:
        raise IngestionError(f"corrupt PDF file: {exc}") from exc
    lines = [line.strip() for page in pages for line in page.splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        raise IngestionError("no extractable text in the PDF (scanned images are not supported)")
    title = info_title or lines[0]
    if lines and lines[0] == title:
        lines = lines[1:]
    return {"title": title}, _sections_from_lines(lines)


def _sections_from_lines(lines: list[str]) -> list[Section]:
    """Split PDF text lines into sections at lines that look like headings."""
    sections: list[Section] = []
    heading = ""
    body: list[str] = []
    for i, line in enumerate(lines):
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        prev = lines[i - 1] if i else ""
        starts_block = not prev or prev.endswith((".", ":", "?", "!")) or prev == heading
        is_heading = (starts_block and len(line) <= 70 and line[:1].isupper()
                      and not line.endswith((".", ",", ":", ";")) and not re.match(r"[-•*]|\d+[.)]", line)
                      and len(line.split()) <= 9 and bool(nxt) and (nxt[:1].isupper() or nxt[:1] in "-•"))
        if is_heading and (body or not sections):
            if body:
                sections.append(Section(heading, _join_pdf_lines(body)))
            heading, body = line, []
        else:
            body.append(line)
    if body:
        sections.append(Section(heading, _join_pdf_lines(body)))
    return sections


def _join_pdf_lines(lines: list[str]) -> str:
    """Re-flow wrapped PDF lines into paragraphs and list items."""
    out: list[str] = []
    for line in lines:
        if out and not re.match(r"[-•*]|\d+[.)]\s", line) and not out[-1].endswith((".", ":", "?", "!")):
            out[-1] = f"{out[-1]} {line}"
        else:
            out.append(line)
    return "\n".join(out)


_LOADERS: dict[str, Callable[[bytes, str], tuple[dict[str, Any], list[Section]]]] = {
    ".md": _load_markdown,
    ".markdown": _load_markdown,
    ".html": _load_html,
    ".htm": _load_html,
    ".txt": _load_text,
    ".docx": _load_docx,
    ".eml": _load_email,
    ".pdf": _load_pdf,
}
