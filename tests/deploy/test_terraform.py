"""Terraform against moto's server on loopback: validate, plan, the policy checks, apply, and then
the platform's S3 anchor path writing to the bucket Terraform made.

One moto server and two copies of ``terraform/`` per session: the copy that is applied starts
its ``terraform apply`` in the background first (the AWS provider waits ~1 min for S3
lifecycle rules and KMS keys to settle, even against moto), while the other copy is planned
and checked by terraform-compliance and checkov. The test that needs the apply runs last in
the session (tests/deploy/conftest.py moves it), so the provider's waits overlap other tests
instead of adding to the suite's wall time.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.conftest import REPO, TERRAFORM_DIR, free_port, provider_mirror, terraform_binary, tool

pytestmark = pytest.mark.integration

ENV_DIR = Path("environments") / "dev"
NEGATIVE_DIR = Path("policies") / "fixtures" / "negative"
# The buckets are what the apply must make; KMS comes with them (their encryption key).
APPLY_TARGETS = ("module.object_store", "module.audit_anchors", "module.mlflow_artifacts", "module.logs")
APPLY_TIMEOUT_S = 600
REGION = "us-east-1"
SERVICES = ("s3", "kms", "rds", "iam", "sts", "secretsmanager")

OVERRIDE = """# written by tests/deploy/test_terraform.py: every AWS call goes to moto on loopback
provider "aws" {{
  region                      = "{region}"
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  s3_use_path_style           = true
  endpoints {{
{endpoints}
  }}
}}
"""

CLI_CONFIG = """provider_installation {{
  filesystem_mirror {{
    path    = "{mirror}"
    include = ["registry.terraform.io/hashicorp/aws"]
  }}
  direct {{
    exclude = ["registry.terraform.io/hashicorp/aws"]
  }}
}}
# the mirror is laid out like a plugin cache: init links the provider instead of copying 700 MB
plugin_cache_dir = "{mirror}"
"""


@dataclass
class TerraformRun:
    """The moto endpoint, the plan copy, the apply copy and the outputs of each step."""

    endpoint: str
    ca_bundle: Path
    env: dict[str, str]
    plan_root: Path
    apply_root: Path
    validate_output: str = ""
    plan_json: Path = field(default_factory=Path)
    negative_plan_json: Path = field(default_factory=Path)
    apply_process: subprocess.Popen[bytes] | None = None
    apply_log: Path = field(default_factory=Path)

    def terraform(self, cwd: Path, *args: str, timeout: float = 600) -> str:
        result = subprocess.run(
            ["terraform", *args], cwd=cwd, env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )
        if result.returncode != 0:
            raise AssertionError(f"terraform {' '.join(args)} failed in {cwd}:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def plan_to_json(self, cwd: Path, name: str, *args: str) -> Path:
        self.terraform(cwd, "plan", "-input=false", "-lock=false", f"-out={name}.tfplan", *args)
        path = cwd / f"{name}.json"
        path.write_text(self.terraform(cwd, "show", "-json", f"{name}.tfplan"))
        return path

    def wait_applied(self) -> dict[str, Any]:
        """Wait for the background apply; the outputs of the environment."""
        assert self.apply_process is not None
        try:
            code = self.apply_process.wait(timeout=APPLY_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.apply_process.kill()
            raise
        log = self.apply_log.read_text()
        assert code == 0, f"terraform apply against moto failed:\n{log[-4000:]}"
        assert "Apply complete!" in log
        outputs: dict[str, Any] = json.loads(self.terraform(self.apply_root / ENV_DIR, "output", "-json"))
        return {name: value["value"] for name, value in outputs.items()}


def _copy_tree(dest: Path) -> None:
    shutil.copytree(
        TERRAFORM_DIR,
        dest / "terraform",
        ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", "tools", "*_override.tf"),
    )
    (dest / "governance").mkdir()
    shutil.copy2(REPO / "governance" / "retention.yaml", dest / "governance" / "retention.yaml")


def _write_override(directory: Path, endpoint: str) -> None:
    endpoints = "\n".join(f'    {service:<14} = "{endpoint}"' for service in SERVICES)
    (directory / "moto_override.tf").write_text(OVERRIDE.format(region=REGION, endpoints=endpoints))


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1: the buckets' policies deny requests without TLS."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "moto.crt", folder / "moto.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def _moto_over_tls(port: int, cert: Path, key: Path) -> tuple[Any, threading.Thread]:
    """moto's server app (as ThreadedMotoServer runs it) behind TLS on loopback."""
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    server = make_server(
        "127.0.0.1",
        port,
        DomainDispatcherApplication(create_backend_app),
        threaded=True,
        request_handler=MotoRequestHandler,
        ssl_context=(str(cert), str(key)),
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


@pytest.fixture(scope="session")
def tf(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TerraformRun]:
    if terraform_binary() is None:
        pytest.skip(
            "TERRAFORM NOT INSTALLED: terraform is not on the PATH, so validate/plan/apply and the policy checks did "
            "NOT run (install Terraform >= 1.6; CI installs it when missing)"
        )
    mirror = provider_mirror()
    if mirror is None:
        pytest.skip(
            "NO TERRAFORM PROVIDER MIRROR: no unpacked hashicorp/aws mirror was found (set "
            "SCROLLINTEL_TF_PROVIDER_MIRROR to the folder holding registry.terraform.io/), so the plan-based checks "
            "did NOT run"
        )
    root = tmp_path_factory.mktemp("terraform")
    cert, key = _self_signed(root)
    port = free_port()
    server, thread = _moto_over_tls(port, cert, key)
    endpoint = f"https://127.0.0.1:{port}"
    cli_config = root / "terraformrc"
    cli_config.write_text(CLI_CONFIG.format(mirror=mirror))
    env = {
        **os.environ,
        "TF_CLI_CONFIG_FILE": str(cli_config),
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
        "CHECKPOINT_DISABLE": "1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        # the provider (and Go's TLS) trust the test's own certificate authority, nothing else
        "AWS_CA_BUNDLE": str(cert),
        "SSL_CERT_FILE": str(cert),
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
    run = TerraformRun(endpoint=endpoint, ca_bundle=cert, env=env, plan_root=root / "plan", apply_root=root / "apply")
    try:
        for copy in (run.plan_root, run.apply_root):
            copy.mkdir()
            _copy_tree(copy)
            _write_override(copy / "terraform" / ENV_DIR, endpoint)
        _write_override(run.plan_root / "terraform" / NEGATIVE_DIR, endpoint)
        run.plan_root, run.apply_root = run.plan_root / "terraform", run.apply_root / "terraform"

        apply_dir = run.apply_root / ENV_DIR
        run.terraform(apply_dir, "init", "-backend=false", "-input=false")
        run.apply_log = root / "apply.log"
        targets = [f"-target={target}" for target in APPLY_TARGETS]
        with run.apply_log.open("wb") as log:
            run.apply_process = subprocess.Popen(
                ["terraform", "apply", "-auto-approve", "-input=false", "-no-color", "-var=throwaway=true", *targets],
                cwd=apply_dir,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

        # one init: the other roots get its .terraform (a link to the mirrored provider)
        plan_dir, negative_dir = run.plan_root / ENV_DIR, run.plan_root / NEGATIVE_DIR
        shutil.copytree(apply_dir / ".terraform", plan_dir / ".terraform", symlinks=True)
        shutil.copytree(
            apply_dir / ".terraform" / "providers", negative_dir / ".terraform" / "providers", symlinks=True
        )

        def plan_dev() -> None:
            run.validate_output = run.terraform(plan_dir, "validate", "-no-color")
            run.plan_json = run.plan_to_json(plan_dir, "dev")

        def plan_negative() -> None:
            run.negative_plan_json = run.plan_to_json(negative_dir, "negative")

        with ThreadPoolExecutor(max_workers=2) as pool:
            for future in [pool.submit(plan_dev), pool.submit(plan_negative)]:
                future.result()
        yield run
    finally:
        if run.apply_process is not None and run.apply_process.poll() is None:
            run.apply_process.kill()
            run.apply_process.wait()
        server.shutdown()
        thread.join()


def _resources(plan_json: Path) -> dict[str, dict[str, Any]]:
    plan = json.loads(plan_json.read_text())
    return {change["address"]: change for change in plan["resource_changes"]}


def _after(resources: dict[str, dict[str, Any]], address: str) -> dict[str, Any]:
    after: dict[str, Any] = resources[address]["change"]["after"]
    return after


# -- validate and plan ----------------------------------------------------------------------


def test_terraform_files_are_formatted() -> None:
    if terraform_binary() is None:
        pytest.skip("TERRAFORM NOT INSTALLED: terraform is not on the PATH; `terraform fmt -check` did NOT run")
    result = subprocess.run(
        ["terraform", "fmt", "-check", "-recursive", "-list=true", str(TERRAFORM_DIR)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "TF_CLI_CONFIG_FILE": os.devnull},
    )
    assert result.returncode == 0, f"not formatted (run terraform fmt -recursive terraform/):\n{result.stdout}"


def test_validate_passes(tf: TerraformRun) -> None:
    assert "Success! The configuration is valid." in tf.validate_output


def test_plan_creates_every_module(tf: TerraformRun) -> None:
    resources = {a: c for a, c in _resources(tf.plan_json).items() if c["mode"] == "managed"}
    assert all(change["change"]["actions"] == ["create"] for change in resources.values())
    by_type: dict[str, int] = {}
    for change in resources.values():
        by_type[change["type"]] = by_type.get(change["type"], 0) + 1
    assert by_type["aws_s3_bucket"] == 4
    assert by_type["aws_s3_bucket_object_lock_configuration"] == 1
    assert by_type["aws_kms_key"] == 2
    assert by_type["aws_db_instance"] == 1
    assert by_type["aws_secretsmanager_secret"] == 8  # one per connection of environments/dev (local.connections)
    assert by_type["aws_iam_role"] == 4
    assert by_type["aws_iam_role_policy"] == 4


def test_plan_rds_is_postgres_16_encrypted_with_pg_stat_statements(tf: TerraformRun) -> None:
    resources = _resources(tf.plan_json)
    db = _after(resources, "module.rds.aws_db_instance.this")
    assert db["engine"] == "postgres" and int(db["engine_version"].split(".")[0]) >= 16
    assert db["storage_encrypted"] is True and db["publicly_accessible"] is False
    assert db["manage_master_user_password"] is True and "password" not in {k for k, v in db.items() if v}
    assert db["backup_retention_period"] >= 7 and db["multi_az"] is False  # dev; production sets db_multi_az
    params = _after(resources, "module.rds.aws_db_parameter_group.this")["parameter"]
    assert {
        "name": "shared_preload_libraries",
        "value": "pg_stat_statements",
        "apply_method": "pending-reboot",
    } in params


def test_plan_lifecycle_and_object_lock_follow_governance_retention(tf: TerraformRun) -> None:
    """P7Y audit evidence -> 2557 days of COMPLIANCE lock; archive classes -> prefix expiry; P2Y logs."""
    resources = _resources(tf.plan_json)
    lock = _after(resources, "module.audit_anchors.aws_s3_bucket_object_lock_configuration.this[0]")
    assert lock["rule"][0]["default_retention"][0] == {"mode": "COMPLIANCE", "days": 2557, "years": None}
    rules = _after(resources, "module.object_store.aws_s3_bucket_lifecycle_configuration.this")["rule"]
    expiry = {r["filter"][0]["prefix"]: r["expiration"][0]["days"] for r in rules if r["filter"][0].get("prefix")}
    assert expiry == {
        "archive/financial-records/": 3653,  # P10Y
        "archive/reference-data/": 1827,  # P5Y
        "archive/audit-evidence/": 2557,  # P7Y
    }
    logs = _after(resources, "module.logs.aws_s3_bucket_lifecycle_configuration.this")["rule"]
    assert [r["expiration"][0]["days"] for r in logs if r["expiration"]] == [731]  # P2Y


def test_irsa_roles_are_bound_to_their_service_account(tf: TerraformRun) -> None:
    resources = _resources(tf.plan_json)
    role = _after(resources, 'module.irsa.aws_iam_role.this["audit-anchor-writer"]')
    trust = json.loads(role["assume_role_policy"])["Statement"][0]
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    conditions = trust["Condition"]["StringEquals"]
    assert "system:serviceaccount:scrollintel:scrollintel-audit-anchorer" in conditions.values()
    policy = json.loads(_after(resources, 'module.irsa.aws_iam_role_policy.this["audit-anchor-writer"]')["policy"])
    actions = {a for s in policy["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    # it adds locked heads and reads them back; it can neither delete nor bypass a retention
    assert "s3:PutObject" in actions and "s3:DeleteObject" not in actions
    assert not any("Bypass" in a or a.endswith("*") for a in actions)


# -- policy checks --------------------------------------------------------------------------

FEATURE_TARGETS = {
    "Encryption everywhere": "aws_s3_bucket.negative_unencrypted",
    "No public buckets": "aws_s3_bucket_public_access_block.negative_public",
    "Object Lock on the audit anchor bucket": "aws_s3_bucket.negative_unlocked",
    "Cost tags on every resource": "aws_kms_key.negative_untagged",
    "Least-privilege IAM": "aws_iam_role_policy.negative_wildcard",
}
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _by_feature(output: str) -> dict[str, str]:
    """Each feature's part of terraform-compliance's output, by feature name."""
    parts: dict[str, str] = {}
    current = None
    for line in ANSI.sub("", output).splitlines():
        match = re.match(r"Feature: (.+?)\s+#", line)
        if match:
            current = match.group(1)
            parts[current] = ""
        elif current is not None:
            parts[current] += line + "\n"
    return parts


@dataclass
class PolicyRuns:
    """terraform-compliance on both plans and checkov on both, run side by side."""

    compliance: dict[str, subprocess.CompletedProcess[str]]
    checkov: subprocess.CompletedProcess[str] | None

    def checkov_failures(self, plan_name: str) -> set[tuple[str, str]]:
        """(check id, resource) of every check checkov failed on one of the two plan files."""
        assert self.checkov is not None
        reports = json.loads(self.checkov.stdout)
        failed = [
            f for r in (reports if isinstance(reports, list) else [reports]) for f in r["results"]["failed_checks"]
        ]
        return {(f["check_id"], f["resource"]) for f in failed if Path(f["file_path"]).name == f"{plan_name}.json"}

    def checkov_passed(self) -> int:
        assert self.checkov is not None
        reports = json.loads(self.checkov.stdout)
        return sum(r["summary"]["passed"] for r in (reports if isinstance(reports, list) else [reports]))


@pytest.fixture(scope="session")
def policies(tf: TerraformRun) -> PolicyRuns:
    compliance_bin, checkov_bin = tool("terraform-compliance"), tool("checkov")
    if compliance_bin is None or checkov_bin is None:
        pytest.skip(
            "POLICY TOOLS NOT INSTALLED: terraform-compliance/checkov are missing from terraform/tools/.venv; run "
            "`make tools`. The policy features and checkov did NOT run"
        )
    commands = {
        name: [str(compliance_bin), "-f", str(TERRAFORM_DIR / "policies"), "-p", str(plan)]
        for name, plan in (("dev", tf.plan_json), ("negative", tf.negative_plan_json))
    }
    commands["checkov"] = [
        str(checkov_bin),
        "--config-file",
        str(TERRAFORM_DIR / ".checkov.yaml"),
        "-f",
        str(tf.plan_json),
        "-f",
        str(tf.negative_plan_json),
        "-o",
        "json",
    ]
    procs = {
        name: subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name, cmd in commands.items()
    }
    done = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=600)
        done[name] = subprocess.CompletedProcess(commands[name], proc.returncode, out, err)
    return PolicyRuns(compliance={k: done[k] for k in ("dev", "negative")}, checkov=done["checkov"])


def test_compliance_features_pass_on_the_plan(policies: PolicyRuns) -> None:
    result = policies.compliance["dev"]
    output = ANSI.sub("", result.stdout)
    assert result.returncode == 0, output[-6000:]
    assert set(_by_feature(output)) == set(FEATURE_TARGETS), "a feature file did not run"
    # a scenario that skips checks nothing: only the absent resource type may skip
    skips = [line.strip() for line in output.splitlines() if "SKIPPING" in line]
    assert skips == ["* SKIPPING: Can not find aws_iam_policy defined in target terraform plan."], skips


@pytest.mark.parametrize("feature", sorted(FEATURE_TARGETS))
def test_each_feature_fails_on_its_negative_fixture(policies: PolicyRuns, feature: str) -> None:
    result = policies.compliance["negative"]
    assert result.returncode != 0, "terraform-compliance passed the negative fixture"
    part = _by_feature(result.stdout)[feature]
    failures = [line for line in part.splitlines() if "Failure:" in line]
    assert any(FEATURE_TARGETS[feature] in line for line in failures), f"{feature} did not fail on its fixture:\n{part}"


CHECKOV_TARGETS = {
    "CKV_AWS_145": "aws_s3_bucket.negative_unencrypted",  # S3 encrypted with KMS by default
    "CKV_AWS_56": "aws_s3_bucket_public_access_block.negative_public",  # restrict public buckets
    "CKV_AWS_54": "aws_s3_bucket_public_access_block.negative_public",  # block public policy
    "CKV_AWS_21": "aws_s3_bucket.negative_unlocked",  # versioning (Object Lock needs it)
    "CKV_AWS_7": "aws_kms_key.negative_unrotated",  # KMS key rotation
}


def test_checkov_passes_on_the_plan(policies: PolicyRuns) -> None:
    assert policies.checkov_failures("dev") == set()
    assert policies.checkov_passed() > 100, "checkov checked (almost) nothing"


@pytest.mark.parametrize("check_id", sorted(CHECKOV_TARGETS))
def test_checkov_fails_on_the_negative_fixture(policies: PolicyRuns, check_id: str) -> None:
    assert policies.checkov is not None and policies.checkov.returncode != 0
    failed = policies.checkov_failures("negative")
    assert (check_id, CHECKOV_TARGETS[check_id]) in failed, sorted(failed)


# -- apply, then the platform writes to what Terraform made ---------------------------------


def test_apply_creates_the_buckets_and_the_anchor_path_writes_to_them(
    tf: TerraformRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    from scrollintel.audit.anchor import S3AnchorStore, TreeHead, default_store
    from scrollintel.audit.signing import SigningKey

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_CA_BUNDLE": str(tf.ca_bundle),
        "NO_PROXY": "127.0.0.1",
    }.items():
        monkeypatch.setenv(name, value)
    outputs = tf.wait_applied()
    buckets = outputs["bucket_names"]
    s3 = boto3.client("s3", endpoint_url=tf.endpoint, region_name=REGION)
    existing = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert set(buckets.values()) <= existing
    for name in buckets.values():
        rule = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"][0]
        assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
        assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
        assert all(s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"].values())
    anchors = buckets["audit-anchors"]
    lock = s3.get_object_lock_configuration(Bucket=anchors)["ObjectLockConfiguration"]
    assert lock["ObjectLockEnabled"] == "Enabled"
    retention = lock["Rule"]["DefaultRetention"]
    assert (retention["Mode"], retention["Days"]) == ("COMPLIANCE", 2557)

    # The TLS-only bucket policy: moto applies a policy's statements without their conditions
    # (see moto's put_bucket_policy), so its Deny-unless-TLS would refuse every request, TLS or
    # not. Check it is exactly that statement, then lift it for the rest of the test.
    policy = json.loads(s3.get_bucket_policy(Bucket=anchors)["Policy"])
    assert [(st["Effect"], st["Condition"]) for st in policy["Statement"]] == [
        ("Deny", {"Bool": {"aws:SecureTransport": "false"}})
    ]
    s3.delete_bucket_policy(Bucket=anchors)

    for name, value in {
        "AWS_DEFAULT_REGION": REGION,
        "SCROLLINTEL_AUDIT_ANCHOR_BUCKET": anchors,
        "SCROLLINTEL_AUDIT_S3_ENDPOINT_URL": tf.endpoint,
        "SCROLLINTEL_AUDIT_RETENTION_DAYS": "30",
    }.items():
        monkeypatch.setenv(name, value)
    store = default_store()
    assert isinstance(store, S3AnchorStore) and store.bucket == anchors
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    head = TreeHead.sign(3, bytes(32), SigningKey(Ed25519PrivateKey.generate(), "test"))
    location = store.put(head)
    assert location.startswith(f"s3://{anchors}/audit-anchors/")
    key = location.split(f"s3://{anchors}/", 1)[1]
    written = s3.head_object(Bucket=anchors, Key=key)
    assert written["ObjectLockMode"] == "COMPLIANCE"
    with pytest.raises(s3.exceptions.ClientError, match="AccessDenied"):
        s3.delete_object(Bucket=anchors, Key=key, VersionId=written["VersionId"])
    latest = store.latest()
    assert latest is not None and latest.tree_size == 3 and latest.signature == head.signature
