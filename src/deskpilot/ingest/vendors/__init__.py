"""Helpdesk vendor exports (Zendesk, Freshdesk) -> article and ticket SourceDocuments.

`common` holds what every vendor shares (records, people, field helpers, HTML to sections); each vendor module
(`zendesk`, `freshdesk`) describes its format as a `Vendor`, registers it in `common.VENDORS` under its key, and
imports only `common`. This module imports the vendor modules (which registers them), picks the vendor by key and
turns its records into documents, so nothing imports back up (no circle). A new vendor is a module beside them,
added to the import below.
"""

from __future__ import annotations

from deskpilot.index.documents import Audience, Failure, SourceDocument
from deskpilot.ingest.tickets import Ticket, ticket_documents
from deskpilot.ingest.vendors import freshdesk, zendesk  # noqa: F401  (they register themselves)
from deskpilot.ingest.vendors.common import (
    VENDOR_EXTENSIONS,
    VENDORS,
    VendorFormat,
    classify,
    html_to_text,
    read_payload,
)

__all__ = ["VENDORS", "VENDOR_EXTENSIONS", "VendorFormat", "html_to_text", "load_vendor_export"]


def load_vendor_export(fmt: VendorFormat, data: bytes, name: str, ext: str, rel_path: str, audience: Audience,
                       solved_statuses: list[str], label: str = "") -> tuple[list[SourceDocument], list[Failure], int]:
    """Parse a Zendesk or Freshdesk export file into documents.

    Args:
        fmt: "zendesk" or "freshdesk".
        data: the file's bytes.
        name: the file name (for messages).
        ext: the lower-case extension, with its dot.
        rel_path: the path shown on the documents.
        audience: the source's audience; restricted articles become internal, never the reverse.
        solved_statuses: ticket statuses that are indexed (after vendor status mapping).
        label: names records in failures (default rel_path).

    Returns:
        (documents, per-record failures, number skipped: draft articles and unsolved tickets)

    Raises:
        IngestionError: the file as a whole is unreadable or not an export of that vendor.
    """
    vendor = VENDORS[fmt]
    payload, failures = read_payload(data, name, ext)
    export = vendor.split(payload)
    label = label or rel_path
    documents: list[SourceDocument] = []
    tickets: list[tuple[int, Ticket]] = []
    skipped = 0
    for record in export.records:
        row_label = f"{label}#row-{record.number}"
        if classify(record.data) is None:
            failures.append(Failure(row_label, f"not a {fmt} article or ticket (no title or subject)"))
            continue
        try:
            if record.kind == "ticket":
                tickets.append((record.number, vendor.ticket(record, export)))
                continue
            doc = vendor.article(record, export, rel_path, audience)
        except ValueError as exc:
            failures.append(Failure(row_label, f"malformed {fmt} {record.kind}: {exc}"))
            continue
        if doc is None:
            skipped += 1
        else:
            documents.append(doc)
    vendor_names = (n for p in export.people.values() for n in (p.name, p.email) if n)
    ticket_docs, ticket_skipped = ticket_documents(tickets, rel_path, audience, solved_statuses, label, failures,
                                                   vendor_names)
    return documents + ticket_docs, failures, skipped + ticket_skipped
