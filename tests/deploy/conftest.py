"""Shared set-up of the deployment tests: where the repository, Terraform and the policy tools are."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = REPO / "terraform"
HELM_DIR = REPO / "helm"
TOOLS_BIN = TERRAFORM_DIR / "tools" / ".venv" / "bin"

ENV_PROVIDER_MIRROR = "SCROLLINTEL_TF_PROVIDER_MIRROR"
# Where machine images keep an unpacked filesystem mirror of the hashicorp/aws provider.
MIRROR_CANDIDATES = (
    Path("/opt/tf-plugins"),
    Path("/usr/local/share/terraform/plugins"),
    Path("/usr/share/terraform/plugins"),
    Path.home() / ".terraform.d" / "plugins",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def terraform_binary() -> str | None:
    return shutil.which("terraform")


def provider_mirror() -> Path | None:
    """An unpacked filesystem mirror holding hashicorp/aws, or None."""
    given = os.environ.get(ENV_PROVIDER_MIRROR)
    candidates = (Path(given),) if given else MIRROR_CANDIDATES
    for root in candidates:
        if (root / "registry.terraform.io" / "hashicorp" / "aws").is_dir():
            return root
    return None


def tool(name: str) -> Path | None:
    path = TOOLS_BIN / name
    return path if path.exists() else None


# The test that waits for the background `terraform apply` runs last in the session: the AWS
# provider spends ~1 min waiting for S3 lifecycle rules and KMS keys to settle, which then
# overlaps every other test instead of adding to the suite's wall time.
RUN_LAST = "test_apply_creates_the_buckets_and_the_anchor_path_writes_to_them"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    last = [item for item in items if item.name == RUN_LAST]
    if last:
        items[:] = [item for item in items if item.name != RUN_LAST] + last
