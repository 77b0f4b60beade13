"""The platform stores in governance/retention.yaml: declared, checked, and the ledger never among them."""

from __future__ import annotations

from pathlib import Path

import pytest

from scrollintel.compliance import retention
from scrollintel.config import load_governance, validate_governance
from tests.unit.conftest import REPO_GOVERNANCE

pytestmark = pytest.mark.unit


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def problems(directory: Path) -> list[str]:
    return [str(problem) for problem in validate_governance(directory)]


def test_repository_declares_the_platform_stores_with_delete_classes() -> None:
    gov = load_governance(REPO_GOVERNANCE)
    tables = {item.table: item for item in gov.retention.platform.tables}
    assert set(tables) == {"governance.quality_run"}  # raw lineage events are append-only for tasks
    assert tables["governance.quality_run"].includes == ["governance.quality_result"]
    folders = {folder.name: (folder.root, folder.path) for folder in retention.folder_targets(gov)}
    assert folders == {
        "folder:quality-checkpoint-results": ("object_store", "quality/checkpoint"),
        "folder:quality-data-docs": ("state", "quality/data-docs/validations"),
        "folder:quality-gx-validations": ("state", "quality/gx-validations"),
        "folder:airflow-task-logs": ("airflow_logs", ""),
    }
    classes = [item.retention_class for item in gov.retention.platform.tables] + [
        item.retention_class for item in gov.retention.platform.folders
    ]
    assert {gov.retention_class(class_id).action for class_id in classes} == {"delete"}
    # task logs expire by `operational`, as the deployment's log bucket does (terraform/README.md)
    assert gov.retention.platform.folders[2].retention_class == "operational"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("governance.audit_entry", "governance.audit_entry belongs to the audit ledger, which is never purged"),
        ("governance.audit_anchor", "governance.audit_anchor belongs to the audit ledger, which is never purged"),
        ("governance.retention_holds", "governance.retention_holds is a compliance record retention never purges"),
        ("raw.shop__orders", "'raw.shop__orders' is not a governance table such as 'governance.quality_run'"),
    ],
)
def test_the_ledger_and_compliance_records_are_refused_as_targets(gov: Path, table: str, message: str) -> None:
    edit(gov / "retention.yaml", "    - table: governance.quality_run", f"    - table: {table}")
    assert problems(gov) == [f"governance/retention.yaml:platform.tables[0].table: {message}"]


def test_the_ledger_is_refused_as_a_child_table_too(gov: Path) -> None:
    edit(gov / "retention.yaml", "includes: [governance.quality_result]", "includes: [governance.audit_entry]")
    assert problems(gov) == [
        "governance/retention.yaml:platform.tables[0].includes[0]: "
        "governance.audit_entry belongs to the audit ledger, which is never purged"
    ]


def test_a_platform_store_takes_a_known_delete_class(gov: Path) -> None:
    edit(
        gov / "retention.yaml",
        "      retention_class: platform-records\n      date_column: finished_at",
        "      retention_class: financial-records\n      date_column: finished_at",
    )
    edit(
        gov / "retention.yaml",
        "      retention_class: operational\n      description: >-\n        Airflow",
        "      retention_class: forever\n      description: >-\n        Airflow",
    )
    found = problems(gov)
    assert found[0] == (
        "governance/retention.yaml:platform.tables[0].retention_class: class 'financial-records' says 'archive'; "
        "platform stores take a class whose action is 'delete' (their records are not copied elsewhere)"
    )
    assert found[1].startswith(
        "governance/retention.yaml:platform.folders[2].retention_class: unknown retention class 'forever' (known: "
    )
    assert len(found) == 2


@pytest.mark.parametrize("path", ["../outside", "/etc", "quality/../../x", ".hidden"])
def test_a_folder_path_stays_inside_its_root(gov: Path, path: str) -> None:
    edit(gov / "retention.yaml", "      path: quality/checkpoint", f"      path: {path}")
    assert problems(gov) == [
        f"governance/retention.yaml:platform.folders[0].path: {path!r} is not a relative folder path inside "
        "its root (no '..', '/' or hidden names)"
    ]


def test_duplicate_platform_stores_are_named(gov: Path) -> None:
    edit(gov / "retention.yaml", "    - id: quality-data-docs", "    - id: quality-checkpoint-results")
    assert problems(gov) == [
        "governance/retention.yaml:platform.folders[1].id: duplicate platform folder 'quality-checkpoint-results' "
        "(first at platform.folders[0])"
    ]
