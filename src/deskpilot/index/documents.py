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
