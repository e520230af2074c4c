# crewgate: `make demo` runs the main job, `make test` runs every test. Both do their own set-up.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export CREWAI_TRACING_ENABLED ?= false
export CREWAI_DISABLE_TELEMETRY ?= true
export LITELLM_LOCAL_MODEL_COST_MAP ?= True

.PHONY: install image lint test bench mutation demo sandbox-demo clean

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
	$(BIN)/lint-imports --no-cache

# The suite starts hundreds of Python processes (crewgate commands, workers, servers): where the environment
# says not to write bytecode (PYTHONDONTWRITEBYTECODE), each would compile the same modules again.
test: image lint
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/pytest

bench: image
	$(BIN)/python benchmarks/cli_startup.py
	$(BIN)/python benchmarks/cold_run.py
	$(BIN)/python benchmarks/executor_latency.py
	$(BIN)/python benchmarks/batch_throughput.py
	$(BIN)/python benchmarks/scale_out.py
	$(BIN)/python benchmarks/web.py
	$(BIN)/python benchmarks/environment_build.py
	$(BIN)/python benchmarks/tool_calls.py
	$(BIN)/python benchmarks/lists.py

# Mutation testing of the modules that decide what a reviewer sees and what crosses the sandbox
# boundary, against their fast tests: a score per module, at least 95% of the non-equivalent mutants.
mutation: $(STAMP)
	rm -rf mutants
	$(BIN)/python tests/mutation.py

# The main job: the shipped add-feature runbook, on a fresh git copy of the sample repository,
# run by its crew on the offline scripted model up to the approval gate (the run exits 10 there).
DEMO_REPO := .demo/calculator
demo: image
	@rm -rf $(DEMO_REPO) && mkdir -p .demo && cp -r examples/calculator $(DEMO_REPO)
	@git -C $(DEMO_REPO) init -q -b main && git -C $(DEMO_REPO) add -A && \
	  git -C $(DEMO_REPO) -c user.name=demo -c user.email=demo@example.invalid commit -qm "calculator: base"
	@$(BIN)/crewgate run runbooks/add-feature.yaml -i repo=$(CURDIR)/$(DEMO_REPO); status=$$?; \
	if [ $$status -ne 10 ]; then echo "the demo run ended with exit code $$status (expected 10: waiting at the gate)"; exit 1; fi; \
	echo; echo "Next (see README, 'The demo'):"; \
	echo "  .venv/bin/crewgate review approve <review id above> --reviewer alice"; \
	echo "  git -C $(DEMO_REPO) log -p main..crewgate/<run id>   # the approved change, on its own branch"

# The sandbox on its own: shared state, a mistake and its fix, a timeout that keeps state, no network (only lo).
sandbox-demo: image
	$(BIN)/crewgate sandbox doctor
	$(BIN)/crewgate sandbox exec --timeout 2 \
	  "import os, subprocess; answer = 41" \
	  "math.sqrt(answer + 1)" \
	  "import math; round(math.sqrt(answer + 1) ** 2)" \
	  "import time; time.sleep(60)" \
	  "answer" \
	  "import os; os.listdir('/sys/class/net'), open('/proc/net/route').read().splitlines()[1:]" || true

clean:
	rm -rf $(VENV) .demo .pytest_cache .mypy_cache .ruff_cache
