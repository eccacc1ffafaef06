# The README's commands. Both do the whole set-up on a fresh Debian machine: the Debian packages
# (CJK fonts, HarfBuzz subsetting, Pango, poppler-utils; Chromium for the status-page test)
# when missing, then a virtualenv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEBIAN_PACKAGES := fonts-noto-cjk libharfbuzz-subset0 libpango-1.0-0 libpangoft2-1.0-0 fontconfig poppler-utils chromium
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint format serve system-deps clean

demo: $(STAMP)
	$(BIN)/pingyi demo -o demo-out

# The suite in TEST_WORKERS processes (pytest-xdist), each with its own databases and Redis
# database. Three on two cores: the service tests wait on the processes they start as much as
# they compute (on this machine: 5.6 min in one process, 4.1 with two, 3.1 with three or four).
# Bytecode is cached under the virtualenv, not beside the sources, and even where
# PYTHONDONTWRITEBYTECODE is set: the service tests start a hundred-odd Python processes
# (gunicorn, rq, pingyi), and each would compile pingyi's modules again.
TEST_WORKERS ?= 3
test: $(STAMP)
	env -u PYTHONDONTWRITEBYTECODE PYTHONPYCACHEPREFIX=$(CURDIR)/$(VENV)/pycache \
	  $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist worksteal

bench: $(STAMP)
	@command -v wrk >/dev/null || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); $$SUDO apt-get install -y -qq wrk; }
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/summary.py
	for p in wenjuanxing jinshuju tencent_wj; do $(BIN)/python benchmarks/$${p}_figures.py || exit 1; done

# The whole service on this machine: web, workers and scheduler (Procfile) under honcho,
# against PostgreSQL and Redis. SERVE_DB names the database (created if missing, on the server
# and as the user the URL names) and PORT the web process's port (honcho hands it to gunicorn):
# make serve PORT=8080 SERVE_DB=postgresql+psycopg://postgres@127.0.0.1:5432/pingyi_test
SERVE_DB ?= postgresql+psycopg://postgres@127.0.0.1:5432/pingyi
SERVE_REDIS ?= redis://127.0.0.1:6379/0
PORT ?= 8000

define SERVE_CREATEDB
import sys
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
url = make_url(sys.argv[1])
if url.get_backend_name() == "postgresql":
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        known = "select 1 from pg_database where datname = :name"
        if not conn.scalar(text(known), {"name": url.database}):
            conn.execute(text('create database "%s"' % url.database.replace('"', '""')))
            print("created database", url.database)
endef
export SERVE_CREATEDB

serve: $(STAMP)
	$(BIN)/python -c "$$SERVE_CREATEDB" '$(SERVE_DB)'
	DATABASE_URL='$(SERVE_DB)' $(BIN)/pingyi init
	rm -rf /tmp/pingyi-metrics && mkdir -p /tmp/pingyi-metrics
	PATH=$(CURDIR)/$(BIN):$$PATH DATABASE_URL='$(SERVE_DB)' REDIS_URL='$(SERVE_REDIS)' \
	  PROMETHEUS_MULTIPROC_DIR=/tmp/pingyi-metrics $(BIN)/honcho start -f Procfile -p $(PORT)

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

system-deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(STAMP): pyproject.toml | system-deps
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) demo-out .pytest_cache .ruff_cache .hypothesis
