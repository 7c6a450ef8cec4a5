"""The BM25 keyword index: ranking, the audience and kind filters, and rebuilds that never block a search."""

from __future__ import annotations

import threading

from deskpilot.retrieval.keyword import KeywordIndex

CHUNKS = {
    "a1": ("Reset your password from the sign-in page: choose Forgot password and follow the email link.",
           {"audience": "public", "kind": "article", "source_id": "reset-password"}),
    "a2": ("Export your projects to CSV from Settings, then Data export.",
           {"audience": "public", "kind": "article", "source_id": "export-data"}),
    "i1": ("Runbook: when a password reset email bounces, check the suppression list in the mail provider.",
           {"audience": "internal", "kind": "article", "source_id": "runbook-mail"}),
    "t1": ("Customer could not reset the password; the reset email was in spam.",
           {"audience": "public", "kind": "ticket", "source_id": "ticket-12"}),
}


def _load(chunks: dict[str, tuple[str, dict[str, object]]] = CHUNKS):
    def load() -> tuple[list[str], list[str], list[dict[str, object]]]:
        ids = list(chunks)
        return ids, [chunks[i][0] for i in ids], [chunks[i][1] for i in ids]
    return load


def _index() -> KeywordIndex:
    index = KeywordIndex()
    index.ensure(1, _load())
    return index


def test_the_chunks_that_hold_the_query_words_rank_first() -> None:
    hits = _index().search("reset password", k=10, public_only=False)
    assert {h.chunk_id for h in hits} == {"a1", "i1", "t1"}
    assert "a2" not in [h.chunk_id for h in hits]  # no query word: not a candidate
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_a_customer_never_gets_an_internal_chunk_and_kind_narrows_the_search() -> None:
    index = _index()
    assert "i1" not in [h.chunk_id for h in index.search("password reset email", k=10, public_only=True)]
    assert [h.chunk_id for h in index.search("password reset", k=10, public_only=True, kind="ticket")] == ["t1"]


def test_k_bounds_the_hits_and_unknown_words_find_nothing() -> None:
    index = _index()
    assert len(index.search("password", k=1, public_only=False)) == 1
    assert index.search("zzqx unknownword", k=5, public_only=False) == []
    assert KeywordIndex().search("password", k=5, public_only=False) == []  # never built


def test_lookup_reports_audience_kind_and_source_of_indexed_ids_only() -> None:
    found = _index().lookup(["i1", "t1", "missing"])
    assert found == {"i1": (False, "article", "runbook-mail"), "t1": (True, "ticket", "ticket-12")}


def test_a_new_generation_is_rebuilt_in_the_background_while_searches_use_the_old_index() -> None:
    index = _index()
    release = threading.Event()
    changed = {**CHUNKS, "a3": ("Invoices are sent on the first day of each month.",
                                {"audience": "public", "kind": "article", "source_id": "billing"})}

    def slow_load() -> tuple[list[str], list[str], list[dict[str, object]]]:
        release.wait(10)
        return _load(changed)()

    index.ensure(2, slow_load)
    assert index.search("invoices", k=5, public_only=True) == []  # the old snapshot answers meanwhile
    assert index.size == 4
    release.set()
    for _ in range(200):
        if index.size == 5:
            break
        threading.Event().wait(0.02)
    assert [h.chunk_id for h in index.search("invoices", k=5, public_only=True)] == ["a3"]


def test_a_failed_rebuild_keeps_the_previous_index() -> None:
    index = _index()

    def broken() -> tuple[list[str], list[str], list[dict[str, object]]]:
        raise OSError("store unavailable")

    index.ensure(2, broken)
    for _ in range(200):
        if not index._building:  # waiting for the background thread
            break
        threading.Event().wait(0.02)
    assert [h.chunk_id for h in index.search("export csv", k=5, public_only=True)] == ["a2"]


def test_documents_are_normalised_before_indexing_when_asked() -> None:
    index = KeywordIndex()
    index.ensure(1, _load(), normalize=lambda text: text.replace("CSV", "spreadsheet"))
    assert [h.chunk_id for h in index.search("spreadsheet", k=5, public_only=True)] == ["a2"]
