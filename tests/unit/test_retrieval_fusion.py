"""Hybrid retrieval on the in-memory index: the fused score is the weighted sum of the cosine and the BM25 score
(normalised by the query's best), no source takes more than `per_source` places, and a customer's search never
returns an internal chunk."""

from __future__ import annotations

import pytest

from deskpilot.config import RetrievalSettings
from deskpilot.index.documents import Chunk
from deskpilot.index.terms import TermNormalizer
from deskpilot.retrieval.search import HybridRetriever
from tests.fakes import HashEmbeddings, MemoryStore


def chunk(source_id: str, index: int, text: str, audience: str = "public", kind: str = "article") -> Chunk:
    return Chunk(f"{source_id}#{index}", text, {"source_id": source_id, "chunk_index": index, "title": source_id,
                                                "audience": audience, "kind": kind})


CHUNKS = [
    chunk("refunds", 0, "Refunds are paid back to the original card within 5 days."),
    chunk("refunds", 1, "A refund of an annual plan is prorated by the unused months."),
    chunk("refunds", 2, "Refund requests need the invoice number."),
    chunk("refunds", 3, "Refunds of refunds: a refund refund refund is never refunded twice."),
    chunk("invoices", 0, "Invoices list the card used and the refund issued, if any."),
    chunk("billing", 0, "Change the card on file under Billing settings."),
    chunk("refund-approval", 0, "Agents approve a refund of up to 200 EUR; larger refunds need the team lead.",
          audience="internal"),
    chunk("ticket-7", 0, "Customer asked for a refund to another card; agent refused.", kind="ticket"),
]


def retriever(**settings: float) -> HybridRetriever:
    embeddings = HashEmbeddings()
    store = MemoryStore(embeddings)
    store.upsert(CHUNKS)
    return HybridRetriever(store, embeddings, TermNormalizer({}), RetrievalSettings(cache_size=0, **settings),  # type: ignore[arg-type]
                           lambda: 1)


def test_the_fused_score_weights_the_cosine_and_the_normalised_bm25_score() -> None:
    result = retriever(dense_weight=0.75, per_source=10, top_k=10).search("refund to my card", role="agent")
    assert result.chunks and max(c.keyword for c in result.chunks) == 1.0  # normalised by the query's best
    for found in result.chunks:
        assert found.score == pytest.approx(0.75 * found.dense + 0.25 * found.keyword)
    assert [c.score for c in result.chunks] == sorted((c.score for c in result.chunks), reverse=True)
    assert result.top_dense == max(c.dense for c in result.chunks)


def test_without_keyword_search_the_ranking_is_the_cosine_alone() -> None:
    result = retriever(keyword_k=0, dense_weight=0.75, per_source=10, top_k=10).search("refund to my card", role="agent")
    assert all(c.keyword == 0.0 for c in result.chunks)
    assert [c.chunk_id for c in result.chunks] == [c.chunk_id for c in sorted(result.chunks, key=lambda c: -c.dense)]


def test_a_keyword_only_weighting_ranks_the_best_bm25_match_first() -> None:
    result = retriever(dense_weight=0.0, per_source=10, top_k=3).search("refunded twice", role="agent")
    assert result.chunks[0].chunk_id == "refunds#3" and result.chunks[0].score == 1.0


def test_no_source_takes_more_than_its_share_of_the_results() -> None:
    diverse = retriever(per_source=2, top_k=5).search("refund", role="agent")
    sources = [c.source_id for c in diverse.chunks]
    assert len(sources) == 5 and sources.count("refunds") == 2
    assert {"invoices", "refund-approval", "ticket-7"} <= set(sources)
    crowded = retriever(per_source=4, top_k=5).search("refund", role="agent")
    assert [c.source_id for c in crowded.chunks].count("refunds") > 2  # the cap, not the ranking, held it to 2


def test_a_customer_gets_public_articles_and_tickets_only_and_kind_narrows_the_search() -> None:
    search = retriever(per_source=10, top_k=10)
    customer = search.search("refund approval by the team lead", role="customer")
    assert customer.chunks and all(c.metadata["audience"] == "public" for c in customer.chunks)
    agent = search.search("refund approval by the team lead", role="agent")
    assert agent.chunks[0].source_id == "refund-approval"
    tickets = search.search("refund to another card", role="agent", kind="ticket")
    assert [c.source_id for c in tickets.chunks] == ["ticket-7"]


def test_a_preferred_source_comes_first_even_below_the_usual_candidates() -> None:
    search = retriever(per_source=2, top_k=4, dense_k=2, keyword_k=2)
    plain = search.search("refund", role="agent")
    assert "billing" not in [c.source_id for c in plain.chunks]
    preferred = search.search("refund", role="agent", prefer=["billing"])
    assert preferred.chunks[0].source_id == "billing"  # fetched for it, ranked first
    assert [c.chunk_id for c in preferred.chunks[1:]] == [c.chunk_id for c in plain.chunks[:3]]
    hidden = search.search("refund", role="customer", prefer=["refund-approval"])
    assert all(c.metadata["audience"] == "public" for c in hidden.chunks)  # a preference never lifts the filter


def test_the_subject_of_a_conversation_is_the_page_it_named_last_among_those_the_caller_may_see() -> None:
    search = retriever()
    assert search.subject(["how long does it take?", "Our invoices page lists them all."]) == ["invoices"]
    assert search.subject(["and the refund-approval rules?"], role="customer") == ["refunds"]  # refund ~ refunds
    assert search.subject(["and the refund-approval rules?"], role="agent") == ["refund-approval", "refunds"]
