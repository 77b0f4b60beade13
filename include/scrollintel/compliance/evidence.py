"""SOC 2 evidence pack: one zip per period, every file's SHA-256 in a manifest signed with the ledger's key.

Files (``YYYY-Qn`` or ``YYYY-MM`` periods, UTC; each from the warehouse):

- ``ledger_status.json``: the ledger's size, latest verification and latest signed tree head;
- ``approvals.json``: the approval requests and their outcomes (ledger ``approval.*``);
- ``schema_contracts.json``: schema contract versions registered (``governance.ingest_schema_version``);
- ``quality_gate_history.json``: quality gate runs (``governance.quality_run``);
- ``retention_runs.json``: retention proofs (ledger ``compliance.retention_*``);
- ``subject_requests.json``: data subject requests by id and status (never their identifiers);
- ``access_review.json``: Airflow's users, roles and last logins, and the review's findings;
- ``dag_versions.json``: the DAG versions Airflow registered in the period (both read through
  Airflow's API as whoever builds the pack: :mod:`scrollintel.compliance.airflow_review`; a file
  says ``included: false`` and why when that account may not read them or no API was given);
- ``record_of_processing.{json,xlsx,pdf}``: the Art. 30 record as of generation.

``manifest.json`` lists each file with its SHA-256; ``manifest.sig`` is the Ed25519 signature of
the manifest's bytes by the ledger's signing key (:mod:`scrollintel.audit.signing`), with the
key id in the manifest. :func:`verify` recomputes every hash and checks the signature against
the trusted keys, naming the file that differs.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrollintel.exceptions import ConfigError

if TYPE_CHECKING:
    import httpx
    import psycopg

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
_PERIOD = re.compile(r"(?P<year>\d{4})-(?:Q(?P<quarter>[1-4])|(?P<month>0[1-9]|1[0-2]))")


def period_bounds(period: str, *, name: str = "--period") -> tuple[datetime, datetime]:
    """``2026-Q4`` -> [2026-10-01, 2027-01-01); ``2026-11`` -> [2026-11-01, 2026-12-01) (UTC).

    ``name`` is what the caller calls the field (the CLI's option, a page's label) in the error.
    """
    found = _PERIOD.fullmatch(period.strip())
    if not found:
        raise ConfigError(f"{name} {period!r}: expected a quarter (2026-Q4) or a month (2026-11)")
    year = int(found["year"])
    first = (int(found["quarter"]) - 1) * 3 + 1 if found["quarter"] else int(found["month"])
    months = 3 if found["quarter"] else 1
    end_month, end_year = first + months, year
    if end_month > 12:
        end_month, end_year = end_month - 12, year + 1
    return datetime(year, first, 1, tzinfo=UTC), datetime(end_year, end_month, 1, tzinfo=UTC)


def _rows(conn: psycopg.Connection[Any], query: str, params: tuple[Any, ...]) -> list[Any]:
    import psycopg

    try:
        with conn.transaction():
            return [json.loads(row[0]) if isinstance(row[0], str) else row[0] for row in conn.execute(query, params)]
    except psycopg.errors.UndefinedTable:
        return []


def _ledger(conn: psycopg.Connection[Any], pattern: str, start: datetime, end: datetime) -> list[Any]:
    return _rows(
        conn,
        "SELECT jsonb_build_object('seq', seq, 'recorded_at', recorded_at, 'actor', actor, 'action', action, "
        "'subject', subject, 'details', details::jsonb) FROM governance.audit_entry "
        "WHERE action LIKE %s AND recorded_at >= %s AND recorded_at < %s ORDER BY seq",
        (pattern, start, end),
    )


#: What the Airflow files say when no API was given to read them from.
NO_AIRFLOW = {"included": False, "reason": "built without Airflow's API (scrollintel compliance evidence --api-url)"}


def collect(
    url: str, period: str, *, airflow: httpx.Client | None = None, generated_at: datetime | None = None
) -> dict[str, bytes]:
    """Every file of the pack (name -> bytes), manifest not included.

    ``airflow``: a client of Airflow's API signed in as whoever builds the pack (base URL and token).
    """
    from scrollintel import warehouse
    from scrollintel.audit.query import ledger_status
    from scrollintel.compliance import airflow_review, record
    from scrollintel.config import load_governance

    start, end = period_bounds(period)
    now = generated_at or datetime.now(UTC)
    files: dict[str, bytes] = {}

    def put(name: str, value: Any) -> None:
        files[name] = json.dumps(value, indent=2, sort_keys=True, default=str).encode()

    put("ledger_status.json", ledger_status(url).model_dump(mode="json"))
    with warehouse.connect(url) as conn:
        put("approvals.json", _ledger(conn, "approval.%", start, end))
        put("retention_runs.json", _ledger(conn, "compliance.retention_%", start, end))
        put(
            "schema_contracts.json",
            _rows(
                conn,
                "SELECT to_jsonb(v) FROM governance.ingest_schema_version v WHERE created_at >= %s AND created_at < %s "
                "ORDER BY id",
                (start, end),
            ),
        )
        put(
            "quality_gate_history.json",
            _rows(
                conn,
                "SELECT to_jsonb(q) FROM governance.quality_run q WHERE finished_at >= %s AND finished_at < %s "
                "ORDER BY id",
                (start, end),
            ),
        )
        put(
            "subject_requests.json",
            _rows(
                conn,
                "SELECT to_jsonb(r) - 'identifiers' FROM governance.subject_requests r "
                "WHERE created_at >= %s AND created_at < %s ORDER BY created_at",
                (start, end),
            ),
        )
        gov = load_governance()
        activities = record.build(gov, conn)
    put("access_review.json", airflow_review.access_review(airflow, now=now) if airflow else NO_AIRFLOW)
    put("dag_versions.json", airflow_review.dag_versions(airflow, start, end) if airflow else NO_AIRFLOW)
    put("record_of_processing.json", json.loads(record.as_json(activities)))
    with tempfile.TemporaryDirectory(prefix="scrollintel-evidence-") as folder:
        scratch = Path(folder)
        record.write_xlsx(activities, scratch / "r.xlsx")
        record.write_pdf(activities, scratch / "r.pdf", generated_at=now.isoformat(timespec="seconds"))
        files["record_of_processing.xlsx"] = (scratch / "r.xlsx").read_bytes()
        files["record_of_processing.pdf"] = (scratch / "r.pdf").read_bytes()
    return files


def manifest(files: dict[str, bytes], *, period: str, key_id: str, generated_at: datetime) -> bytes:
    """The manifest's bytes: period, time, key id and each file's SHA-256 (canonical JSON)."""
    body = {
        "period": period,
        "generated_at": generated_at.isoformat(timespec="seconds"),
        "key_id": key_id,
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
    }
    return json.dumps(body, indent=2, sort_keys=True).encode()


def write_pack(files: dict[str, bytes], out: Path, *, period: str, generated_at: datetime | None = None) -> Path:
    """Sign the manifest with the ledger's key and write the zip to ``out``."""
    from scrollintel.audit.signing import load_signing_key

    key = load_signing_key()
    stamp = generated_at or datetime.now(UTC)
    body = manifest(files, period=period, key_id=key.key_id, generated_at=stamp)
    signature = base64.b64encode(key.sign(body))
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as pack:
        for name, data in sorted(files.items()):
            pack.writestr(name, data)
        pack.writestr(MANIFEST, body)
        pack.writestr(SIGNATURE, signature)
    return out


def build(
    url: str,
    period: str,
    out: Path,
    *,
    airflow: httpx.Client | None = None,
    actor: str | None = None,
    ledger_url: str | None = None,
    period_name: str = "--period",
) -> tuple[list[str], str]:
    """Collect, sign and write the pack for ``period`` to ``out``; recorded in the ledger. Returns (files, SHA-256).

    What ``scrollintel compliance evidence`` and the Compliance page's button both run.
    """
    from scrollintel.audit import writer

    period_bounds(period, name=period_name)
    files = collect(url, period, airflow=airflow)
    write_pack(files, out, period=period)
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    writer.record(
        "compliance.evidence_pack_generated",
        f"report:evidence:{period}",
        {"files": sorted(files), "sha256": digest},
        actor=actor,
        url=ledger_url,
    )
    return sorted(files), digest


@dataclass
class Verification:
    """The outcome of :func:`verify`: ``problems`` empty when the pack is intact and signed by a trusted key."""

    files: int
    key_id: str | None
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(path: Path) -> Verification:
    """Check every file's hash against the manifest and the manifest's signature against the trusted keys."""
    from cryptography.exceptions import InvalidSignature

    from scrollintel.audit.signing import trusted_public_keys

    try:
        pack = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        return Verification(0, None, [f"{path}: not a readable zip ({err})"])
    with pack:
        names = set(pack.namelist())
        if MANIFEST not in names or SIGNATURE not in names:
            return Verification(0, None, [f"{path}: no {MANIFEST} / {SIGNATURE}: not an evidence pack"])
        body = pack.read(MANIFEST)
        data = json.loads(body)
        problems: list[str] = []
        listed: dict[str, str] = data.get("files") or {}
        for name, expected in sorted(listed.items()):
            if name not in names:
                problems.append(f"{name}: listed in the manifest but missing from the pack")
            elif hashlib.sha256(pack.read(name)).hexdigest() != expected:
                problems.append(f"{name}: SHA-256 differs from the manifest (the file was changed)")
        for name in sorted(names - set(listed) - {MANIFEST, SIGNATURE}):
            problems.append(f"{name}: in the pack but not in the manifest")
        key_id = data.get("key_id")
        public = trusted_public_keys().get(str(key_id))
        if public is None:
            problems.append(f"{MANIFEST}: signed by key {key_id}, which is not a trusted key")
        else:
            try:
                public.verify(base64.b64decode(pack.read(SIGNATURE)), body)
            except (InvalidSignature, ValueError):
                problems.append(f"{MANIFEST}: the signature does not match (the manifest was changed)")
    return Verification(len(listed), key_id, problems)
