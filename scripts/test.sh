#!/usr/bin/env bash
# The whole suite: config validation, then unit, DAG, plugin, integration and e2e tests.
# Starts its own throwaway PostgreSQL unless SCROLLINTEL_TEST_DATABASE_URL is set.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/scrollintel validate
exec .venv/bin/pytest "$@"
