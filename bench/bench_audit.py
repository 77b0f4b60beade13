"""Audit ledger benchmark: append (batched and single), verify 1,000,000 entries, proof generation.

Each figure is printed with a baseline measured in the same run on the same server:

- batched append (``record_many``: validate, strip personal data, hash, chain, Merkle nodes,
  the ledger's writer function ``governance.audit_append``, 10,000 per transaction) against
  plain ``executemany`` INSERTs of the same rows into a table without hashing, indexes or
  triggers; goal >= 20,000 entries/s;
- single append (``record``, one transaction per event) against a plain one-row INSERT + commit;
- verification of 1,000,000 entries (chain, every stored Merkle node, the anchored root)
  against only reading the same rows; goal < 10 s;
- inclusion proof generation at 1,000,000 entries (median and p99 of 500) against a naive proof
  that reads every leaf and builds the path in memory; goal < 10 ms.

Run: ``make bench`` or ``scripts/bench.sh`` (starts a throwaway PostgreSQL), or
``SCROLLINTEL_TEST_DATABASE_URL=postgresql://superuser@host/postgres python bench/bench_audit.py``.
``--entries N`` scales the verify/proof ledger down for a quick look.
"""

from __future__ import annotations

import argparse
import base64
import os
import platform
import random
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from scrollintel import db, migrate
from scrollintel.audit import AuditEvent, merkle, storage
from scrollintel.audit.canonical import to_time_us
from scrollintel.audit.storage import NewEntry

BATCH = 10_000


def plain(url: str) -> str:
    return url.replace(db.DRIVER, "postgresql")


def timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def line(metric: str, value: str, baseline: str, ratio: str, goal: str = "") -> None:
    print(f"{metric:<44} {value:>16}   {baseline:<40} {ratio:>8}   {goal}")


def events(n: int, offset: int = 0) -> list[AuditEvent]:
    moment = datetime(2026, 11, 22, tzinfo=UTC)
    return [
        AuditEvent(
            action="ingest.batch_loaded",
            subject=f"dataset:raw.shop__orders/batch:{offset + i}",
            details={"rows": 1000 + i % 500, "quarantined": i % 7, "source": "shop", "ok": True},
            actor="dag:ingest_shop",
            at=moment,
        )
        for i in range(n)
    ]


PLAIN_TABLE = (
    "CREATE TABLE bench_plain (seq bigint, recorded_at timestamptz, actor text, action text, subject text, "
    "details text, prev_hash bytea, entry_hash bytea)"
)


def plain_rows(n: int) -> list[tuple[object, ...]]:
    moment = datetime(2026, 11, 22, tzinfo=UTC)
    filler = bytes(32)
    return [
        (
            i,
            moment,
            "dag:ingest_shop",
            "ingest.batch_loaded",
            f"dataset:raw.shop__orders/batch:{i}",
            f'{{"ok":true,"quarantined":{i % 7},"rows":{1000 + i % 500},"source":"shop"}}',
            filler,
            filler,
        )
        for i in range(n)
    ]


def bench_append(url: str, n_batched: int, n_single: int) -> dict[str, float]:
    from scrollintel import audit

    results: dict[str, float] = {}
    batch_events = events(n_batched)
    seconds = timed(
        lambda: [audit.record_many(batch_events[i : i + BATCH], url=url) for i in range(0, n_batched, BATCH)]
    )
    results["batched"] = n_batched / seconds

    rows = plain_rows(n_batched)
    with psycopg.connect(plain(url)) as conn:
        conn.execute(PLAIN_TABLE)
        conn.commit()

        def baseline() -> None:
            with conn.cursor() as cur:
                for i in range(0, n_batched, BATCH):
                    cur.executemany(
                        "INSERT INTO bench_plain VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", rows[i : i + BATCH]
                    )
                    conn.commit()

        results["batched_baseline"] = n_batched / timed(baseline)

    single = events(n_single, offset=n_batched)
    results["single"] = n_single / timed(
        lambda: [audit.record(e.action, e.subject, e.details, actor=e.actor, url=url) for e in single]
    )
    with psycopg.connect(plain(url)) as conn:

        def single_baseline() -> None:
            for row in rows[:n_single]:
                conn.execute("INSERT INTO bench_plain VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", row)
                conn.commit()

        results["single_baseline"] = n_single / timed(single_baseline)
    return results


def fill(url: str, n: int) -> float:
    """Append n entries through the storage layer (the writer function, 20k per transaction); returns entries/s."""
    base = to_time_us(datetime(2026, 1, 1, tzinfo=UTC))
    started = time.perf_counter()
    with storage.connection(url) as conn:
        for start in range(0, n, 20_000):
            chunk = [
                NewEntry(
                    base + i * 1000,
                    f"svc{i % 11}",
                    "test.event",
                    f"dataset:d{i % 997}",
                    f'{{"i":{i},"ok":true}}',
                )
                for i in range(start, min(n, start + 20_000))
            ]
            with conn.transaction():
                storage.append_entries(conn, chunk)
    return n / (time.perf_counter() - started)


def bench_verify(url: str) -> dict[str, float]:
    from scrollintel.audit.anchor import LocalAnchorStore, anchor
    from scrollintel.audit.signing import load_signing_key, trusted_public_keys
    from scrollintel.audit.verify import verify_connection

    store = LocalAnchorStore(Path(os.environ["SCROLLINTEL_HOME"]) / "anchors")
    anchor(url, store=store, notify=False)
    trusted = trusted_public_keys(load_signing_key())
    with storage.connection(url) as conn, conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        started = time.perf_counter()
        report = verify_connection(conn, store=store, trusted=trusted)
        seconds = time.perf_counter() - started
    if not report.ok or not report.anchored:
        raise SystemExit(f"verification failed: {report.summary()}")

    def read_only() -> None:
        with storage.connection(url) as conn, conn.transaction():
            for _ in storage.iter_rows(conn):
                pass

    return {"verify": seconds, "read_only": timed(read_only), "size": report.size, "nodes": report.nodes_checked}


def bench_proofs(url: str, n: int, samples: int) -> dict[str, float]:
    from scrollintel.audit.proof import inclusion_document

    rng = random.Random(1)
    times: list[float] = []
    doc_times: list[float] = []
    with storage.connection(url) as conn:
        storage.inclusion_proof(conn, 0, n)  # warm the connection
        for _ in range(samples):
            index = rng.randrange(n)
            started = time.perf_counter()
            path = storage.inclusion_proof(conn, index, n)
            times.append(time.perf_counter() - started)
            assert len(path) <= n.bit_length() + 1
            started = time.perf_counter()
            inclusion_document(conn, index)
            doc_times.append(time.perf_counter() - started)

        def naive() -> None:
            leaves = [
                bytes(r[0])
                for r in conn.execute(f"SELECT entry_hash FROM {storage.ENTRY_TABLE} ORDER BY seq", binary=True)
            ]
            index = rng.randrange(n)

            def lookup(level: int, idx: int) -> bytes:
                return merkle.root_from_leaves(leaves[idx << level : (idx + 1) << level])

            merkle.resolve(merkle.inclusion_ranges(index, n), lookup)

        naive_times = [timed(naive) for _ in range(3)]
    ordered = sorted(times)
    return {
        "median": statistics.median(times),
        "p99": ordered[int(len(ordered) * 0.99) - 1],
        "document_median": statistics.median(doc_times),
        "naive": statistics.median(naive_times),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000, help="ledger size for verify and proofs")
    parser.add_argument("--append", type=int, default=200_000, help="entries for the batched append")
    parser.add_argument("--single", type=int, default=2_000, help="entries for the single append")
    parser.add_argument("--proofs", type=int, default=500, help="proofs to time")
    args = parser.parse_args()

    admin = os.environ.get("SCROLLINTEL_TEST_DATABASE_URL")
    if not admin:
        raise SystemExit("set SCROLLINTEL_TEST_DATABASE_URL (a superuser URL) or run scripts/bench.sh")
    admin = db.normalise_url(admin)
    home = tempfile.mkdtemp(prefix="scrollintel-bench-home-")
    os.environ["SCROLLINTEL_HOME"] = home
    os.environ["SCROLLINTEL_AUDIT_SIGNING_KEY"] = base64.b64encode(secrets.token_bytes(32)).decode()
    names = [f"bench_audit_{secrets.token_hex(3)}", f"bench_audit_{secrets.token_hex(3)}"]
    with psycopg.connect(plain(db.with_database(admin, "postgres")), autocommit=True) as conn:
        version = conn.execute("SHOW server_version").fetchone()
        for name in names:
            conn.execute(f'CREATE DATABASE "{name}"')
    append_url, big_url = (db.with_database(admin, name) for name in names)
    try:
        for url in (append_url, big_url):
            migrate.upgrade(url)
        print(
            f"audit ledger benchmark: PostgreSQL {version[0] if version else '?'}, Python {platform.python_version()}, "
            f"{os.cpu_count()} CPU(s)\n"
        )
        line("metric", "value", "baseline (same run)", "ratio", "goal")
        appended = bench_append(append_url, args.append, args.single)
        ok = appended["batched"] >= 20_000
        line(
            f"append batched (record_many, {BATCH:,}/tx)",
            f"{appended['batched']:,.0f} /s",
            f"plain executemany {appended['batched_baseline']:,.0f} /s",
            f"{appended['batched'] / appended['batched_baseline']:.2f}x",
            f">= 20,000 /s {'PASS' if ok else 'MISS'}",
        )
        line(
            "append single (record, 1 event/tx)",
            f"{appended['single']:,.0f} /s",
            f"plain INSERT+commit {appended['single_baseline']:,.0f} /s",
            f"{appended['single'] / appended['single_baseline']:.2f}x",
        )
        fill_rate = fill(big_url, args.entries)
        label = f"append storage, writer function ({args.entries:,} entries)"
        line(label, f"{fill_rate:,.0f} /s", "(fills the verify ledger)", "")
        checked = bench_verify(big_url)
        ok = checked["verify"] < 10
        line(
            f"verify {int(checked['size']):,} entries + anchor",
            f"{checked['verify']:.2f} s",
            f"read rows only {checked['read_only']:.2f} s",
            f"{checked['verify'] / checked['read_only']:.2f}x",
            f"< 10 s {'PASS' if ok else 'MISS'}",
        )
        proofs = bench_proofs(big_url, args.entries, args.proofs)
        ok = proofs["p99"] * 1000 < 10
        line(
            f"inclusion proof at {args.entries:,} (median)",
            f"{proofs['median'] * 1000:.2f} ms",
            f"naive, reads all leaves {proofs['naive'] * 1000:,.0f} ms",
            f"{proofs['naive'] / proofs['median']:,.0f}x faster",
            f"< 10 ms (p99 {proofs['p99'] * 1000:.2f} ms) {'PASS' if ok else 'MISS'}",
        )
        line("inclusion proof JSON document (median)", f"{proofs['document_median'] * 1000:.2f} ms", "", "")
    finally:
        storage.dispose_engines()
        with psycopg.connect(plain(db.with_database(admin, "postgres")), autocommit=True) as conn:
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(home, ignore_errors=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
