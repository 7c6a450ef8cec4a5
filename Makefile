# Deskpilot: `make run` sets everything up and serves the main job; `make test` sets up and runs the tests.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export DESKPILOT_DATA_DIR ?= data
export ANONYMIZED_TELEMETRY := False
export DO_NOT_TRACK := 1
export RAGAS_DO_NOT_TRACK := true
# llama-cpp-python compiles llama.cpp for this CPU. AMX is switched off: virtual machines often advertise
# AMX without enabling it, and its instructions then crash (SIGILL).
export CMAKE_ARGS ?= -DGGML_NATIVE=ON -DCMAKE_C_FLAGS='-mno-amx-tile -mno-amx-int8 -mno-amx-bf16' -DCMAKE_CXX_FLAGS='-mno-amx-tile -mno-amx-int8 -mno-amx-bf16'

.PHONY: install models run test lint bench clean

install: $(VENV)/.installed models

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[dev]"
	touch $@

models: $(VENV)/.installed
	$(BIN)/deskpilot models install

run: install
	$(BIN)/deskpilot ingest
	$(BIN)/deskpilot search "How long is a password reset link valid?"
	$(BIN)/deskpilot ask "How long is a password reset link valid?"

test: install
	$(BIN)/python -m pytest -q
	# Release gate: the smoke suite through the real local model on a temporary index of kb/.
	$(BIN)/deskpilot eval gate eval/suites/smoke.jsonl --kb kb --judge none

lint: $(VENV)/.installed
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src

bench: install
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/eval.py

clean:
	rm -rf $(VENV) data .pytest_cache .ruff_cache .mypy_cache
