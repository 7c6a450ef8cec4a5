"""What an evaluation runs against: the main index, a temporary index built from --kb folders, or HTTP."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from langchain_core.language_models.chat_models import BaseChatModel

from deskpilot.assist.prompts import PromptLibrary
from deskpilot.config import Settings
from deskpilot.errors import ConfigError
from deskpilot.evaluation.judge import RagasScorer
from deskpilot.evaluation.keypoints import KeyPointScorer
from deskpilot.evaluation.scoring import AnswerJudge, ItemScorer
from deskpilot.ingest.pipeline import Ingestor, IngestReport, ProgressSink
from deskpilot.ingest.sources import SourceSpec, load_sources
from deskpilot.providers.llm import LLMClient, build_chat_model
from deskpilot.providers.model_files import local_model_file

logger = logging.getLogger(__name__)

TICKET_EXPORTS = ("*.json", "*.jsonl", "*.csv")


class Services(Protocol):
    """What an evaluation needs of the application's container (deskpilot.container.Container, built by the caller:
    evaluation sits below the composition root and never builds one itself)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def llm(self) -> LLMClient: ...

    @property
    def embeddings(self) -> Any: ...  # a LangChain Embeddings

    @property
    def prompts(self) -> PromptLibrary: ...

    @property
    def ingestor(self) -> Ingestor: ...


S = TypeVar("S", bound=Services)


def _under(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def kb_specs(folders: Sequence[Path], configured: Sequence[SourceSpec]) -> list[SourceSpec]:
    """Sources for --kb folders. The configured sources that lie under a folder keep their kind and audience
    (so `--kb kb` gives the same source ids as `deskpilot ingest`); any other folder is read as public
    articles, with its ticket exports (JSON, JSONL, CSV) read as tickets."""
    specs: list[SourceSpec] = []
    for folder in folders:
        if not folder.exists():
            raise ConfigError(f"--kb {folder}: no such folder")
        root = folder.resolve()
        inside = [s for s in configured if _under(s.path.resolve(), root)]
        if inside:
            specs.extend(inside)
            continue
        if folder.is_file():
            kind = "ticket" if folder.suffix.lower() in (".json", ".jsonl", ".csv") else "article"
            specs.append(SourceSpec(path=folder, kind=kind))
            continue
        specs.append(SourceSpec(name=folder.as_posix(), path=folder, kind="article", exclude=list(TICKET_EXPORTS)))
        exports = sorted({p for pattern in TICKET_EXPORTS for p in folder.rglob(pattern) if p.is_file()})
        specs.extend(SourceSpec(path=p, kind="ticket") for p in exports)
    return specs


class TemporaryKB(Generic[S]):
    """A separate, throw-away data dir (index + record) built from --kb folders; the main one is not touched.
    `make` builds the services on its settings (the application's Container)."""

    def __init__(self, settings: Settings, folders: Sequence[Path], make: Callable[[Settings], S]) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="deskpilot-eval-")
        configured = load_sources(settings.ingest.sources_file) if settings.ingest.sources_file.is_file() else []
        self.specs = kb_specs(folders, configured)
        self.settings = settings.model_copy(update={
            "data_dir": Path(self._tmp.name), "models_dir": settings.model_files, "chroma_host": None,
            "database_url": None})
        self.container = make(self.settings)

    def ingest(self, progress: ProgressSink | None = None) -> IngestReport:
        """Index the folders (failures are reported, the rest still goes in)."""
        return self.container.ingestor.run(self.specs, full=True, progress=progress)

    def close(self) -> None:
        """Delete the temporary index."""
        self._tmp.cleanup()

    def __enter__(self) -> TemporaryKB[S]:
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()


def judge_model(kind: str, container: Services) -> BaseChatModel | None:
    """The judge chat model for --judge none|local|openai (none: no model)."""
    settings = container.settings
    if kind == "none":
        return None
    if kind == "local":
        if settings.llm.provider == "local":
            return container.llm.model  # the same loaded model: one copy in memory
        llm = settings.llm.model_copy(update={"provider": "local", "model": "qwen2.5-1.5b-instruct"})
        return build_chat_model(llm, local_model_file(settings.model_files, llm.model, llm.quantization))
    if kind == "openai":
        judge = settings.eval
        llm = settings.llm.model_copy(update={
            "provider": "openai", "model": judge.judge_model or settings.llm.model,
            "base_url": judge.judge_base_url or settings.llm.base_url,
            "api_key": judge.judge_api_key or settings.llm.api_key, "timeout": judge.judge_timeout,
            "temperature": 0.0})
        return build_chat_model(llm, Path())
    raise ConfigError(f"--judge must be none, local or openai, not {kind!r}")


def build_scorer(kind: str, container: Services) -> ItemScorer:
    """ragas metrics, key points and the verdict, with the judge and the embeddings passed explicitly."""
    keypoints = KeyPointScorer(container.embeddings.embed_documents)
    model = judge_model(kind, container)
    if model is None:
        return ItemScorer(RagasScorer(), keypoints)
    strictness = 1 if kind == "local" else 3  # answer relevancy: questions generated per answer
    ragas = RagasScorer(model, container.embeddings, timeout=container.settings.eval.judge_timeout,
                        strictness=strictness)
    llm_settings = container.settings.llm.model_copy(update={"temperature": 0.0, "max_tokens": 160})
    return ItemScorer(ragas, keypoints, AnswerJudge(LLMClient(model, llm_settings), container.prompts))
