# One front door. Every target is one line; the work lives in scripts/ and the scrollintel CLI.
.DEFAULT_GOAL := help
SHELL := /bin/bash
# Optional local settings (see .env.example); exported to every command.
ifneq (,$(wildcard .env))
include .env
export
endif

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-10s %s\n", $$1, $$2}'

setup:  ## install uv if missing and sync the locked environment (.venv)
	@scripts/setup.sh

run: setup  ## start the platform (embedded PostgreSQL, Airflow, demo sources) and wait until healthy
	@.venv/bin/scrollintel platform up

stop:  ## stop exactly what `make run` started
	@.venv/bin/scrollintel platform down

status:  ## show which platform processes are running
	@.venv/bin/scrollintel platform status

test:  ## run the whole test suite (starts a throwaway PostgreSQL)
	@scripts/test.sh

validate: setup  ## check every governance/*.yaml file
	@.venv/bin/scrollintel validate

bench: setup  ## run the benchmarks (bench/bench_*.py) against a throwaway PostgreSQL
	@scripts/bench.sh

lint: setup  ## ruff, mypy, import rules (lint-imports) and sqlfluff (dbt)
	@.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy && .venv/bin/lint-imports --no-cache && (cd dbt && ../.venv/bin/sqlfluff lint .)

tools:  ## sync the separate tools environment (checkov, terraform-compliance)
	@scripts/tools.sh

clean: stop  ## stop the platform and delete its local state (.scrollintel/)
	@rm -rf .scrollintel

.PHONY: help setup run stop status test validate bench lint tools clean
