# crewgate: `make demo` runs the main job, `make test` runs every test. Both do their own set-up.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export CREWAI_TRACING_ENABLED ?= false
export CREWAI_DISABLE_TELEMETRY ?= true
export OTEL_SDK_DISABLED ?= true
export LITELLM_LOCAL_MODEL_COST_MAP ?= True

.PHONY: install image lint test bench demo clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

# Builds the sandbox image when it is missing. Without a Docker engine it says so and
# goes on (Docker tests then skip, or fail under CREWGATE_REQUIRE_DOCKER=1).
image: $(STAMP)
	@if $(BIN)/python -c "import docker; docker.from_env(timeout=5).ping()" >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && ! command -v debootstrap >/dev/null && command -v apt-get >/dev/null; then \
	    echo "installing debootstrap to build the sandbox image without a registry"; \
	    (apt-get install -y -q debootstrap >/dev/null 2>&1 || (apt-get update -q >/dev/null && apt-get install -y -q debootstrap >/dev/null)); \
	  fi; \
	  $(BIN)/crewgate sandbox build --if-missing; \
	else \
	  echo "no Docker engine reachable: skipping the sandbox image (see README: Docker engine)"; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check agents crews executors workflows tests benchmarks
	$(BIN)/mypy

test: image lint
	$(BIN)/pytest

bench: image
	$(BIN)/python benchmarks/executor_latency.py

# Until the runbook engine lands, the demo is a live session in the hardened sandbox:
# shared state, a mistake and its fix, a timeout that keeps state, and a contained escape attempt.
demo: image
	$(BIN)/crewgate sandbox doctor
	$(BIN)/crewgate sandbox exec --timeout 2 \
	  "import os, subprocess; answer = 41" \
	  "math.sqrt(answer + 1)" \
	  "import math; round(math.sqrt(answer + 1) ** 2)" \
	  "subprocess.run(['python3', '-m', 'pytest', '--version']).returncode" \
	  "import time; time.sleep(60)" \
	  "answer" \
	  "import socket; socket.create_connection(('1.1.1.1', 53), timeout=2)" \
	  "(os.getuid(), open('/proc/self/status').read().split('CapEff:')[1].split()[0])" || true
	@echo "demo done: the NameError, the timeout and the refused connection above are the sandbox working."

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
