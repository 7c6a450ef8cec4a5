"""Cleaning before anything is embedded: personal-data redaction and term normalisation."""

from __future__ import annotations

from collections import Counter

from deskpilot.ingest.documents import Section, SourceDocument
from deskpilot.ingest.redact import Redactor
from deskpilot.ingest.terms import TermNormalizer
from deskpilot.text.language import detect_language


def clean_document(doc: SourceDocument, redact: bool, terms: TermNormalizer) -> Counter[str]:
    """Redact (when asked) and normalise a document in place; detect its language if unknown.

    Returns:
        Counts of redacted items by placeholder type.
    """
    counts: Counter[str] = Counter()
    if not doc.language:
        doc.language = detect_language(doc.title + "\n" + doc.text)
    redactor = Redactor(doc.personal_names) if redact else None

    def process(text: str) -> str:
        if redactor is not None:
            result = redactor.redact(text)
            counts.update(result.counts)
            text = result.text
        return terms.normalize(text)

    doc.title = process(doc.title)
    doc.sections = [Section(process(s.heading), process(s.text), s.audience) for s in doc.sections]
    doc.personal_names = []
    return counts
