"""Deskpilot settings: one pydantic-settings object, nested sections, every field described.

Values come from the environment (prefix ``DESKPILOT_``, nested sections with ``__``, e.g.
``DESKPILOT_EMBEDDING__PROVIDER=openai``) or from a ``.env`` file. A few well-known names are also
accepted without the prefix: ``CHROMA_HOST``, ``CHROMA_PORT``, ``DATABASE_URL`` and ``OPENAI_API_KEY``.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from deskpilot.errors import ConfigError

# Thresholds, similarities, weights and shares: a number from 0 to 1.
ZeroToOne = Annotated[float, Field(ge=0, le=1)]


class EmbeddingSettings(BaseModel):
    """Which embedding model turns chunks and queries into vectors."""

    provider: Literal["local", "openai", "fake"] = Field(
        "local", description="local: ONNX all-MiniLM-L6-v2 on the CPU; openai: any OpenAI-compatible "
        "/v1/embeddings endpoint; fake: deterministic hash vectors, for tests only."
    )
    model: str = Field(
        "all-MiniLM-L6-v2", description="Model name. For 'local' only all-MiniLM-L6-v2 is shipped."
    )
    base_url: str | None = Field(None, description="Base URL of the OpenAI-compatible server (openai).")
    api_key: SecretStr | None = Field(None, description="API key for the OpenAI-compatible server.")
    dimensions: int | None = Field(None, description="Requested vector size (openai models that allow it).")
    batch_size: int = Field(16, ge=1, le=2048, description="Most texts per embedding batch (16 is fastest on 2 CPU cores).")
    max_tokens: int = Field(256, ge=16, le=8192, description="Input window of the local model (word pieces).")
    threads: int = Field(0, ge=0, le=64, description="CPU threads for the local model (0 = all cores).")
    quantize: bool = Field(
        True, description="Use the per-channel int8 model that `deskpilot models install` derives "
        "(about 1.6x faster, cosine 0.99 to the source model). False uses the source model as shipped."
    )


class IndexSettings(BaseModel):
    """Where chunks and their vectors live (Chroma)."""

    collection: str = Field("deskpilot", description="Chroma collection name.")
    upsert_batch: int = Field(256, ge=1, le=5000, description="Chunks embedded and written per batch.")


class IngestSettings(BaseModel):
    """How KB sources are read, cleaned and chunked."""

    sources_file: Path = Field(Path("ingest/sources.yaml"), description="The list of sources to ingest.")
    terms_file: Path | None = Field(
        Path("ingest/terms.yaml"), description="Term normalisation list (variants -> canonical term)."
    )
    chunk_size: int = Field(200, ge=32, le=4000, description="Most tiktoken tokens in one chunk's text.")
    chunk_overlap: int = Field(30, ge=0, le=1000, description="Tokens repeated between consecutive chunks.")
    tokenizer: str = Field("cl100k_base", description="tiktoken encoding used to count tokens.")
    max_file_mb: float = Field(20.0, gt=0, description="Files larger than this are refused.")
    redact_tickets: bool = Field(True, description="Redact personal data from tickets before indexing.")
    redact_articles: bool = Field(False, description="Redact personal data from articles too.")
    solved_statuses: list[str] = Field(
        ["solved", "closed", "resolved"], description="Ticket statuses that are indexed; others are skipped."
    )


class LLMSettings(BaseModel):
    """The language model that writes answers, drafts and summaries."""

    provider: Literal["local", "openai", "fake"] = Field(
        "local", description="local: a GGUF model run in-process by llama-cpp-python; openai: any "
        "OpenAI-compatible chat endpoint (OpenAI, vLLM, Ollama, llama.cpp server); fake: tests only."
    )
    model: str = Field(
        "qwen2.5-1.5b-instruct", description="openai: the served model's name. local: qwen2.5-1.5b-instruct (default, "
        "better answers) or qwen2.5-0.5b-instruct (about twice as fast, weaker)."
    )
    model_path: Path | None = Field(None, description="A GGUF file to use instead of the installed local model.")
    quantization: Literal["auto", "q8_0", "shipped"] = Field(
        "auto", description="local: which GGUF file to load. q8_0: the Q8_0 file that `deskpilot models install` "
        "derives from the shipped Q4_K_M (the same answers; on CPUs with AMX 1.15-1.5x faster to the first "
        "token, but 1.9 GB against 1.1 GB); shipped: the Q4_K_M as published (faster on CPUs without AMX); "
        "auto: q8_0 where llama.cpp runs AMX kernels, shipped elsewhere."
    )
    base_url: str | None = Field(None, description="Base URL of the OpenAI-compatible server (…/v1).")
    api_key: SecretStr | None = Field(None, description="API key of the OpenAI-compatible server.")
    timeout: float = Field(
        120.0, gt=0, description="Seconds before an LLM call is abandoned (a local model on 2 cores needs about 30-60 s "
        "for a reply draft)."
    )
    max_tokens: int = Field(320, ge=16, le=8192, description="Most tokens generated per call.")
    temperature: float = Field(0.1, ge=0.0, le=2.0, description="Sampling temperature.")
    context_tokens: int = Field(4096, ge=512, le=131072, description="Context window of the local model.")
    threads: int = Field(0, ge=0, le=256, description="CPU threads for the local model (0 = all cores).")
    json_output: Literal["schema", "object", "none"] = Field(
        "none", description="provider 'openai': how the server constrains JSON replies (summaries, verdicts): "
        "'schema' (response_format json_schema: OpenAI, vLLM, recent llama.cpp server), 'object' (json_object: most "
        "servers, Ollama included) or 'none' (the reply is parsed as it comes). The local model always uses the schema.")


class RetrievalSettings(BaseModel):
    """Hybrid search: vectors + BM25, fused, then diversified."""

    top_k: int = Field(5, ge=1, le=50, description="Chunks handed to the assistant.")
    dense_k: int = Field(30, ge=1, le=500, description="Candidates from the vector index.")
    keyword_k: int = Field(30, ge=0, le=500, description="Candidates from BM25 (0 disables keyword search).")
    dense_weight: ZeroToOne = Field(
        0.75, description="Weight of the cosine similarity in the fused score; the rest goes to "
        "BM25 normalised by the best BM25 score of the query."
    )
    per_source: int = Field(2, ge=1, le=20, description="Most chunks of one source in the results (diversity).")
    max_query_chars: int = Field(2000, ge=50, description="Longer questions are refused.")
    cache_size: int = Field(
        2048, ge=0, le=1_000_000, description="Recent query vectors and candidate rankings kept per process "
        "(0 disables). Rankings follow the index generation; chosen chunks are always read fresh."
    )


class RoutingSettings(BaseModel):
    """When the assistant answers and when it hands the conversation to a human."""

    min_relevance: ZeroToOne = Field(0.35, description="Below this best similarity no source is relevant.")
    min_support: ZeroToOne = Field(0.45, description="A claim needs at least this support to be kept.")
    min_coverage: ZeroToOne = Field(0.5, description="Escalate when less than this share of claims is kept.")
    min_confidence: ZeroToOne = Field(0.5, description="Escalate below this confidence.")
    min_fit: ZeroToOne = Field(
        0.45, description="Composed answers: below this fit between the question and the chosen "
        "section (its best sentence by meaning and words, its title and heading) the section does not answer the "
        "question, and the conversation goes to a human with links (no_relevant_source).")
    max_negativity: ZeroToOne = Field(0.6, description="Escalate at or above this negativity (0..1).")
    answer_check: Literal["model", "off"] = Field(
        "off", description="`model`: composed answers whose confidence is within answer_check_band of "
        "min_confidence (in doubt either way) go to the language model first (prompts/answer_check.yaml: does the "
        "answer tell the customer what they asked?), and are shown when it says yes with log-odds of at least "
        "answer_check_min_odds, else the conversation goes to a human (no_relevant_source). `off` (default): the "
        "confidence alone decides. With the local 1.5B model the check answered 7 more LibreOffice questions right "
        "but 1 fewer on the sample kb, 2 more unanswerable ones, and held back 3 right DSTC10 answers with 4 wrong "
        "ones (README, Answer quality): turn it on for a stronger model on a server once `deskpilot eval` says so.")
    answer_check_band: float = Field(
        0.1, ge=0, le=1, description="Half-width of the confidence band around min_confidence that is checked "
        "(0.1: about a third of the suites' questions were checked).")
    answer_check_min_odds: float = Field(
        0.8, ge=-20, le=20, description="Natural log-odds of Yes over No that the check needs (0: even). With the "
        "local model, on 137 read answers and drafts of the kb and LibreOffice suites, 0.8 kept the share of right "
        "answers among those shown and answered more questions; 0.4 answered many more, with more wrong.")
    classifier: Literal["multilingual", "off"] = Field(
        "multilingual", description="The escalation detector's example layer: `multilingual` compares each sentence "
        "with the example messages of prompts/routing_examples.yaml (a multilingual sentence encoder shipped with "
        "the package); `off` keeps the lexicon alone.")
    example_min_similarity: ZeroToOne = Field(
        0.54, description="Example layer: a sentence's mean similarity to its 3 closest examples of a "
        "reason must reach this...")
    example_margin: ZeroToOne = Field(
        0.10, description="...and exceed its similarity to the closest ordinary questions by this much "
        "(both: the lowest values at which the example layer alone flags none of eval/suites/routing.jsonl's "
        "ordinary questions and none of eval/suites/kb.jsonl's customer questions).")
    repeat_similarity: ZeroToOne = Field(
        0.9, description="A question this similar to an earlier one of the conversation, after an "
        "answer, is the customer asking again: negative_sentiment (repeated_question).")
    thresholds_file: Path | None = Field(
        Path("eval/thresholds.yaml"), description="Calibrated values (routing: {min_confidence: ...}) override these."
    )


class AssistantSettings(BaseModel):
    """How answers are written."""

    company: str = Field("our company", description="Name the assistant uses for the company it speaks for.")
    prompts_dir: Path = Field(Path("prompts"), description="Folder of the prompt templates.")
    judge: Literal["none", "llm"] = Field(
        "none", description="Citation check: model-free scoring only (none), or also ask the LLM whether each kept "
        "sentence is stated by its source (llm; one short call per sentence)."
    )
    translate_queries: bool = Field(True, description="Also search with an English translation of non-English questions.")
    kb_language: str = Field("en", description="Main language of the knowledge base.")
    agent_language: str = Field("en", description="Language agents read ticket summaries in: a ticket written in "
                                "another language is summarised in this one (translated and checked).")
    compose: Literal["extract", "generate"] = Field(
        "extract", description="How customer answers are made. extract: the best section's own sentences and steps "
        "(a procedure whole, in order), translated when the customer writes in another language; nothing is "
        "reworded, so nothing can be invented. generate: the model writes 1-3 sentences from the sources, each "
        "checked against them (for a stronger model on an OpenAI-compatible server; compare both with `deskpilot "
        "eval compare`).")
    sources: int = Field(3, ge=1, le=20, description="Best retrieved pages whose every section is a candidate when "
                         "composing an answer.")
    sections: int = Field(6, ge=1, le=20, description="Sections of those pages (closest to the question) that are read "
                          "sentence by sentence to choose the answer.")
    context_budget: int = Field(1500, ge=200, le=100000, description="Tokens of sources and ticket text per agent prompt.")
    answer_budget: int = Field(
        200, ge=100, le=100000, description="Tokens of sources in a customer answer prompt: each source is cut to its "
        "sentences closest to the question. Prompt size drives a local model's first-token latency (about 110 "
        "prompt tokens/s for the default 1.5B model on 2 cores)."
    )
    categories: list[str] = Field(
        ["account", "billing", "technical", "integrations", "mobile", "security", "data", "other"],
        description="Ticket categories for classification.",
    )


class ApiSettings(BaseModel):
    """The HTTP service."""

    widget_key: str | None = Field(
        None, description="Public customer-role key embedded in the chat widget (created at start-up if missing). "
        "It can only ask questions and hand off its own conversations.")
    allowed_origins: list[str] = Field(
        default_factory=list, description="Web origins allowed to call the API from a browser (the sites that embed "
        "the widget), e.g. [\"https://help.example.com\"]. Same-origin pages always work.")
    max_body_kb: int = Field(512, ge=1, le=100_000, description="Larger request bodies are refused (413).")
    rate_limit_per_minute: int = Field(
        120, ge=0, le=1_000_000, description="Requests per minute per API key, all workers together (429 past it; the widget's "
        "public key counts per client address); 0 turns limits off.")
    threads: int = Field(40, ge=0, le=1000, description="Threads per worker for blocking work (0: the "
                         "framework's default, 40).")
    max_jobs_per_caller: int = Field(
        2, ge=0, le=1000, description="Answers being written at once for one anonymous widget visitor (its address) "
        "in a worker; more get 429 (a named key may serve many people: its rate limit applies). 0: no limit.")
    max_jobs: int = Field(
        64, ge=0, le=100_000, description="Answers being written at once in a worker; more get 503 with Retry-After "
        "(a bounded queue instead of an unbounded pile-up). 0: no limit.")
    handoffs_per_origin_hour: int = Field(
        20, ge=0, le=100_000, description="New hand-off tickets that widget conversations from one network origin "
        "(an address; IPv6 by /64) may open in an hour; past it, a hand-off joins that origin's latest ticket, so a "
        "flood cannot fill the agents' queue and nothing is lost. An office behind one address counts as one origin: "
        "keep it well above one person's needs. 0: no limit.")
    trusted_proxies: list[str] = Field(
        default_factory=list, description="Addresses or networks of the reverse proxies in front of the service "
        "(e.g. [\"10.0.0.0/8\"]): only from them is X-Forwarded-For believed, to find a visitor's address. Empty: "
        "the peer's address is the visitor's.")

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError as exc:
                raise ValueError(f"not an address or network: {item!r}") from exc
        return value


class EvalSettings(BaseModel):
    """How QA evaluation runs are judged and where their reports go."""

    reports_dir: Path = Field(Path("eval/reports"), description="Folder of saved evaluation reports (JSON + HTML).")
    judge_model: str | None = Field(None, description="Judge model name for --judge openai (default: llm.model).")
    judge_base_url: str | None = Field(None, description="Judge server for --judge openai (default: llm.base_url).")
    judge_api_key: SecretStr | None = Field(None, description="Judge server API key (default: llm.api_key).")
    judge_timeout: float = Field(300.0, gt=0, description="Seconds one judge metric may take before it is undetermined.")
    target_false_escalation_rate: ZeroToOne = Field(
        0.1, description="`deskpilot eval calibrate` on a suite without key points: fits min_confidence so "
        "that at most this share of answerable questions is escalated."
    )
    wrong_answer_cost: float = Field(
        3.0, gt=0, le=100, description="`deskpilot eval calibrate` on a suite with key points: fits min_confidence to "
        "the least cost, where a wrong answer costs this much and a correct answer held back costs 1.")


class OpsSettings(BaseModel):
    """What support managers and KB editors watch: KPIs, content gaps and knowledge hygiene."""

    metrics_window_hours: int = Field(
        24, ge=1, le=24 * 90, description="Window of the automation rate, deflection and CSAT gauges on /metrics.")
    gap_max_confidence: ZeroToOne = Field(
        0.6, description="Answered questions below this confidence count as content gaps, with every "
        "question escalated for want of a source (no_relevant_source, low_support).")
    gap_similarity: ZeroToOne = Field(
        0.45, description="Questions whose average cosine similarity reaches this join one content-gap "
        "cluster (average linkage). With the local all-MiniLM-L6-v2, rewordings of one question averaged 0.46 to 0.74 "
        "in our checks and different topics below 0.2.")
    gap_min_size: int = Field(2, ge=1, le=1000, description="Smallest cluster listed as a content gap.")
    gap_max_questions: int = Field(5000, ge=10, le=100_000, description="Most recent gap questions clustered.")
    gap_proposals: int = Field(10, ge=0, le=100, description="Largest clusters that get an article proposal "
                               "(one LLM call each).")
    stale_after_days: int = Field(180, ge=1, description="An article not updated for longer is stale when cited often.")
    stale_min_citations: int = Field(5, ge=1, description="Citations in the window that make an article 'often cited'.")
    citation_window_days: int = Field(90, ge=1, description="Window in which citations are counted (stale and "
                                      "never-cited articles).")
    conflict_similarity: ZeroToOne = Field(
        0.8, description="Chunks of different sources at least this similar are compared for "
        "conflicting numbers, versions and steps.")
    conflict_max_chunks: int = Field(50_000, ge=100, description="Most chunks compared for conflicts.")
    articles_dir: Path = Field(
        Path("kb/articles/from-tickets"), description="Where article drafts written from solved tickets are saved "
        "(a folder that ingestion reads).")
    retention_days: int = Field(
        0, ge=0, le=36500, description="Conversations, events, feedback, solved tickets and finished webhook "
        "deliveries last touched longer ago are purged once a day by `deskpilot serve` (and by `deskpilot purge`); "
        "0 keeps them.")
    redact_stored: bool = Field(
        False, description="Redact personal data (e-mails, phone numbers, card numbers, IBANs, addresses, names a "
        "customer introduces) from questions and answers before they are stored: conversations, tickets, hand-off "
        "packets and analytics events keep placeholders such as [EMAIL]. The answer itself is made from the words "
        "as written; only what is kept is redacted.")


class IntegrationSettings(BaseModel):
    """The helpdesk system Deskpilot plugs into: the new-ticket webhook, its callback, and actions."""

    webhook_secret: SecretStr | None = Field(
        None, description="Shared HMAC-SHA256 secret of `POST /v1/webhooks/ticket` (unset: the webhook is off, 503).")
    require_delivery_id: bool = Field(
        True, description="Refuse webhook requests without an X-Deskpilot-Delivery id (it is covered by the "
        "signature, so a captured request cannot be replayed under a new id). Off only for a sender that cannot "
        "set it.")
    webhook_tolerance_s: int = Field(300, ge=1, le=86400, description="A signed request older or newer than this "
                                     "many seconds is refused (replay protection).")
    callback_url: str | None = Field(None, description="Where the webhook's result (classification, summary, "
                                     "suggestions, draft) is delivered (POST, signed with `callback_secret`).")
    callback_secret: SecretStr | None = Field(
        None, description="HMAC-SHA256 secret that signs deliveries to callback_url; keep it different from "
        "webhook_secret, so that whoever can sign requests to Deskpilot cannot forge its results (unset: "
        "webhook_secret, with a warning).")
    delivery_attempts: int = Field(6, ge=1, le=50, description="Delivery attempts before a result is marked failed.")
    delivery_backoff_s: float = Field(2.0, gt=0, le=3600, description="First retry delay; it doubles each attempt.")
    delivery_timeout_s: float = Field(10.0, gt=0, le=300, description="Seconds one delivery attempt may take.")
    actions_file: Path | None = Field(Path("deploy/actions.yaml"), description="Declared actions (name, description, "
                                      "JSON schema of parameters, endpoint, auth header, confirmation); unset: none.")
    action_timeout_s: float = Field(10.0, gt=0, le=300, description="Seconds an action's endpoint may take.")


class Settings(BaseSettings):
    """All of Deskpilot's settings."""

    model_config = SettingsConfigDict(
        env_prefix="DESKPILOT_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
        populate_by_name=True,
    )

    data_dir: Path = Field(Path("data"), description="Index, database and model files live here.")
    models_dir: Path | None = Field(None, description="Local model and tokenizer files (default <data_dir>/models).")
    database_url: str | None = Field(
        None, validation_alias=AliasChoices("DESKPILOT_DATABASE_URL", "DATABASE_URL", "database_url"),
        description="SQLAlchemy URL. Unset: SQLite at <data_dir>/deskpilot.db. Postgres: postgresql+psycopg://...",
    )
    chroma_host: str | None = Field(
        None, validation_alias=AliasChoices("DESKPILOT_CHROMA_HOST", "CHROMA_HOST", "chroma_host"),
        description="Chroma server host. Unset: an embedded PersistentClient under the data dir.",
    )
    chroma_port: int = Field(
        8000, validation_alias=AliasChoices("DESKPILOT_CHROMA_PORT", "CHROMA_PORT", "chroma_port"),
        description="Chroma server port (with chroma_host).",
    )
    chroma_ssl: bool = Field(False, description="Use HTTPS to reach the Chroma server.")
    log_level: str = Field("WARNING", description="Python logging level.")
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)  # type: ignore[arg-type]
    index: IndexSettings = Field(default_factory=IndexSettings)  # type: ignore[arg-type]
    ingest: IngestSettings = Field(default_factory=IngestSettings)  # type: ignore[arg-type]
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)  # type: ignore[arg-type]
    llm: LLMSettings = Field(default_factory=LLMSettings)  # type: ignore[arg-type]
    routing: RoutingSettings = Field(default_factory=RoutingSettings)  # type: ignore[arg-type]
    assistant: AssistantSettings = Field(default_factory=AssistantSettings)  # type: ignore[arg-type]
    eval: EvalSettings = Field(default_factory=EvalSettings)  # type: ignore[arg-type]
    api: ApiSettings = Field(default_factory=ApiSettings)  # type: ignore[arg-type]
    ops: OpsSettings = Field(default_factory=OpsSettings)  # type: ignore[arg-type]
    integrations: IntegrationSettings = Field(default_factory=IntegrationSettings)  # type: ignore[arg-type]

    @property
    def model_files(self) -> Path:
        """Folder of the local model and tokenizer files."""
        return self.models_dir or self.data_dir / "models"

    @property
    def chroma_dir(self) -> Path:
        """Folder of the embedded Chroma store."""
        return self.data_dir / "chroma"

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL, defaulting to SQLite in the data dir."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'deskpilot.db').resolve()}"


def load_routing(routing: RoutingSettings) -> RoutingSettings:
    """Routing settings with the calibrated values of thresholds_file (its `routing:` mapping) applied."""
    path = routing.thresholds_file
    if path is None or not path.is_file():
        return routing
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    overrides = data.get("routing") if isinstance(data, dict) else None
    if not overrides:
        return routing
    try:
        return routing.model_copy(update={k: float(v) for k, v in overrides.items() if k in RoutingSettings.model_fields})
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: invalid routing value ({exc})") from exc


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once. Tests build their own `Settings` instead."""
    return Settings()
