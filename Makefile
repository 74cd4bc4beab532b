# The README's two commands: `make demo` renders out/demo.mp4, `make test` runs every check.
# Both create .venv (Python 3.11+) and install the package on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test check lint format lab bench clean system-deps

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "NeuroShorts needs Python 3.11 or newer (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	# uv resolves and installs the same packages as pip, in seconds rather than minutes.
	$(BIN)/python -m pip install --quiet uv
	# Compiled here once: with PYTHONDONTWRITEBYTECODE set (as on our machines) every process
	# the tests start (CLI, kernels, API, workers) would otherwise compile its imports again.
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -e '.[test]'
	# uv compiles site-packages; the package itself, installed editable, is compiled here
	# (~0.07 s of every kernel's start, and some of the command's before it launches one).
	$(BIN)/python -m compileall -q neuroshorts
	touch $@

demo: $(STAMP)
	$(BIN)/neuroshorts render explainer -f examples/demo.json -o out/demo.mp4

# Two cores run the suite in two processes (files kept whole, for their module fixtures, in
# the order tests/conftest.py gives: the slow drills first); the tests that time a real
# browser then run alone, with the coverage of both parts.
test: lint system-deps
	$(BIN)/pytest -n 2 --dist loadfile --no-loadscope-reorder -m "not quiet" --cov=neuroshorts \
		--cov-report= --cov-fail-under=0 --durations=20
	$(BIN)/pytest -m quiet --cov=neuroshorts --cov-append \
		--cov-report=term-missing:skip-covered --durations=10

# System packages the tests need: espeak-ng (the light offline voice for Spanish and other
# languages), Chromium (the studio is tested in a real JupyterLab in a headless browser),
# Node.js (runs the studio's browser modules under its own test runner),
# docker-compose (validates the compose files with `config`, no engine needed) and
# ShellCheck (lints the image's shell scripts).
system-deps:
	@missing=""; \
	ldconfig -p | grep -q libespeak-ng.so.1 || missing="$$missing espeak-ng"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	command -v node >/dev/null || missing="$$missing nodejs"; \
	[ -x /usr/bin/docker-compose ] || missing="$$missing docker-compose"; \
	[ -x /usr/bin/shellcheck ] || missing="$$missing shellcheck"; \
	if [ -n "$$missing" ]; then \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq $$missing; \
	fi

# Lint and the fast tests (no render, live service, browser or slow drill), in about a minute:
# for every change. `make test` stays the whole suite, as CI runs it.
check: lint system-deps
	$(BIN)/pytest -n 2 --dist loadfile -q -m "not (render or services or browser or slow or quiet)"

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

lab: $(STAMP)
	$(BIN)/jupyter lab templates/

bench: $(STAMP)
	$(BIN)/python bench/render.py

clean:
	rm -rf $(VENV) out build *.egg-info
