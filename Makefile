# `make demo` and `make test` do all set-up on a fresh machine that has Python >= 3.11 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/zhibu demo
	@echo ""
	@echo "现在以 demo-dangyuan（张伟，党员）的身份对话；换账号：$(BIN)/zhibu chat --as demo-shuji"
	$(BIN)/zhibu chat --as demo-dangyuan

# the whole suite on SQLite, then every database test again on a throwaway PostgreSQL cluster
test: $(STAMP)
	$(BIN)/python -m pytest -q
	PYTEST_DB=postgres $(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m benchmarks

lint: $(STAMP)
	$(BIN)/ruff check bot handlers reminders storage tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache zhibu.db zhibu.db-wal zhibu.db-shm zhibu.db-writer.lock
