"""LLMClient translates vendor exceptions into Deskpilot's: a timeout by its type, never by its wording."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest

from deskpilot.config import LLMSettings
from deskpilot.errors import LLMError, LLMTimeout
from deskpilot.providers.llm import ExtractiveFakeChat, LLMClient


class Raising(ExtractiveFakeChat):
    error: Any = None

    def _stream(self, *args: Any, **kwargs: Any) -> Any:
        raise self.error


def client(error: Exception) -> LLMClient:
    return LLMClient(Raising(error=error), LLMSettings(provider="fake"))


@pytest.mark.parametrize("error", [
    openai.APITimeoutError(request=httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")),
    httpx.ReadTimeout("read timed out"), TimeoutError()])
def test_a_timeout_is_an_llm_timeout(error: Exception) -> None:
    with pytest.raises(LLMTimeout):
        client(error).complete("system", "user")


def test_an_error_that_merely_mentions_a_timeout_is_not_one() -> None:
    with pytest.raises(LLMError) as raised:
        client(ValueError("the prompt asks about session timeouts")).complete("system", "user")
    assert not isinstance(raised.value, LLMTimeout)
