# Developer and CI entry points. Python is whatever `python3` is (CI: the machine's own,
# as root); override with `make PYTHON=/path/to/python ...`.

PYTHON ?= python3
PORT ?= 8000

STAMPS := build/.stamps
# One pip stamp per interpreter, so switching Python reinstalls.
PY_ID := $(shell $(PYTHON) -c "import hashlib, sys; print(hashlib.sha1(sys.prefix.encode()).hexdigest()[:12])" 2>/dev/null)
NPM_STAMP := node_modules/.stamp
PIP_STAMP := $(STAMPS)/pip-$(PY_ID)

.DEFAULT_GOAL := help
.PHONY: help install vendor dist serve test test-unit test-browser lint bench clean

help:
	@echo "make install  npm ci + pip install -e '.[dev]' (skipped when up to date)"
	@echo "make vendor   install, then build static/vendor/ (tools/vendor.py; no-op when up to date)"
	@echo "make dist     build dist/webllm_machine-<version>-py3-none-any.whl (the library alone)"
	@echo "make serve    vendor, then serve the site on http://127.0.0.1:$(PORT)/"
	@echo "              (and the example page at /examples/minimal/)"
	@echo "make test     vendor, then the whole pytest suite (unit + browser)"
	@echo "make lint     ruff + mypy"
	@echo "make bench    vendor, then bench/run.py: every benchmark vs its baseline, one table"
	@echo "              (REAL_MODEL=<model id>: also the real engine; BENCH_ARGS=...)"

install: $(NPM_STAMP) $(PIP_STAMP)

# npm ci wipes node_modules (and the stamp) first, so the stamp means "ci finished".
$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

# hatchling is the build backend: installing it lets tools/vendor.py build our wheel
# without build isolation (fast, no PyPI round trip).
$(PIP_STAMP): pyproject.toml
	$(PYTHON) -m pip install --disable-pip-version-check 'hatchling>=1.27' -e '.[dev]'
	@mkdir -p $(STAMPS)
	@touch $@

vendor: install
	$(PYTHON) tools/vendor.py
	$(PYTHON) tools/precache.py

# The library's wheel, for anyone's own page (examples/minimal/ installs the vendored copy).
dist: install
	$(PYTHON) tools/dist.py

serve: vendor
	@echo "Serving http://127.0.0.1:$(PORT)/ and the example http://127.0.0.1:$(PORT)/examples/minimal/ (Ctrl-C stops)"
	$(PYTHON) -m http.server $(PORT) --bind 127.0.0.1 --directory .

test: vendor
	$(PYTHON) -m pytest

test-unit: install
	$(PYTHON) -m pytest tests/unit

test-browser: vendor
	$(PYTHON) -m pytest tests/browser

lint: install
	$(PYTHON) -m ruff check py tests tools bench examples
	$(PYTHON) -m ruff format --check py tests tools bench examples
	$(PYTHON) -m mypy

# REAL_MODEL=<web-llm model id>: also the real engine (needs WebGPU and the model);
# BENCH_ARGS: more options of bench/run.py (e.g. --write-doc, --quick).
bench: vendor
	$(PYTHON) bench/run.py $(if $(REAL_MODEL),--real-model $(REAL_MODEL)) $(BENCH_ARGS)

clean:
	rm -rf static/vendor build dist $(NPM_STAMP)
