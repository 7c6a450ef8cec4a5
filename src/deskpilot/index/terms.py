"""Term normalisation from ingest/terms.yaml: variants (e.g. "pwd", "mdp") become the canonical term."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import yaml

from deskpilot.errors import ConfigError

_URL_RE = re.compile(r"(?:https?://|www\.)\S+|\S+@\S+")


class TermNormalizer:
    """Replaces whole-word variants with canonical terms, case-insensitively, never inside URLs or e-mails."""

    def __init__(self, mapping: dict[str, list[str]]) -> None:
        self._canonical: dict[str, str] = {}
        for canonical, variants in mapping.items():
            for variant in variants or []:
                self._canonical[str(variant).lower()] = str(canonical)
        if self._canonical:
            alternatives = "|".join(re.escape(v) for v in sorted(self._canonical, key=len, reverse=True))
            self._re: re.Pattern[str] | None = re.compile(rf"(?<![\w/.-])(?:{alternatives})(?![\w-])", re.IGNORECASE)
        else:
            self._re = None
        self.fingerprint = hashlib.sha256(repr(sorted(self._canonical.items())).encode()).hexdigest()[:16]

    @classmethod
    def from_file(cls, path: Path | None) -> TermNormalizer:
        """Load a terms file (`canonical: [variant, ...]`); a missing or unset path means no terms."""
        if path is None or not path.exists():
            return cls({})
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read terms file {path}: {exc}") from exc
        terms = data.get("terms", data) if isinstance(data, dict) else None
        if not isinstance(terms, dict) or not all(isinstance(v, list | type(None)) for v in terms.values()):
            raise ConfigError(f"{path}: expected a mapping of canonical term -> list of variants")
        return cls(terms)

    def normalize(self, text: str) -> str:
        """Text with every known variant replaced by its canonical term."""
        if self._re is None:
            return text
        pattern = self._re
        parts = []
        last = 0
        for url in _URL_RE.finditer(text):
            parts.append(pattern.sub(self._replace, text[last:url.start()]))
            parts.append(url.group(0))
            last = url.end()
        parts.append(pattern.sub(self._replace, text[last:]))
        return "".join(parts)

    def _replace(self, match: re.Match[str]) -> str:
        return self._canonical[match.group(0).lower()]
