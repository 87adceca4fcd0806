# Two entry points from a fresh clone: `make demo` and `make test`. Both build .venv first.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8888

.PHONY: demo test lint lint-labextension test-labextension bench bench-browser chromium hub-proxy soak clean

# The JupyterLab extension's sources: the editable install rebuilds it when they change
# (hatch-jupyter-builder, see pyproject.toml); jlpm comes with jupyterlab in the venv.
LABEXT := labextension
LABEXT_SRC := $(wildcard $(LABEXT)/src/*.ts $(LABEXT)/style/*) $(LABEXT)/package.json $(LABEXT)/yarn.lock
JLPM := cd $(LABEXT) && PATH="$(abspath $(VENV))/bin:$$PATH" jlpm

# The demo pins altair<6 (JupyterLab 4.6 renders Vega-Lite v5 only); the tests also run kernels
# with altair 6 from a side directory (tests/kernel/test_altair.py, docs/outputs.md).
$(STAMP): pyproject.toml $(LABEXT_SRC)
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q -e '.[test]'
	$(PY) -m pip install -q --no-deps --upgrade --target $(VENV)/altair6 'altair>=6'
	touch $(STAMP)

# Debian's Chromium drives the browser tests (Playwright cannot download its own browser here).
chromium:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	else echo "chromium missing and not root: browser tests will be skipped (apt-get install chromium)"; fi

# JupyterHub's proxy for the hub tests (tests/hub), from npm into build/ (no global install).
PROXY := build/node_modules/.bin/configurable-http-proxy
$(PROXY):
	@if command -v npm >/dev/null; then \
		npm install --prefix build --no-audit --no-fund --loglevel=error configurable-http-proxy@5; \
	else echo "npm missing: the JupyterHub tests will be skipped (apt-get install npm)"; fi

hub-proxy: $(PROXY)

lint: $(STAMP) lint-labextension
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

$(LABEXT)/node_modules/.yarn-state.yml: $(STAMP) $(LABEXT)/package.json $(LABEXT)/yarn.lock
	$(JLPM) install --immutable
	touch $@

# eslint + prettier, as JupyterLab's extension template configures them.
lint-labextension: $(LABEXT)/node_modules/.yarn-state.yml
	$(JLPM) lint:check

# The extension's pure logic (URLs, sizes, strategies) under node's test runner.
test-labextension: $(LABEXT)/node_modules/.yarn-state.yml
	$(JLPM) test

test: $(STAMP) chromium hub-proxy lint test-labextension
	$(PY) -m pytest -p no:cacheprovider $(PYTEST_ARGS)

# ~10 minutes of mixed load on a real server (tests/soak); VFS_EXT_SOAK_SECONDS=60 for a short run.
soak: $(STAMP)
	$(PY) -m pytest -p no:cacheprovider -m slow -s tests/soak

demo: $(STAMP)
	$(PY) examples/run_demo.py --port $(PORT) $(DEMO_ARGS)

bench: $(STAMP)
	$(PY) -m bench

# Real Chromium: inline vs by URL through the JupyterLab extension (docs/frontend.md).
bench-browser: $(STAMP) chromium
	$(PY) -m bench.browser

clean:
	rm -rf $(VENV) test-artifacts .pytest_cache build vfs_ext/labextension \
		$(LABEXT)/node_modules $(LABEXT)/lib $(LABEXT)/test-build $(LABEXT)/tsconfig.tsbuildinfo
