# Deskpilot: `make run` sets everything up and serves the main job; `make test` sets up and runs the tests.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export DESKPILOT_DATA_DIR ?= data
export ANONYMIZED_TELEMETRY := False
export DO_NOT_TRACK := 1
export RAGAS_DO_NOT_TRACK := true
# The chat widget's public key for the local demo (customer role only). Set your own in production.
export DESKPILOT_API__WIDGET_KEY ?= dp_demo_widget_public_key_local_only
# The demo identity service that the password-reset action (deploy/actions.yaml) calls. Point the action at
# your own service, with your own token, in production.
export DESKPILOT_IDENTITY_TOKEN ?= dp_demo_identity_token_local_only
# llama-cpp-python compiles llama.cpp for this CPU, AMX included where the CPU has it (prompt processing about
# 1.5x faster on Sapphire Rapids). GCC 12 drops the stores that build the AMX tile configuration before
# `ldtilecfg` (dead-store elimination does not see the instruction read them), which ends in SIGILL at the first
# tile instruction; -fno-dse -fno-tree-dse keeps them. Without AMX the flags change nothing that matters.
export CMAKE_ARGS ?= -DGGML_NATIVE=ON -DCMAKE_C_FLAGS='-fno-tree-dse -fno-dse' -DCMAKE_CXX_FLAGS='-fno-tree-dse -fno-dse'

CHROMA_SERVER_TESTS = tests/integration/test_ingest_pipeline.py tests/integration/test_retrieval_audience.py \
	tests/integration/test_assistant_fake_llm.py tests/api tests/security/test_permission_probes.py

.PHONY: install models browser run test lint bench clean

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
	$(BIN)/deskpilot keys demo
	$(BIN)/python -m deskpilot.integrations.identity --port 8765 & identity=$$!; \
	trap 'kill $$identity 2>/dev/null' EXIT INT TERM; \
	$(BIN)/deskpilot serve --host 127.0.0.1 --port 8000

# Browser tests drive Debian's Chromium through Playwright (no browser download).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && apt-get install -y -q chromium; \
	  else sudo apt-get update -q && sudo apt-get install -y -q chromium; fi; }

test: install browser
	$(BIN)/python -m pytest -q
	# The index-facing tests again, with the index on a Chroma server (`chroma run` on loopback).
	$(BIN)/python tests/run_with_chroma_server.py $(CHROMA_SERVER_TESTS)
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
