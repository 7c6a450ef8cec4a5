"""The composition root: the one place that builds clients (embeddings, Chroma, database) from Settings."""

from __future__ import annotations

import logging
from functools import cached_property
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings
from sqlalchemy import Engine
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import sessionmaker

from deskpilot.assist.answer import Assistant
from deskpilot.assist.citations import CitationChecker, LLMClaimJudge
from deskpilot.assist.compose import Composer
from deskpilot.assist.conversation import Conversations
from deskpilot.assist.escalation import EscalationDetector, ExampleClassifier, Lexicon, load_examples
from deskpilot.assist.prompts import PromptLibrary
from deskpilot.assist.tickets import TicketServices
from deskpilot.config import RoutingSettings, Settings, load_routing
from deskpilot.db import make_engine, make_sessionmaker, unavailable
from deskpilot.helpdesk.events import EventWriter
from deskpilot.helpdesk.jobs import IngestJobs
from deskpilot.helpdesk.store import HelpdeskStore
from deskpilot.index.store import ChunkStore, make_chroma_client
from deskpilot.index.terms import TermNormalizer
from deskpilot.ingest.chunking import Chunker
from deskpilot.ingest.loaders import configure_unstructured
from deskpilot.ingest.pipeline import Ingestor
from deskpilot.ingest.records import IngestRecord
from deskpilot.ingest.redact import Redactor
from deskpilot.integrations.webhooks import WebhookService
from deskpilot.keys import KeyStore
from deskpilot.ops.analytics import Analytics
from deskpilot.ops.articles import TicketArticles
from deskpilot.ops.gaps import ContentGaps
from deskpilot.ops.hygiene import KnowledgeHygiene
from deskpilot.ops.retention import Retention
from deskpilot.ops.review import ReviewList
from deskpilot.providers.embeddings import RecentEmbeddings, build_embeddings, embedding_model_id
from deskpilot.providers.llm import LLMClient, build_chat_model, llm_ready
from deskpilot.providers.model_files import local_model_file
from deskpilot.providers.sentences import shared_encoder
from deskpilot.retrieval.search import HybridRetriever
from deskpilot.text.tokens import get_encoding

logger = logging.getLogger(__name__)


class Container:
    """Builds each collaborator once, lazily, from one Settings object."""

    def __init__(self, settings: Settings, *, llm: LLMClient | None = None, embeddings: Embeddings | None = None,
                 store: ChunkStore | None = None) -> None:
        """Args: settings; llm, embeddings, store: built parts to use instead of building them from the settings
        (a scripted model, the deterministic test embedder, a store on a server already open)."""
        self.settings = settings
        given = {"llm": llm, "embeddings": embeddings, "store": store}
        self.override(**{name: part for name, part in given.items() if part is not None})

    def override(self, **parts: Any) -> None:
        """Use these built parts instead of building them (tests: a scripted model in place of the LLM client).

        Raises:
            AttributeError: not a part this container builds.
        """
        for name, value in parts.items():
            self._part(name)
            self.__dict__[name] = value

    def forget(self, *names: str) -> None:
        """Drop built parts, so that the next use builds them again from the settings (after a settings change)."""
        for name in names:
            self._part(name)
            self.__dict__.pop(name, None)

    @classmethod
    def _part(cls, name: str) -> None:
        if not isinstance(getattr(cls, name, None), cached_property):
            raise AttributeError(f"the container builds no part named {name!r}")

    @cached_property
    def embeddings(self) -> Embeddings:
        """The configured embedding provider."""
        return build_embeddings(self.settings.embedding, self.settings.model_files)

    @cached_property
    def recent_embeddings(self) -> Embeddings:
        """The embedding provider behind a cache of recent short texts (queries, claims), for answering."""
        return RecentEmbeddings(self.embeddings, self.settings.retrieval.cache_size)

    @cached_property
    def embedding_model_id(self) -> str:
        """Identity of the vector space."""
        return embedding_model_id(self.settings.embedding)

    @cached_property
    def chroma_client(self) -> Any:
        """Chroma client (embedded or HTTP)."""
        return make_chroma_client(self.settings)

    @cached_property
    def store(self) -> ChunkStore:
        """The chunk index."""
        return ChunkStore(self.chroma_client, self.settings.index.collection, self.embeddings,
                          self.embedding_model_id)

    @cached_property
    def engine(self) -> Engine:
        """SQLAlchemy engine."""
        return make_engine(self.settings.sqlalchemy_url)

    @cached_property
    def sessions(self) -> sessionmaker:  # type: ignore[type-arg]
        """Session factory (schema migrated on first use; tried again on the next use if the database is away).

        Raises:
            StorageError: the database cannot be reached (the message never includes the URL or its password).
        """
        try:
            return make_sessionmaker(self.engine)
        except (OperationalError, InterfaceError) as exc:
            raise unavailable(exc) from exc

    @cached_property
    def keys(self) -> KeyStore:
        """API keys."""
        return KeyStore(self.sessions)

    @cached_property
    def helpdesk(self) -> HelpdeskStore:
        """Conversations, tickets, escalations, feedback."""
        redactor = Redactor(detect_names=True) if self.settings.ops.redact_stored else None
        return HelpdeskStore(self.sessions, self.settings.api.handoffs_per_origin_hour,
                             (lambda text: redactor.redact(text).text) if redactor is not None else None)

    @cached_property
    def retention(self) -> Retention:
        """Purges customers' words older than `ops.retention_days`."""
        return Retention(lambda: self.sessions, self.settings.ops.retention_days)

    @cached_property
    def actions(self) -> Any:  # actions: deskpilot.integrations.actions.Actions
        """Declared actions (password reset, ...) run for customers in a conversation.

        Raises:
            ConfigError: the actions file is invalid.
        """
        from deskpilot.integrations.actions import Actions, load_actions

        integrations = self.settings.integrations
        return Actions(load_actions(integrations.actions_file), self.sessions, integrations.action_timeout_s)

    @cached_property
    def events(self) -> EventWriter:
        """Usage events written behind the request (agent tool outputs shown)."""
        return EventWriter(lambda: self.sessions)

    @cached_property
    def analytics(self) -> Analytics:
        """KPIs from stored events."""
        return Analytics(self.sessions)

    @cached_property
    def review(self) -> ReviewList:
        """The fallback review list."""
        return ReviewList(self.sessions)

    @cached_property
    def gaps(self) -> ContentGaps:
        """Content gaps: clusters of questions the KB could not answer well."""
        assistant = self.settings.assistant
        return ContentGaps(self.sessions, self.embeddings, self.retriever, lambda: self.llm, self.prompts,
                           self.settings.ops, company=assistant.company, kb_language=assistant.kb_language,
                           redactor=Redactor(detect_names=True))

    @cached_property
    def hygiene(self) -> KnowledgeHygiene:
        """Stale, never-cited and conflicting sources."""
        return KnowledgeHygiene(self.sessions, self.store, self.record, lambda: self.llm, self.prompts,
                                self.settings.ops)

    @cached_property
    def ticket_articles(self) -> TicketArticles:
        """Article drafts written from solved tickets, saved into a KB folder."""
        return TicketArticles(self.helpdesk, self.store, self.record, lambda: self.llm, self.prompts,
                              self.settings.assistant, self.settings.ops.articles_dir)

    @cached_property
    def ingest_jobs(self) -> IngestJobs:
        """Background ingestion of the configured sources."""
        from deskpilot.ingest.sources import load_sources

        return IngestJobs(self.sessions, lambda: self.ingestor, lambda: load_sources(self.settings.ingest.sources_file))

    def llm_ready(self) -> dict[str, Any]:
        """Whether the LLM can be reached, without generating (providers.llm.llm_ready)."""
        llm = self.settings.llm
        return llm_ready(llm, self._local_model_path() if llm.provider == "local" else None)

    @cached_property
    def record(self) -> IngestRecord:
        """The ingestion record."""
        return IngestRecord(self.sessions)

    @cached_property
    def chunker(self) -> Chunker:
        """Token-sized, structure-aware chunker."""
        ingest = self.settings.ingest
        encoding = get_encoding(self.settings.model_files, ingest.tokenizer)
        return Chunker(encoding, ingest.chunk_size, ingest.chunk_overlap)

    @cached_property
    def terms(self) -> TermNormalizer:
        """Term normalisation list."""
        return TermNormalizer.from_file(self.settings.ingest.terms_file)

    @cached_property
    def retriever(self) -> HybridRetriever:
        """Hybrid (vector + BM25) retrieval with audience filtering."""
        return HybridRetriever(self.store, self.recent_embeddings, self.terms, self.settings.retrieval,
                               self.record.generation)

    @cached_property
    def llm(self) -> LLMClient:
        """The chat model client (a local model loads on first generation, not here)."""
        llm = self.settings.llm
        model = build_chat_model(llm, self._local_model_path() if llm.provider == "local" else Path())
        return LLMClient(model, self.settings.llm)

    def _local_model_path(self) -> Path:
        """The GGUF file the local provider loads: the configured path, else the installed model's file."""
        llm = self.settings.llm
        return llm.model_path or local_model_file(self.settings.model_files, llm.model, llm.quantization)

    @cached_property
    def prompts(self) -> PromptLibrary:
        """Prompt templates."""
        return PromptLibrary(self.settings.assistant.prompts_dir)

    @cached_property
    def checker(self) -> CitationChecker:
        """Citation support checker."""
        judge = LLMClaimJudge(lambda: self.llm, self.prompts) if self.settings.assistant.judge == "llm" else None
        return CitationChecker(self.recent_embeddings, min_support=self.routing.min_support, judge=judge)

    @cached_property
    def routing(self) -> RoutingSettings:
        """Routing thresholds: settings, overridden by the calibrated eval/thresholds.yaml when present."""
        return load_routing(self.settings.routing)

    def count_tokens(self, text: str) -> int:
        """tiktoken count with the configured encoding."""
        return self.chunker.count(text)

    @cached_property
    def escalation(self) -> EscalationDetector:
        """Why a human is needed: lexicon and example messages from prompts/ (see assist/escalation.py)."""
        folder = self.settings.assistant.prompts_dir
        routing = self.routing
        examples = None
        if routing.classifier == "multilingual":
            examples = ExampleClassifier(load_examples(folder / "routing_examples.yaml"),
                                         shared_encoder().encode, routing.example_min_similarity,
                                         routing.example_margin, self.settings.model_files / "cache")
        return EscalationDetector(Lexicon.load(folder / "routing_lexicon.yaml"), examples, routing.repeat_similarity)

    @cached_property
    def assistant(self) -> Assistant:
        """The customer answer service."""
        return Assistant(self.retriever, lambda: self.llm, self.checker, self.prompts, self.count_tokens,
                         self.settings.assistant, self.routing, self.settings.retrieval,
                         Composer(self.recent_embeddings.embed_documents), self.escalation)

    @cached_property
    def tickets(self) -> TicketServices:
        """Agent services on tickets."""
        return TicketServices(self.retriever, self.store, lambda: self.llm, self.checker, self.prompts,
                              self.count_tokens, self.settings.assistant, self.assistant, self.routing)

    @cached_property
    def conversations(self) -> Conversations:
        """Conversation turns: stored history, actions, the answer, the record (the service and the CLI)."""
        return Conversations(self.assistant, self.helpdesk, self.actions, self.settings.retrieval.max_query_chars)

    @cached_property
    def ingestor(self) -> Ingestor:
        """The ingestion pipeline."""
        configure_unstructured(self.settings.model_files)
        return Ingestor(self.store, self.record, self.chunker, self.terms, self.settings.ingest,
                        self.embedding_model_id, batch_chunks=self.settings.index.upsert_batch)

    @cached_property
    def webhooks(self) -> WebhookService:
        """The new-ticket webhook: intake, processing and delivery to the callback URL."""
        return WebhookService(lambda: self.sessions, lambda: self.tickets, lambda: self.helpdesk,
                              self.settings.integrations)
