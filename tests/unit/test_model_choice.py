"""Which local GGUF file loads: the derived Q8_0 where llama.cpp has AMX kernels, the shipped Q4_K_M elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from deskpilot.config import LLMSettings
from deskpilot.providers import model_files
from deskpilot.providers.model_files import DEFAULT_LOCAL_MODEL, local_model, local_model_file, missing_files


@pytest.mark.parametrize(("quantization", "amx", "expected"), [
    ("auto", True, "-q8_0.gguf"), ("auto", False, "-q4_k_m.gguf"),
    ("q8_0", False, "-q8_0.gguf"), ("shipped", True, "-q4_k_m.gguf"),
])
def test_the_setting_and_the_cpu_choose_the_file(monkeypatch: pytest.MonkeyPatch, quantization: str, amx: bool,
                                                  expected: str) -> None:
    monkeypatch.setattr(model_files, "llama_has_amx", lambda: amx)
    path = local_model_file(Path("/models"), DEFAULT_LOCAL_MODEL, quantization)
    assert path.parent == Path("/models/llm") and path.name.endswith(expected)


def test_every_local_model_has_a_distinct_q8_0_file() -> None:
    for name in model_files.LOCAL_MODELS:
        model = local_model(name)
        assert model.q8_0_target != model.target and model.q8_0_target.startswith("llm/")
    assert LLMSettings().quantization == "auto"


def test_a_stale_derived_file_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(model_files, "PACKAGES", ())
    monkeypatch.setattr(model_files, "sha256_of", lambda path: local_model(DEFAULT_LOCAL_MODEL).sha256)
    model = local_model(DEFAULT_LOCAL_MODEL)
    (tmp_path / model.target).parent.mkdir(parents=True)
    (tmp_path / model.target).write_bytes(b"gguf")
    assert missing_files(tmp_path, DEFAULT_LOCAL_MODEL, "shipped") == []
    problems = missing_files(tmp_path, DEFAULT_LOCAL_MODEL, "q8_0")
    assert len(problems) == 1 and model.q8_0_target in problems[0]
    derived = tmp_path / model.q8_0_target
    derived.write_bytes(b"gguf")
    derived.with_suffix(".source-sha256").write_text("0" * 64)  # built from another file
    assert missing_files(tmp_path, DEFAULT_LOCAL_MODEL, "q8_0") == problems
    derived.with_suffix(".source-sha256").write_text(model.sha256)
    assert missing_files(tmp_path, DEFAULT_LOCAL_MODEL, "q8_0") == []


@pytest.mark.parametrize("amx", [True, False])
def test_the_model_file_is_read_into_memory_where_amx_copies_every_weight(monkeypatch: pytest.MonkeyPatch,
                                                                         amx: bool) -> None:
    from deskpilot.providers import llm

    monkeypatch.setattr(llm, "llama_has_amx", lambda: amx)
    model = llm.build_chat_model(LLMSettings(), Path("/models/llm/x.gguf"))
    assert isinstance(model, llm.LlamaCppChat) and model.use_mmap is not amx
