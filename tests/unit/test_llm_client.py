"""LLMClient translates vendor exceptions into Deskpilot's (a timeout by its type, never by its wording) and holds
replies to JSON schemas derived from pydantic models, as each model declares it can."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import httpx
import numpy as np
import openai
import pytest
from pydantic import BaseModel, Field, StringConstraints

from deskpilot.config import LLMSettings
from deskpilot.errors import LLMError, LLMTimeout
from deskpilot.providers.llm import ExtractiveFakeChat, LLMClient, output_schema
from tests.fakes import fake_llm


class Raising(ExtractiveFakeChat):
    error: Any = None

    def _stream(self, *args: Any, **kwargs: Any) -> Any:
        raise self.error


def client(error: Exception) -> LLMClient:
    return fake_llm(model=Raising(error=error))


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


# -- the JSON boundary: schemas derived from the pydantic models, how each model is held to them --------------

class Recording(ExtractiveFakeChat):
    """The fake model, recording the response_format it was given."""

    formats: list[Any] = Field(default_factory=list)

    def _reply(self, messages: Any, **kwargs: Any) -> str:
        self.formats.append(kwargs.get("response_format"))
        return super()._reply(messages, **kwargs)


class Reply(BaseModel):
    title: Annotated[str, StringConstraints(min_length=1, max_length=600)]
    mood: Literal["calm", "angry"]
    steps: list[str] = Field(min_length=2, max_length=4)
    urgent: bool


def test_the_schema_comes_from_the_pydantic_model_without_length_bounds_or_titles() -> None:
    schema = output_schema(Reply)
    assert schema["required"] == ["title", "mood", "steps", "urgent"]
    assert schema["properties"]["title"] == {"type": "string"}  # a field named "title" stays, a 600-char bound goes
    assert schema["properties"]["mood"]["enum"] == ["calm", "angry"]
    assert schema["properties"]["steps"]["minItems"] == 2
    assert "title" not in schema  # the model's name is no annotation the reply needs


def test_the_fake_model_answers_with_whatever_schema_it_is_given() -> None:
    model = Recording(formats=[])
    reply = fake_llm(model=model).complete_model("system", "summarise this", Reply, "the reply")
    assert reply.mood == "calm" and len(reply.steps) == 2 and reply.urgent is False
    assert model.formats[0]["schema"] == output_schema(Reply)


@pytest.mark.parametrize(("json_output", "expected"), [
    ("schema", "json_schema"), ("object", "json_object"), ("none", None)])
def test_a_server_is_held_to_json_as_its_settings_say(json_output: str, expected: str | None) -> None:
    class ServerLike(Recording):
        json_output: Any = None  # declares nothing: the settings decide

    model = ServerLike(formats=[], scripted=['{"conflict": true, "explanation": "x"}'])
    LLMClient(model, LLMSettings(provider="fake", json_output=json_output)).complete_json("s", "u", {"type": "object"})
    sent = model.formats[0]
    assert (sent or {}).get("type") == expected
    if expected == "json_schema":
        assert sent["json_schema"]["schema"] == {"type": "object"}


def test_yes_no_odds_from_a_servers_first_token_log_probabilities() -> None:
    from deskpilot.providers.llm import _odds_of

    assert _odds_of({"Yes": -0.2, "No": -1.8, "The": -4.0}, "Yes") == pytest.approx(1.6)
    assert _odds_of({"yes": -1.0, " Yes": -1.0, "No": -1.0}, "yes") == pytest.approx(np.log(2))  # spellings add up
    assert _odds_of({"Yes": -0.1, "Sure": -3.0}, "Yes") == pytest.approx(-0.1 - (-3.0 - 1.0))  # "No" under the list
    assert _odds_of({"No": -0.05, "Maybe": -5.0}, "No") < -5
    # a server that sends no log-probabilities: its words
    assert (_odds_of({}, "Yes."), _odds_of({}, " no"), _odds_of({}, "It depends")) == (3.0, -3.0, 0.0)


def test_the_fake_model_scripts_its_yes_no_odds_and_failures_are_llm_errors() -> None:
    fake = fake_llm(model=ExtractiveFakeChat(odds=[-1.5]))
    assert fake.yes_odds("system", "Is it? Reply Yes or No.") == -1.5
    assert fake.yes_odds("system", "Is it?") == 2.0  # nothing scripted left: yes

    class Broken(ExtractiveFakeChat):
        def yes_odds(self, messages: Any) -> float:
            raise RuntimeError("context exceeded")

    with pytest.raises(LLMError, match="context exceeded"):
        fake_llm(model=Broken()).yes_odds("system", "user")
