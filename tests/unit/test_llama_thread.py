"""The in-process llama.cpp provider runs every generation on its own thread (see `_ModelThread`).

These tests put a scripted llama object in place of the loaded GGUF model, so they check the threading and
streaming code of `LlamaCppChat` itself; the real model is exercised in tests/integration.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from langchain_core.messages import HumanMessage

from deskpilot.config import LLMSettings
from deskpilot.errors import LLMError
from deskpilot.providers.llm import SEED, LlamaCppChat, LLMClient


class ScriptedLlama:
    """Streams the words of `reply` as chat-completion chunks and records the thread of each call."""

    def __init__(self, reply: str = "one two three four", fail_after: int | None = None, delay: float = 0.0) -> None:
        self.reply = reply
        self.fail_after = fail_after
        self.delay = delay
        self.threads: list[str] = []
        self.produced = 0
        self.active = 0
        self.max_active = 0
        self.resets = 0

    def reset(self) -> None:
        """llama-cpp-python's: forget the context (each generation reads its prompt whole)."""
        self.resets += 1

    def create_chat_completion(self, stream: bool, **params: Any) -> Iterator[dict[str, Any]]:
        assert stream and params["seed"] == SEED  # the same seed for every call
        assert self.resets == len(self.threads) + 1  # the context forgotten before each generation
        self.threads.append(threading.current_thread().name)
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            yield {"choices": [{"delta": {"role": "assistant"}}]}
            for i, word in enumerate(self.reply.split()):
                if self.fail_after is not None and i == self.fail_after:
                    raise RuntimeError("llama_decode returned -1")
                time.sleep(self.delay)
                self.produced += 1
                yield {"choices": [{"delta": {"content": word + " "}}]}
        finally:
            self.active -= 1


def chat_with(llama: ScriptedLlama) -> LlamaCppChat:
    chat = LlamaCppChat(model_path="/nonexistent/model.gguf")
    chat._llama = llama
    return chat


def test_generations_run_on_the_model_thread_and_stream_to_the_caller() -> None:
    llama = ScriptedLlama()
    chat = chat_with(llama)
    seen: list[str] = []
    text = LLMClient(chat, LLMSettings(provider="local")).complete("system", "user", on_token=seen.append)
    assert text == "one two three four"
    assert seen == ["one ", "two ", "three ", "four "]
    assert llama.threads == ["deskpilot-llama"]
    assert threading.current_thread().name != "deskpilot-llama"


def test_concurrent_callers_share_one_thread_and_one_generation_at_a_time() -> None:
    llama = ScriptedLlama(delay=0.005)
    chat = chat_with(llama)
    client = LLMClient(chat, LLMSettings(provider="local"))
    with ThreadPoolExecutor(4) as pool:
        texts = list(pool.map(lambda i: client.complete("system", f"user {i}"), range(8)))
    assert texts == ["one two three four"] * 8
    assert set(llama.threads) == {"deskpilot-llama"} and len(llama.threads) == 8
    assert llama.max_active == 1


def test_a_failing_generation_raises_in_the_caller_and_the_thread_survives() -> None:
    llama = ScriptedLlama(fail_after=2)
    chat = chat_with(llama)
    client = LLMClient(chat, LLMSettings(provider="local"))
    with pytest.raises(LLMError, match="llama_decode returned -1"):
        client.complete("system", "user")
    llama.fail_after = None
    assert client.complete("system", "user") == "one two three four"


def test_a_caller_that_stops_reading_stops_the_generation() -> None:
    llama = ScriptedLlama(reply=" ".join(f"w{i}" for i in range(200)), delay=0.002)
    chat = chat_with(llama)
    stream = chat.stream([HumanMessage(content="hi")])
    first = next(stream)
    assert first.content == "w0 "
    stream.close()  # type: ignore[attr-defined]  # a generator
    deadline = time.monotonic() + 5
    while llama.active and time.monotonic() < deadline:
        time.sleep(0.01)
    assert llama.active == 0
    assert llama.produced < 200
    assert "".join(str(c.content) for c in chat.stream([HumanMessage(content="again")])).startswith("w0 w1 ")


def test_a_missing_model_file_is_a_clear_error() -> None:
    chat = LlamaCppChat(model_path="/nonexistent/model.gguf")
    with pytest.raises(LLMError, match="deskpilot models install"):
        LLMClient(chat, LLMSettings(provider="local")).complete("system", "user")
