#!/usr/bin/env bash
# Install uv when missing (from PyPI, into a project-local folder; no root) and sync the locked
# environment into .venv. Safe to run again: it only does what is missing.
#
# The container image (Dockerfile) runs this same script with SCROLLINTEL_UV_SYNC_ARGS (extra
# `uv sync` options, e.g. "--no-dev --no-editable"): then it always syncs, and leaves no stamp.
set -euo pipefail
cd "$(dirname "$0")/.."

UV_VERSION="0.13.8"
uv_bin() {
  if command -v uv >/dev/null 2>&1; then command -v uv; return; fi
  if [ -x .tools/uv/bin/uv ]; then echo .tools/uv/bin/uv; return; fi
  echo "uv not found: installing uv ${UV_VERSION} from PyPI into .tools/uv" >&2
  python3 -m venv .tools/uv >&2
  .tools/uv/bin/python -m pip install --quiet --disable-pip-version-check "uv==${UV_VERSION}" >&2
  echo .tools/uv/bin/uv
}
UV="$(uv_bin)"
export UV_PYTHON_DOWNLOADS=never

SYNC_ARGS="${SCROLLINTEL_UV_SYNC_ARGS:-}"
if [ -n "$SYNC_ARGS" ]; then
  echo "syncing the locked environment (uv sync --frozen $SYNC_ARGS) ..." >&2
  # shellcheck disable=SC2086 # the options are words on purpose
  "$UV" sync --frozen $SYNC_ARGS
  exit 0
fi

stamp=.venv/.synced
if [ -f "$stamp" ] && [ "$stamp" -nt uv.lock ] && [ "$stamp" -nt pyproject.toml ]; then
  exit 0
fi
echo "syncing the locked environment into .venv (first time: ~1-2 min) ..." >&2
"$UV" sync --frozen
touch "$stamp"
