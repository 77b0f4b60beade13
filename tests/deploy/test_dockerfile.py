"""The Dockerfile, parsed (dockerfile-parse) and held to the image rules; Docker cannot build here.

Its install step is scripts/setup.sh, the script `make setup` runs, with extra `uv sync`
options: the last test runs that exact path (as a dry run against a fresh environment).
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.conftest import REPO

pytestmark = pytest.mark.unit

COPIED = ("include/", "dags/", "plugins/", "dbt/", "expectations/", "governance/")
# installs that do not go through the lock file
UNPINNED = re.compile(
    r"\b(pip3?|python3? -m pip) install\b|\buv (pip|add|tool)\b|\bapt(-get)? install\b"
    r"|\bconda install\b|curl[^|]*\|\s*(ba)?sh"
)


def parse(text: str) -> list[dict[str, Any]]:
    from dockerfile_parse import DockerfileParser

    # from a file object: given a path (the default is the working directory) the parser
    # reads and writes a Dockerfile there
    parser = DockerfileParser(fileobj=io.BytesIO(text.encode()))
    instructions: list[dict[str, Any]] = parser.structure
    return instructions


def airflow_pin() -> str:
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    return str(next(d for d in deps if d.startswith("apache-airflow==")).split("==")[1])


def lock_version(package: str) -> str:
    lock = (REPO / "uv.lock").read_text()
    match = re.search(rf'\[\[package\]\]\nname = "{re.escape(package)}"\nversion = "([^"]+)"', lock)
    assert match, f"{package} is not in uv.lock"
    return match.group(1)


def violations(text: str) -> list[str]:
    """Every rule of the image the Dockerfile breaks (empty: it keeps them all)."""
    problems = []
    instructions = parse(text)
    froms = [i["value"] for i in instructions if i["instruction"] == "FROM"]
    for image in froms:
        name = image.split()[0]
        if not re.fullmatch(
            rf"apache/airflow:{re.escape(airflow_pin())}-python3\.1[12](@sha256:[0-9a-f]{{64}})?", name
        ):
            problems.append(f"FROM {name}: not the official image of the pinned Airflow {airflow_pin()}")
    runs = [i["value"] for i in instructions if i["instruction"] == "RUN"]
    problems += [f"RUN {run}: installs outside uv.lock" for run in runs if UNPINNED.search(run)]
    if not any("scripts/setup.sh" in run for run in runs):
        problems.append("no RUN installs through scripts/setup.sh")
    users = [i["value"].strip() for i in instructions if i["instruction"] == "USER"]
    if not users or users[-1] in {"root", "0", "0:0"}:
        problems.append("the image runs as root")
    copies = " ".join(i["value"] for i in instructions if i["instruction"] == "COPY")
    problems += [f"{folder} is not copied" for folder in COPIED if not re.search(rf"(^|\s){folder}\s", copies)]
    if not any("scrollintel transform manifest" in run for run in runs):
        problems.append("the dbt manifest is not built at build time")
    return problems


def test_the_dockerfile_keeps_every_rule() -> None:
    assert violations((REPO / "Dockerfile").read_text()) == []


def test_the_base_image_is_the_locked_airflow() -> None:
    text = (REPO / "Dockerfile").read_text()
    base = next(i["value"] for i in parse(text) if i["instruction"] == "FROM")
    assert base.startswith(f"apache/airflow:{lock_version('apache-airflow')}-python3.11")


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda t: t.replace("apache/airflow:3.3.2-", "apache/airflow:latest-"), "not the official image"),
        (lambda t: t.replace("FROM apache/airflow:3.3.2-python3.11", "FROM python:3.11"), "not the official image"),
        (lambda t: t + "\nRUN pip install requests\n", "installs outside uv.lock"),
        (lambda t: t + "\nRUN apt-get update && apt-get install -y curl\n", "installs outside uv.lock"),
        (lambda t: t.rstrip().removesuffix("USER airflow") + "\nUSER root\n", "runs as root"),
        (lambda t: t.replace("COPY --chown=airflow:0 dbt/ dbt/\n", ""), "dbt/ is not copied"),
        (lambda t: t.replace("scrollintel transform manifest", "true"), "manifest is not built"),
    ],
)
def test_a_broken_dockerfile_is_caught(change: Any, problem: str) -> None:
    broken = change((REPO / "Dockerfile").read_text())
    assert any(problem in p for p in violations(broken)), violations(broken)


def test_dockerignore_keeps_local_state_out_and_the_copied_folders_in() -> None:
    ignored = {line.strip() for line in (REPO / ".dockerignore").read_text().splitlines() if line.strip()}
    assert {".venv", ".git", ".scrollintel", ".env", ".tools"} <= ignored
    assert not any(line.rstrip("/") + "/" in COPIED for line in ignored)


def test_make_setup_and_the_image_share_the_install_script() -> None:
    assert "scripts/setup.sh" in (REPO / "Makefile").read_text().split("setup:", 1)[1].splitlines()[1]
    script = (REPO / "scripts" / "setup.sh").read_text()
    assert "sync --frozen $SYNC_ARGS" in script and 'UV_VERSION="' in script


def test_the_image_install_step_resolves_from_the_lock(tmp_path: Path) -> None:
    """The Dockerfile's first install step, run through scripts/setup.sh as a dry run into a fresh environment."""
    if not (REPO / ".tools" / "uv" / "bin" / "uv").exists() and subprocess.run(["which", "uv"], check=False).returncode:
        pytest.skip("NO UV: run `make setup` first; the image's install step did NOT run")
    env = {
        **os.environ,
        "SCROLLINTEL_UV_SYNC_ARGS": "--no-dev --no-install-project --dry-run",
        "UV_PROJECT_ENVIRONMENT": str(tmp_path / "venv"),
        "UV_OFFLINE": "1",
    }
    result = subprocess.run(
        ["bash", "scripts/setup.sh"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert re.search(r"Would install \d{3} packages", output), output[-2000:]
    assert "apache-airflow==" + airflow_pin() in output
    assert "pytest==" not in output  # --no-dev: no test tools in the image
    assert not (tmp_path / "venv").exists()
