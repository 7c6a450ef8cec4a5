"""Chat model providers behind LangChain's `BaseChatModel`: local GGUF (llama-cpp-python), OpenAI-compatible, fake.

Vendor exceptions are translated into `LLMError` / `LLMTimeout` by `LLMClient`, the one object services use.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

import httpx
import numpy as np
import openai
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from deskpilot.config import LLMSettings
from deskpilot.errors import ConfigError, LLMError, LLMOutputError, LLMTimeout
from deskpilot.providers.model_files import llama_has_amx

ModelT = TypeVar("ModelT", bound=BaseModel)
T = TypeVar("T")
# How a chat model can be held to JSON: llama.cpp's grammar from a schema, a server's json_schema or json_object
# response format, or not at all (the reply is parsed as it comes).
JsonOutput = Literal["grammar", "schema", "object", "none"]

logger = logging.getLogger(__name__)
_TIMEOUTS = (openai.APITimeoutError, httpx.TimeoutException, TimeoutError)
SEED = 1234  # every local generation samples with this seed (see LlamaCppChat._stream)


def _role(message: BaseMessage) -> str:
    return {"human": "user", "ai": "assistant", "system": "system"}.get(message.type, "user")


class _ModelThread:
    """One daemon thread that runs every call into the llama.cpp context, in order.

    llama.cpp's AMX kernels load the CPU's tile configuration once per thread and then trust it. ONNX Runtime
    (the local embeddings) configures the same tile registers for its own int8 kernels on whatever thread
    calls it, so a generation run on a request thread right after an embedding read garbage tiles and wrote
    garbage text (seen on Sapphire Rapids). Keeping llama.cpp on its own thread keeps the two apart; it also
    serialises generations, which one llama context needs anyway.
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="deskpilot-llama", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            self._jobs.get()()

    def submit(self, job: Callable[[], None]) -> None:
        """Queue job to run on the model thread."""
        self._jobs.put(job)

    def call(self, job: Callable[[], T]) -> T:
        """Run job on the model thread and return its result (or raise its exception) in the caller's thread."""
        done: queue.SimpleQueue[tuple[bool, Any]] = queue.SimpleQueue()

        def run() -> None:
            try:
                done.put((True, job()))
            except BaseException as exc:  # handed to the caller's thread, which raises it
                done.put((False, exc))

        self.submit(run)
        ok, value = done.get()
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]


class LlamaCppChat(BaseChatModel):
    """A GGUF model run in-process with llama-cpp-python (chat template from the GGUF file)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model_path: str
    n_ctx: int = 4096
    n_threads: int = 0
    max_tokens: int = 320
    temperature: float = 0.1
    # False reads the file into memory instead of mapping it. Where llama.cpp copies every weight into its
    # own layout (its AMX buffers), the mapped pages are dead weight: 3.7 GB peak RSS against 2.3 GB for
    # the Q8_0 file, for 1 s more loading.
    use_mmap: bool = True
    json_output: JsonOutput = "grammar"  # llama.cpp turns the schema into a grammar: the reply cannot leave it
    _llama: Any = PrivateAttr(default=None)
    _thread: Any = PrivateAttr(default=None)
    _thread_lock: Any = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "llama-cpp"

    def _model(self) -> Any:
        """The llama context; loaded on the model thread at first use."""
        if self._llama is None:
            try:
                from llama_cpp import Llama
            except ImportError as exc:
                raise ConfigError("llama-cpp-python is not installed: run `make install`") from exc
            if not Path(self.model_path).is_file():
                raise ConfigError(f"local model {self.model_path} is missing: run `deskpilot models install`")
            self._llama = Llama(model_path=self.model_path, n_ctx=self.n_ctx, n_threads=self.n_threads or os.cpu_count(),
                                n_batch=512, use_mmap=self.use_mmap, verbose=False, seed=0)
        return self._llama

    def _model_thread(self) -> _ModelThread:
        with self._thread_lock:
            if self._thread is None:
                self._thread = _ModelThread()
            return self._thread

    def _params(self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]) -> dict[str, Any]:
        params: dict[str, Any] = {
            "messages": [{"role": _role(m), "content": str(m.content)} for m in messages],
            "max_tokens": kwargs.get("max_tokens", self.max_tokens),
            "temperature": kwargs.get("temperature", self.temperature),
            "stop": stop,
            "seed": SEED,
        }
        if "response_format" in kwargs:
            params["response_format"] = kwargs["response_format"]
        return params

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        text = "".join(chunk.text for chunk in self._stream(messages, stop, run_manager, **kwargs))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        params = self._params(messages, stop, kwargs)
        parts: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        stopped = threading.Event()  # set when the caller stops reading: the generation ends at the next token

        def generate() -> None:
            try:
                llama = self._model()
                # The same prompt gives the same reply whatever came before: the prompt is read whole (continuing
                # from what the context holds reads the rest in other batches, whose quantized kernels round
                # differently: a translation changed with the call before it), and sampled with the same seed
                # (llama-cpp-python otherwise draws each call's seed from the one before). It costs the shared
                # part of the prompt again, about 0.2 s a call on 2 cores.
                llama.reset()
                for part in llama.create_chat_completion(stream=True, **params):
                    if stopped.is_set():
                        break
                    delta = part["choices"][0].get("delta", {}).get("content") or ""
                    if delta:
                        parts.put(("text", delta))
                parts.put(("end", None))
            except BaseException as exc:  # handed to the caller's thread, which raises it
                parts.put(("error", exc))

        self._model_thread().submit(generate)
        try:
            while True:
                kind, value = parts.get()
                if kind == "end":
                    return
                if kind == "error":
                    raise value
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=value))
                if run_manager is not None:
                    run_manager.on_llm_new_token(value, chunk=chunk)
                yield chunk
        finally:
            stopped.set()


    def yes_odds(self, messages: list[BaseMessage]) -> float:
        """How much more likely the model's reply starts with "Yes" than with "No" (natural log-odds of its first
        token), read from one forward pass over the prompt: no token is generated."""
        def score() -> float:
            import llama_cpp
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            llama = self._model()
            template = llama.metadata.get("tokenizer.chat_template")
            if not template:
                raise ConfigError(f"{self.model_path} has no chat template")
            special = [llama.detokenize([t], special=True).decode("utf-8", "replace")
                       for t in (llama.token_bos(), llama.token_eos())]
            chat: list[Any] = [{"role": _role(m), "content": str(m.content)} for m in messages]
            prompt = Jinja2ChatFormatter(template, eos_token=special[1], bos_token=special[0])(messages=chat).prompt
            tokens = llama.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
            if len(tokens) >= llama.n_ctx():
                raise LLMError(f"the check prompt is {len(tokens)} tokens, the context {llama.n_ctx()}")
            # The whole prompt in one pass, never continued from what the context holds: the same prompt read in
            # other batches gave log-odds 0.15 apart (quantized kernels differ by batch size), enough to turn a
            # decision near the threshold.
            llama.reset()
            llama.eval(tokens)
            logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llama._ctx.ctx, -1), shape=(llama.n_vocab(),))

            def first_tokens(words: Sequence[str]) -> list[int]:
                return sorted({llama.tokenize(w.encode(), add_bos=False, special=False)[0] for w in words})

            yes = np.logaddexp.reduce(logits[first_tokens(("Yes", " Yes", "yes", " yes", "YES"))])
            no = np.logaddexp.reduce(logits[first_tokens(("No", " No", "no", " no", "NO"))])
            return float(yes - no)

        return self._model_thread().call(score)


_SOURCE_RE = re.compile(r"^\[(\d+)\][^\n]*\n(.*?)(?=^\[\d+\]|\Z)", re.MULTILINE | re.DOTALL)


class ExtractiveFakeChat(BaseChatModel):
    """Test double: answers with the first sentence of the first source, cited; NOT_FOUND without sources.

    It follows the structure of Deskpilot's prompts (numbered sources), so the whole pipeline can run in
    tests and load benchmarks without a model. It is never a default for users.
    """

    scripted: list[str] = Field(default_factory=list)
    odds: list[float] = Field(default_factory=list)  # scripted yes/no log-odds; none left: 2.0 (yes)
    delay: float = 0.0
    json_output: JsonOutput | None = "grammar"

    @property
    def _llm_type(self) -> str:
        return "fake-extractive"

    def _reply(self, messages: list[BaseMessage], **kwargs: Any) -> str:
        if self.scripted:
            return self.scripted.pop(0)
        prompt = str(messages[-1].content)
        if "response_format" in kwargs:
            return json.dumps(_value_of(kwargs["response_format"].get("schema") or {"type": "object"}, prompt))
        sources = _SOURCE_RE.findall(prompt)
        if not sources:
            return "NOT_FOUND" if "Sources" in prompt else prompt.strip().splitlines()[-1][:200]
        number, body = sources[0]
        lines = [line.strip("- ").strip() for line in body.strip().splitlines()[2:] if line.strip()]
        first = re.split(r"(?<=[.!?])\s", " ".join(lines) or body.strip())[0]
        return f"{first} [{number}]"

    def yes_odds(self, messages: list[BaseMessage]) -> float:
        """The next scripted log-odds (2.0, a clear yes, when none is left)."""
        return self.odds.pop(0) if self.odds else 2.0

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        if self.delay:
            time.sleep(self.delay)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=self._reply(messages, **kwargs)))])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        text = self._generate(messages, stop, run_manager, **kwargs).generations[0].message.content
        for token in re.findall(r"\S+\s*", str(text)):
            if run_manager is not None:
                run_manager.on_llm_new_token(token)
            yield ChatGenerationChunk(message=AIMessageChunk(content=token))


def _value_of(schema: dict[str, Any], text: str) -> Any:
    """A value that fits a JSON schema, its strings taken from text: what the fake model answers when it is held
    to a schema (the first option of an enum, false, the least number of array items)."""
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type", "object")
    if kind == "object":
        return {name: _value_of(part, text) for name, part in schema.get("properties", {}).items()}
    if kind == "array":
        return [_value_of(schema.get("items", {"type": "string"}), text) for _ in range(max(1, schema.get("minItems", 1)))]
    if kind == "boolean":
        return False
    if kind in ("integer", "number"):
        return schema.get("minimum", 0)
    return " ".join(text.split())[:80] or "n/a"


def _odds_of(top: dict[str, float], reply: str) -> float:
    """Yes/no log-odds from a first token's top log-probabilities ({token: logprob}); from the reply's words when
    the server sent none. A side missing from the list is taken as less likely than the least likely token listed."""
    if not top:
        word = reply.strip().lower()
        return 3.0 if word.startswith("yes") else -3.0 if word.startswith("no") else 0.0
    floor = min(top.values()) - 1.0
    sides = []
    for words in (("yes",), ("no",)):
        found = [p for token, p in top.items() if token.strip().lower() in words]
        sides.append(float(np.logaddexp.reduce(found)) if found else floor)
    return sides[0] - sides[1]


def output_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON schema a model's reply is held to, derived from the pydantic model: titles and string length
    bounds left out (llama.cpp turns a bound of hundreds of characters into a huge grammar; pydantic still
    checks them when the reply is parsed). Nested models are inlined."""
    def clean(node: Any, defs: dict[str, Any]) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return clean(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
            out = {k: clean(v, defs) for k, v in node.items()
                   if k not in ("title", "minLength", "maxLength", "$defs", "description", "default", "properties")}
            if isinstance(node.get("properties"), dict):  # field names, not annotations: a field may be "title"
                out["properties"] = {name: clean(part, defs) for name, part in node["properties"].items()}
            return out
        if isinstance(node, list):
            return [clean(v, defs) for v in node]
        return node

    schema = model.model_json_schema()
    return clean(schema, schema.get("$defs", {}))


def build_chat_model(settings: LLMSettings, local_model_path: Path) -> BaseChatModel:
    """The configured chat model."""
    if settings.provider == "local":
        return LlamaCppChat(model_path=str(local_model_path), n_ctx=settings.context_tokens,
                            n_threads=settings.threads, max_tokens=settings.max_tokens, temperature=settings.temperature,
                            use_mmap=not llama_has_amx())
    if settings.provider == "openai":
        from langchain_openai import ChatOpenAI

        if not settings.base_url and not settings.api_key:
            raise ConfigError("LLM provider 'openai' needs DESKPILOT_LLM__BASE_URL or DESKPILOT_LLM__API_KEY")
        return ChatOpenAI(model=settings.model, base_url=settings.base_url,
                          api_key=settings.api_key or "not-needed",  # type: ignore[arg-type]
                          timeout=settings.timeout, max_retries=1, max_tokens=settings.max_tokens,  # type: ignore[call-arg]
                          temperature=settings.temperature)
    if settings.provider == "fake":
        return ExtractiveFakeChat()
    raise ConfigError(f"unknown LLM provider {settings.provider!r}")


def _llm_error(exc: Exception) -> LLMError:
    """A provider's exception as Deskpilot's: a timeout (the openai client's and httpx's own timeout types, and the
    socket's) as LLMTimeout, anything else as LLMError naming its type."""
    if isinstance(exc, ConfigError):
        return LLMError(str(exc))
    if isinstance(exc, _TIMEOUTS):
        return LLMTimeout(f"the language model timed out: {exc}")
    return LLMError(f"the language model failed: {type(exc).__name__}: {exc}")


class LLMClient:
    """What services call: chat completion with streaming, JSON output, timeouts and one error type."""

    def __init__(self, model: BaseChatModel, settings: LLMSettings) -> None:
        self.model = model
        self._settings = settings

    @property
    def json_output(self) -> JsonOutput:
        """How this model can be held to JSON: declared by the chat model (local and fake: a grammar from the
        schema), by the settings for a server (`llm.json_output`)."""
        declared = getattr(self.model, "json_output", None)
        return declared if declared in ("grammar", "schema", "object", "none") else self._settings.json_output

    @property
    def name(self) -> str:
        """Provider and model, for logs and reports."""
        return f"{self._settings.provider}:{self._settings.model}"

    def complete(self, system: str, user: str, on_token: Callable[[str], None] | None = None,
                 max_tokens: int | None = None, **kwargs: Any) -> str:
        """The model's reply to one system + user turn; tokens are passed to on_token as they come.

        Raises:
            LLMTimeout: no complete answer within settings.timeout seconds.
            LLMError: the provider failed (unreachable, model missing, server error).
        """
        messages: Sequence[BaseMessage] = [SystemMessage(content=system), HumanMessage(content=user)]
        if max_tokens is not None:
            kwargs["max_tokens"] = max_tokens
        deadline = time.monotonic() + self._settings.timeout
        parts: list[str] = []
        try:
            for chunk in self.model.stream(list(messages), **kwargs):
                text = str(chunk.content)
                parts.append(text)
                if on_token is not None and text:
                    on_token(text)
                if time.monotonic() > deadline:
                    raise LLMTimeout(f"the language model did not finish within {self._settings.timeout:g} s")
        except LLMError:
            raise
        except Exception as exc:
            raise _llm_error(exc) from exc
        return "".join(parts).strip()

    def yes_odds(self, system: str, user: str) -> float:
        """The model's natural log-odds of answering "Yes" rather than "No" to a yes/no question (positive: yes).

        The local model reads them from its next-token scores; a server from the log-probabilities of the first
        reply token (`logprobs`, which OpenAI, vLLM and llama.cpp's server return); a server that returns none
        answers in words, read as +3 (yes), -3 (no) or 0.

        Raises:
            LLMTimeout: no reply within settings.timeout seconds.
            LLMError: the provider failed.
        """
        messages: list[BaseMessage] = [SystemMessage(content=system), HumanMessage(content=user)]
        started = time.monotonic()
        try:
            scorer = getattr(self.model, "yes_odds", None)
            if scorer is not None:
                odds = float(scorer(messages))
            else:
                try:
                    reply = self.model.bind(logprobs=True, top_logprobs=10, max_tokens=1).invoke(messages)
                except openai.APIStatusError as exc:  # a server that refuses logprobs (llama.cpp without logits_all)
                    logger.info("no log-probabilities from the server (%s): the yes/no is read from the reply", exc)
                    reply = self.model.bind(max_tokens=2).invoke(messages)
                first = ((reply.response_metadata.get("logprobs") or {}).get("content") or [{}])[0]
                odds = _odds_of({c["token"]: c["logprob"] for c in first.get("top_logprobs") or []},
                                str(reply.content))
        except LLMError:
            raise
        except Exception as exc:
            raise _llm_error(exc) from exc
        if time.monotonic() - started > self._settings.timeout:
            raise LLMTimeout(f"the language model did not finish within {self._settings.timeout:g} s")
        return odds

    def complete_json(self, system: str, user: str, schema: dict[str, Any], max_tokens: int | None = None) -> dict[str, Any]:
        """A JSON object from the model, constrained by schema where the provider supports it.

        Raises:
            LLMOutputError: the reply is not a JSON object.
        """
        kwargs: dict[str, Any] = {}
        how = self.json_output
        if how == "grammar":  # llama-cpp-python's form
            kwargs["response_format"] = {"type": "json_object", "schema": schema}
        elif how == "schema":
            kwargs["response_format"] = {"type": "json_schema",
                                         "json_schema": {"name": "reply", "schema": schema, "strict": False}}
        elif how == "object":
            kwargs["response_format"] = {"type": "json_object"}
        text = self.complete(system, user, max_tokens=max_tokens, **kwargs)
        match = re.search(r"\{.*\}", text, re.DOTALL)
        try:
            value = json.loads(match.group(0) if match else text)
        except json.JSONDecodeError as exc:
            # Not the output itself: it may repeat a customer's words, and this message reaches logs and clients.
            raise LLMOutputError(f"the language model did not return JSON ({len(text)} characters: {exc.msg} at "
                                 f"position {exc.pos})") from exc
        if not isinstance(value, dict):
            raise LLMOutputError("the language model returned JSON that is not an object")
        return value

    def complete_model(self, system: str, user: str, model: type[ModelT], what: str,
                       max_tokens: int | None = None) -> ModelT:
        """The model's JSON reply, held to the pydantic model's schema (`output_schema`) and parsed into it.

        Args:
            what: what the reply is, for the error message (e.g. "the summary").

        Raises:
            LLMOutputError: the reply is not JSON, or does not match the model's fields.
        """
        value = self.complete_json(system, user, output_schema(model), max_tokens=max_tokens)
        try:
            return model.model_validate(value)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error["loc"])
            raise LLMOutputError(f"{what} did not match the expected fields: {where}: {error['msg']}") from exc


def llm_ready(settings: LLMSettings, model_path: Path | None) -> dict[str, Any]:
    """Whether the LLM can be reached, without generating: the local file exists, or the server answers
    `GET /models` (any status under 500: it is up, even if the key is refused)."""
    if settings.provider == "fake":
        return {"ok": True, "model": "fake"}
    if settings.provider == "local":
        if model_path is not None and model_path.is_file():
            return {"ok": True, "model": settings.model}
        return {"ok": False, "error": f"model file {model_path} missing: run `deskpilot models install`"}
    key = settings.api_key.get_secret_value() if settings.api_key else ""
    try:
        response = httpx.get(f"{(settings.base_url or 'https://api.openai.com/v1').rstrip('/')}/models",
                             headers={"Authorization": f"Bearer {key}"} if key else {}, timeout=3.0)
        return {"ok": response.status_code < 500, "model": settings.model, "status": response.status_code}
    except httpx.HTTPError as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:200]}
