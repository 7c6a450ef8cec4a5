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

# `make test` prints how long each stage took at the end (and where it stopped, if one failed).
TIMES := .test-times
timed = t0=$$(date +%s); echo "== $(1)"; $(2); rc=$$?; \
	printf '%-22s %5ss  %s\n' "$(1)" "$$(( $$(date +%s) - t0 ))" "$$( [ $$rc = 0 ] && echo ok || echo FAILED )" >> $(TIMES); \
	if [ $$rc != 0 ]; then echo "== stage times"; cat $(TIMES); exit $$rc; fi
# The fast loop: unit tests with the deterministic test embedder and scripted model; no browser, no servers,
# no model files needed.
FAST = -m "not integration and not llm and not browser and not postgres and not chroma_server"

.PHONY: install models browser services run test test-fast lint bench eval-data clean

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

# PostgreSQL's server binaries for the Postgres tests (Debian's package; the tests start a throw-away cluster).
services:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && apt-get install -y -q postgresql; \
	  else sudo apt-get update -q && sudo apt-get install -y -q postgresql; fi; }

# Everything: unit, integration (real Chroma, real ONNX embeddings, the real local model), API, browser and
# Postgres tests; then the index-facing tests against a Chroma server; then the release gate. Missing
# prerequisites fail the run instead of skipping (DESKPILOT_TEST_REQUIRE).
test:
	@rm -f $(TIMES)
	@$(call timed,install,$(MAKE) --no-print-directory install browser services)
	@$(call timed,pytest,DESKPILOT_TEST_REQUIRE=postgres $(BIN)/python -m pytest -q)
	@# The index-facing tests again, with the index on a Chroma server (`chroma run` on loopback).
	@$(call timed,pytest on chroma server,$(BIN)/python tests/run_with_chroma_server.py $(CHROMA_SERVER_TESTS))
	@# Release gate: the smoke suite through the real local model on a temporary index of kb/.
	@$(call timed,release gate,$(BIN)/deskpilot eval gate eval/suites/smoke.jsonl --kb kb --judge none)
	@echo "== stage times"; cat $(TIMES)

# While working: about half a minute, nothing but .venv needed.
test-fast: $(VENV)/.installed
	$(BIN)/python -m pytest -q -p no:cacheprovider $(FAST) $(ARGS)

# The public LibreOffice help (Debian's libreoffice-help-en-us and -fr, MPL-2.0) as a knowledge base for
# eval/suites/libreoffice.jsonl: English in eval/corpora/libreoffice/kb, French in its fr/ folder (not committed).
LO_KB := eval/corpora/libreoffice/kb
eval-data: $(VENV)/.installed
	@[ -d /usr/share/libreoffice/help/en-US ] && [ -d /usr/share/libreoffice/help/fr ] || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && apt-get install -y -q --no-install-recommends libreoffice-help-en-us libreoffice-help-fr; \
	  else sudo apt-get update -q && sudo apt-get install -y -q --no-install-recommends libreoffice-help-en-us libreoffice-help-fr; fi; }
	$(BIN)/python -m deskpilot.evaluation.corpora --lang en --out $(LO_KB)
	$(BIN)/python -m deskpilot.evaluation.corpora --lang fr --out $(LO_KB)/fr

lint: $(VENV)/.installed
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/unit/test_layers.py  # imports point down (docs/architecture.md)

bench: install
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/eval.py

clean:
	rm -rf $(VENV) data .pytest_cache .ruff_cache .mypy_cache $(TIMES)
