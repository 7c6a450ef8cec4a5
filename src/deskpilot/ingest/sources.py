"""What to ingest: ingest/sources.yaml, or folders and files named on the command line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from deskpilot.errors import ConfigError
from deskpilot.ingest.vendors import VENDORS


class SourceSpec(BaseModel):
    """One source: a folder (or single file) of articles or ticket exports."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field("", description="A label for reports; defaults to the path.")
    path: Path = Field(description="Folder or file, relative to the working directory.")
    kind: Literal["article", "ticket"] = "article"
    audience: Literal["public", "internal"] = "public"
    redact: bool | None = Field(None, description="Override the redaction setting for this source.")
    exclude: list[str] = Field(default_factory=list, description="Glob patterns (relative) to skip.")
    format: str = Field(
        "auto", description="auto: files by extension as `kind`; a vendor (zendesk, freshdesk: see ingest/vendors/): "
        "its export JSON/NDJSON files, articles and tickets told apart by content (`kind` is then ignored).")

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        if value != "auto" and value not in VENDORS:
            raise ValueError(f"format must be auto or one of {', '.join(sorted(VENDORS))}, not {value!r}")
        return value

    @property
    def label(self) -> str:
        """Name shown to people."""
        return self.name or self.path.as_posix()


class _SourcesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sources: list[SourceSpec]


def load_sources(path: Path) -> list[SourceSpec]:
    """Read a sources.yaml file; ConfigError with the reason when it is missing or invalid."""
    if not path.is_file():
        raise ConfigError(f"sources file {path} not found (set DESKPILOT_INGEST__SOURCES_FILE or pass PATHs)")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return _SourcesFile.model_validate(data).sources
    except (yaml.YAMLError, ValidationError) as exc:
        raise ConfigError(f"invalid sources file {path}: {exc}") from exc


@dataclass(frozen=True)
class FoundFile:
    """A file under a source's root."""

    path: Path
    rel_path: str

    @property
    def source_id(self) -> str:
        """The file's source id: its path relative to the root, without the extension."""
        return self.rel_path.rsplit(".", 1)[0] if "." in Path(self.rel_path).name else self.rel_path


def root_key(spec: SourceSpec) -> str:
    """The identity of a source's root in the record: its resolved folder (a file's parent folder)."""
    path = spec.path.resolve()
    return (path.parent if path.is_file() else path).as_posix()


def discover(spec: SourceSpec) -> list[FoundFile]:
    """Files of a source, sorted; hidden files and folders are skipped. A file source is itself."""
    root = spec.path
    if root.is_file():
        return [FoundFile(root, root.name)]
    if not root.is_dir():
        raise ConfigError(f"source path {root} does not exist")
    found = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        if any(rel.match(pattern) for pattern in spec.exclude):
            continue
        found.append(FoundFile(path, rel.as_posix()))
    return found
