#!/usr/bin/env bash
# Every benchmark in bench/ (bench_*.py): each prints its figures and the ratio against a baseline
# measured in the same run. Starts a throwaway embedded PostgreSQL unless
# SCROLLINTEL_TEST_DATABASE_URL (a superuser URL) is set. Extra arguments go to every benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python

if [ -z "${SCROLLINTEL_TEST_DATABASE_URL:-}" ]; then
  state="$(mktemp -d -t scrollintel-bench-XXXXXX)"
  cleanup() { "$PY" bench/_pg.py stop "$state" || true; rm -rf "$state"; }
  trap cleanup EXIT
  SCROLLINTEL_TEST_DATABASE_URL="$("$PY" bench/_pg.py start "$state")"
  export SCROLLINTEL_TEST_DATABASE_URL
fi

status=0
for bench in bench/bench_*.py; do
  echo "== ${bench}"
  "$PY" "$bench" "$@" || status=1
done
exit "$status"
