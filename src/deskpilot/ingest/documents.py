"""The records that flow through ingestion: a loaded source document and its chunks."""

from __future__ import annotations

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
