# The two commands of the README:
#   make demo   install, build the demo store (SQLite) and serve it on http://127.0.0.1:8000
#   make test   install, then run the whole test suite (SQLite and PostgreSQL, browser included)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test install system browser lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Debian packages the product itself needs: Pango (WeasyPrint lays out the PDF reports with it)
# and the Noto CJK fonts the PDFs embed. Installed when missing and run as root; else said.
system:
	@missing=""; \
	fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || missing="$$missing fonts-noto-cjk"; \
	ldconfig -p 2>/dev/null | grep -q "libpangoft2-1.0" || missing="$$missing libpango-1.0-0 libpangoft2-1.0-0"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "missing Debian packages:$$missing (PDF reports need them)"; fi; \
	fi

# The browser test drives Debian's chromium; Playwright never downloads a browser here.
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	  else echo "chromium missing: install Debian's chromium (the browser test will skip)"; fi; \
	fi

# make demo PORT=8001 serves on another port (a busy one is reported before the build).
PORT   ?= 8000

demo: install system
	$(BIN)/storeops demo --port $(PORT)

# Bytecode caching on even where the environment turns it off (PYTHONDONTWRITEBYTECODE): each
# worker would compile every test module again (about 8 s of CPU per worker).
test: install system browser
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest -n 2 -p no:cacheprovider

lint: install
	$(BIN)/ruff check storeops tests bench

bench: install
	$(BIN)/python bench/import_bench.py
	$(BIN)/python bench/cockpit_bench.py
	$(BIN)/python bench/page_bench.py
	$(BIN)/python bench/load_bench.py
	$(BIN)/python bench/overview_cold_bench.py
	$(BIN)/python bench/warehouse_bench.py
	$(BIN)/python bench/startup_bench.py
	$(BIN)/python bench/auth_bench.py

clean:
	rm -rf $(VENV) *.egg-info storeops.db storeops.db-* storeops.db.warehouse
