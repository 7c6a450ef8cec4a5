"""The records that flow through ingestion: a loaded source document and its chunks."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["article", "ticket"]
Audience = Literal["public", "internal"]


@dataclass
class Section:
    """A part of a document under one heading. `audience` overrides the document's (internal notes)."""

    heading: str
    text: str
    audience: Audience | None = None


logger = logging.getLogger(__name__)
_SCHEME_RE = re.compile(r"^\s*([a-zA-Z][a-zA-Z0-9+.-]*):")


# A URL path segment that names a locale ("fr", "en-US", "pt_BR", "zh-Hans"): help centres publish a page's
# translations at the same address with another locale.
_LOCALE_RE = re.compile(r"^(?:en|fr|de|es|it|pt|nl|sv|da|no|nb|fi|pl|cs|ro|tr|ru|uk|ja|zh|ko|ar|he|hi|id|vi)"
                        r"(?:[-_][A-Za-z]{2,4})?$", re.IGNORECASE)


def translation_group(source_id: str, url: str = "", translation_of: str = "") -> str:
    """What a page and its translations share: the page it is a translation of (front matter `translation_of`,
    a source id), else its URL without the locale (help.example/fr/articles/x and help.example/en-US/articles/x),
    else its own source id."""
    if translation_of.strip():
        return translation_of.strip()
    scheme, _, rest = url.partition("://")
    if rest:
        host, _, path = rest.partition("/")
        segments = path.split("/")
        kept = [s for s in segments if not _LOCALE_RE.match(s)]
        if len(kept) < len(segments):
            return f"{scheme}://{host}/" + "/".join(kept)
    return source_id


def safe_url(url: str) -> bool:
    """An http(s) URL, or a relative one (no scheme); never javascript:, data:, file: and the like."""
    found = _SCHEME_RE.match(re.sub(r"[\x00-\x20\x7f]", "", url))  # browsers ignore these inside a scheme
    return found is None or found.group(1).lower() in ("http", "https")


@dataclass
class SourceDocument:
    """One source as loaded: an article file or one ticket of an export."""

    source_id: str
    kind: Kind
    audience: Audience
    title: str
    path: str
    sections: list[Section]
    url: str = ""
    updated_at: str = ""
    language: str = ""
    translation_of: str = ""  # the source id of the page this one translates (front matter), if any
    extra: dict[str, str] = field(default_factory=dict)
    personal_names: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Only web links reach citations, pages and webhooks: `javascript:`, `data:` or `file:` URLs (a
        # hostile or broken front matter) are dropped here, once, for every consumer.
        if self.url and not safe_url(self.url):
            logger.warning("%s: url %r dropped (only http and https links are kept)", self.path, self.url[:80])
            self.url = ""

    @property
    def text(self) -> str:
        """All section text, for language detection and checks."""
        return "\n".join(s.text for s in self.sections)


@dataclass
class Chunk:
    """A piece of a document sized for the embedding model, with its id and metadata."""

    chunk_id: str
    text: str
    metadata: dict[str, str | int | float | bool]


@dataclass
class Failure:
    """A source that could not be ingested, with the reason."""

    source: str
    error: str

    def as_dict(self) -> dict[str, str]:
        """The JSON form used by `deskpilot ingest --json`."""
        return {"source": self.source, "error": self.error}
