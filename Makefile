# The two commands of the README: `make run` serves, `make test` runs the whole suite.
# Each one builds the .venv it needs from a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

LEGACY := .venv-legacy
SK := .venv-sk

.PHONY: run test test-shared bench clean docker-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install whenever pyproject.toml changes.
$(VENV)/.stamp-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.stamp-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.stamp-run

run: $(VENV)/.stamp-run
	$(BIN)/aoai-mock serve --host $(HOST) --port $(PORT)

# The legacy openai 0.28 SDK, in its own environment: the suite runs the 0.28 quickstart with it.
$(LEGACY)/.stamp:
	$(PYTHON) -m venv $(LEGACY)
	$(LEGACY)/bin/python -m pip install --quiet "openai==0.28.1"
	touch $@

# Semantic Kernel in its own environment (it pins pydantic and websockets below this project's): the suite runs
# its AzureChatCompletion against --tls (tests/test_tls_clients.py, docs/https.md).
$(SK)/.stamp:
	$(PYTHON) -m venv $(SK)
	$(SK)/bin/python -m pip install --quiet "semantic-kernel==1.45.0"
	touch $@

# The JavaScript examples' packages as package-lock.json pins them (docs/javascript.md): the suite runs the
# examples with them. Re-installed when the lock changes; without npm the examples' tests skip.
JS := examples/javascript
$(JS)/node_modules/.stamp: $(JS)/package-lock.json
	@if command -v npm >/dev/null; then \
		cd $(JS) && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.stamp; \
	else echo "npm not found: tests/test_javascript_examples.py will skip (docs/javascript.md)"; fi

test: $(VENV)/.stamp-test $(LEGACY)/.stamp $(SK)/.stamp $(JS)/node_modules/.stamp
	sh tests/ui/chromium.sh
	sh tests/redis.sh
	$(BIN)/python -m pytest --ignore=tests/shared $(PYTEST_ARGS)

# Several aoai-mock processes on one Redis (tests/shared, docs/shared-state.md): slow process-level tests (about
# four minutes), run on their own to keep `make test` under ten; .ci/run runs both.
test-shared: $(VENV)/.stamp-test
	sh tests/redis.sh
	$(BIN)/python -m pytest tests/shared $(PYTEST_ARGS)

# The Dockerfile and examples/compose/ for real: build, healthy, the openai SDK, non-root, stop, compose.
# Starts its own dockerd when none answers; see docs/docker.md.
docker-test: $(VENV)/.stamp-test
	docker/test.sh

bench: $(VENV)/.stamp-test
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(LEGACY) $(SK) build *.egg-info server/*.egg-info $(JS)/node_modules
