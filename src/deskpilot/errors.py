"""One exception tree for Deskpilot. Adapters translate vendor exceptions into these at the edge."""


class DeskpilotError(Exception):
    """Base of every error Deskpilot raises on purpose."""


class ConfigError(DeskpilotError):
    """A setting or configuration file is missing or invalid."""


class ModelFilesError(ConfigError):
    """Local model or tokenizer files are missing or do not match their pinned hashes."""


class IngestionError(DeskpilotError):
    """A source could not be loaded, cleaned, chunked or indexed."""


class UnsupportedFormatError(IngestionError):
    """A file has an extension or content that no loader handles."""


class VectorStoreError(DeskpilotError):
    """The vector index is unreachable or inconsistent."""


class EmbeddingError(DeskpilotError):
    """The embedding provider failed."""


class RetrievalError(DeskpilotError):
    """Search over the index failed."""


class LLMError(DeskpilotError):
    """The language model failed."""


class LLMTimeout(LLMError):
    """The language model did not answer in time."""


class LLMOutputError(LLMError):
    """The language model answered with output that could not be parsed."""


class PromptError(DeskpilotError):
    """A prompt template is missing or was rendered with missing variables."""


class InvalidInputError(DeskpilotError):
    """A request is empty, too large or otherwise unusable."""


class NotFoundError(DeskpilotError):
    """An id (ticket, conversation, source) does not exist."""


class ConflictError(DeskpilotError):
    """The request conflicts with work in progress (e.g. an ingestion is already running)."""


class StorageError(DeskpilotError):
    """The database stayed unavailable (down, restarting, locked) through every retry."""
