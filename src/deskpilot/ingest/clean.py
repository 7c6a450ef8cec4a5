"""Cleaning before anything is embedded: language detection and personal-data redaction.

Term normalisation is not applied to the stored text (customers see sources as written); it is applied to
what is embedded and keyword-indexed, and to questions (see `ChunkStore.upsert` and `HybridRetriever`).
"""

from __future__ import annotations

from collections import Counter

from deskpilot.index.documents import Section, SourceDocument
from deskpilot.ingest.redact import Redactor
from deskpilot.text.language import detect_language


def clean_document(doc: SourceDocument, redact: bool) -> Counter[str]:
    """Redact personal data (when asked) in place; detect the document's language if unknown.

    Returns:
        Counts of redacted items by placeholder type.
    """
    counts: Counter[str] = Counter()
    if not doc.language:
        doc.language = detect_language(doc.title + "\n" + doc.text)
    redactor = Redactor(doc.personal_names) if redact else None

    def process(text: str) -> str:
        if redactor is None:
            return text
        result = redactor.redact(text)
        counts.update(result.counts)
        return result.text

    doc.title = process(doc.title)
    doc.sections = [Section(process(s.heading), process(s.text), s.audience) for s in doc.sections]
    doc.personal_names = []
    return counts
