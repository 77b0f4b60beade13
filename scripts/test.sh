#!/usr/bin/env bash
# The whole suite: config validation, then unit, DAG, plugin, integration and e2e tests.
# Starts its own throwaway PostgreSQL unless SCROLLINTEL_TEST_DATABASE_URL is set.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/scrollintel validate
# checkov and terraform-compliance for the Terraform policy tests (tests/deploy); without them those
# tests skip saying so.
scripts/tools.sh >/dev/null || echo "WARNING: the policy tools (make tools) could not be installed: the Terraform policy tests will skip" >&2
# Two workers (pytest-xdist): the platform tests on one, the other modules on the other; see
# pytest_xdist_make_scheduler in tests/conftest.py. SCROLLINTEL_TEST_WORKERS=0 runs in one process.
workers="${SCROLLINTEL_TEST_WORKERS:-2}"
if [ "$workers" = 0 ]; then
  exec .venv/bin/pytest "$@"
fi
exec .venv/bin/pytest -n "$workers" --no-loadscope-reorder "$@"
