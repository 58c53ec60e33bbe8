# Chợ OCOP — `make help` lists the targets.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000

.PHONY: help lock run cluster test test-unit test-integration test-e2e test-fault test-cluster lint bench translations setup dev-setup clean

help: ## Show this help
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(BIN)/python:
	@command -v $(PY) >/dev/null 2>&1 || { echo "Python 3.11 is needed ($(PY) not found); set PY=..."; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt requirements.txt $(VENV)/.installed
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.txt
	touch $@

shop/translations/en/LC_MESSAGES/messages.mo: shop/translations/en/LC_MESSAGES/messages.po $(VENV)/.installed
	$(BIN)/pybabel compile --use-fuzzy -d shop/translations -l en

setup: $(VENV)/.installed shop/translations/en/LC_MESSAGES/messages.mo ## Create .venv and install the production lock (requirements.txt, hashed)

dev-setup: setup $(VENV)/.installed-dev ## Also the demo's embedded Redis and fake Stripe, test and lint tools

run: dev-setup ## Migrate, seed the demo if empty, serve on http://127.0.0.1:$(PORT) with worker and beat
	PORT=$(PORT) $(BIN)/python -m shop.devstack

cluster: dev-setup ## Two web nodes behind nginx, two workers, beat, PostgreSQL, Redis, S3 on http://127.0.0.1:7400
	$(BIN)/python -m shop.cluster

test: dev-setup ## Run the whole suite (unit, integration on SQLite+PostgreSQL, e2e in Chromium, fault and cluster tiers)
	$(BIN)/python -m pytest -n 2 --dist loadfile tests

test-unit: dev-setup ## Unit tests only
	$(BIN)/python -m pytest tests/unit

test-integration: dev-setup ## Integration tests only
	$(BIN)/python -m pytest tests/integration

test-e2e: dev-setup ## End-to-end tests only
	$(BIN)/python -m pytest tests/e2e

test-fault: dev-setup ## Fault tier: Redis, worker, SMTP and PostgreSQL broken under the real processes
	$(BIN)/python -m pytest tests/fault

test-cluster: dev-setup ## The cluster tier: nginx, two nodes, workers killed mid-task (needs nginx)
	$(BIN)/python -m pytest tests/cluster

lint: dev-setup ## Ruff lint and format check, then mypy on shop and worker (pyproject.toml)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check shop worker tests bench config.py wsgi.py gunicorn.conf.py
	$(BIN)/mypy

lock: dev-setup ## Re-pin requirements*.txt (with hashes) from requirements*.in
	$(BIN)/uv pip compile --quiet --generate-hashes --python-version 3.11 --python-platform x86_64-manylinux_2_28 requirements.in -o requirements.txt
	$(BIN)/uv pip compile --quiet --generate-hashes --python-version 3.11 --python-platform x86_64-manylinux_2_28 requirements-dev.in -o requirements-dev.txt

translations: dev-setup ## Extract strings and update the English catalog
	$(BIN)/pybabel extract -F babel.cfg -k _l --no-location --sort-output -o shop/translations/messages.pot .
	$(BIN)/pybabel update -i shop/translations/messages.pot -d shop/translations -l en --no-fuzzy-matching

bench: dev-setup ## Benchmarks (see README): catalog at 10k/100k/1M products, checkout, promotion week, stock sync
	$(BIN)/python bench/catalog.py
	$(BIN)/python bench/checkout.py
	$(BIN)/python bench/promotion_week.py
	$(BIN)/python bench/stock_sync.py

clean: ## Remove the virtualenv and local data
	rm -rf $(VENV) instance
