"""The Q8_0 model that `deskpilot models install` derives from the shipped GGUF: built, checked, reused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from deskpilot.errors import ModelFilesError
from deskpilot.providers import model_files
from deskpilot.providers.model_files import DEFAULT_LOCAL_MODEL, MAX_Q8_0_MEDIAN_KL, _derive_q8_0, local_model

pytestmark = [pytest.mark.integration, pytest.mark.llm]


def test_q8_0_is_derived_checked_against_the_source_and_reused(models_dir: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    model = local_model(DEFAULT_LOCAL_MODEL)
    source = models_dir / model.target
    if not source.is_file():
        pytest.fail(f"local LLM missing in {models_dir}: run `make install`")
    (tmp_path / model.target).parent.mkdir(parents=True)
    (tmp_path / model.target).symlink_to(source)
    derived = tmp_path / model.q8_0_target

    with monkeypatch.context() as strict:  # a check nothing passes: the derived file is refused, nothing left
        strict.setattr(model_files, "MAX_Q8_0_MEDIAN_KL", 0.0)
        with pytest.raises(ModelFilesError, match="drifted"):
            _derive_q8_0(model, tmp_path)
    assert sorted(p.name for p in (tmp_path / "llm").iterdir()) == [source.name]

    line = _derive_q8_0(model, tmp_path)
    assert line.startswith("built") and derived.read_bytes()[:4] == b"GGUF"
    found = re.search(r"median KL ([\d.]+), same next token on (\d+)%", line)
    assert found is not None
    assert float(found.group(1)) <= MAX_Q8_0_MEDIAN_KL and int(found.group(2)) >= 80
    assert derived.with_suffix(".source-sha256").read_text() == model.sha256
    assert not list(tmp_path.glob("llm/*.part"))
    assert _derive_q8_0(model, tmp_path).startswith("ok")  # nothing rebuilt while the source is unchanged
