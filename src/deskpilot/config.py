"""Deskpilot settings: one pydantic-settings object, nested sections, every field described.

Values come from the environment (prefix ``DESKPILOT_``, nested sections with ``__``, e.g.
``DESKPILOT_EMBEDDING__PROVIDER=openai``) or from a ``.env`` file. A few well-known names are also
accepted without the prefix: ``CHROMA_HOST``, ``CHROMA_PORT``, ``DATABASE_URL`` and ``OPENAI_API_KEY``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    batch_size: int = Field(32, ge=1, le=2048, description="Most texts per embedding call.")
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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once. Tests build their own `Settings` instead."""
    return Settings()
