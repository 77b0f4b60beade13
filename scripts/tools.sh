#!/usr/bin/env bash
# The separate tools environment (terraform/tools/.venv): checkov and terraform-compliance pin
# versions that conflict with Airflow 3.3, so they never share the platform's .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
UV="$(command -v uv || echo .tools/uv/bin/uv)"
UV_PYTHON_DOWNLOADS=never "$UV" sync --frozen --project terraform/tools
terraform/tools/.venv/bin/checkov --version
terraform/tools/.venv/bin/terraform-compliance --version | tail -n 1
