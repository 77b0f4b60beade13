"""Anchor delay: how long an appended audit entry stays outside every signed tree head.

Starts the anchorer the way the platform does (``scrollintel audit anchorer``, a separate
process with its default settings), then appends entries one at a time (``audit.record``, one
transaction each) with random pauses, some shorter than the anchorer's minimum interval between
heads. A watcher notices every new head file in the local anchor store (polling every 5 ms). For
each entry the delay is the time from its commit to the first stored head that covers it.
Prints p50, p99 and the maximum, against the bound the settings promise and against the hourly
``audit_anchor`` DAG, which was the only anchoring before.

Run: ``make bench`` or ``scripts/bench.sh`` (starts a throwaway PostgreSQL), or
``SCROLLINTEL_TEST_DATABASE_URL=postgresql://superuser@host/postgres python bench/bench_anchor_delay.py``.
``--appends N`` and ``--max-gap S`` change the number of entries and the longest pause.
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
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg

from scrollintel import db, migrate
from scrollintel.audit import storage
from scrollintel.audit.anchor import NAME_PREFIX
from scrollintel.audit.anchorer import AnchorerSettings, max_delay_seconds

HOURLY_S = 3600.0


def plain(url: str) -> str:
    return url.replace(db.DRIVER, "postgresql")


class HeadWatcher:
    """Polls the anchor folder; remembers when each tree size was first covered by a stored head."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.seen: list[tuple[float, int]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        known: set[str] = set()
        while not self.stop.is_set():
            if self.folder.is_dir():
                now = time.monotonic()
                for name in os.listdir(self.folder):
                    if name.startswith(NAME_PREFIX) and name not in known:
                        known.add(name)
                        # tree-head-<time>-<size>.json
                        self.seen.append((now, int(name.rsplit("-", 1)[1].split(".")[0])))
            time.sleep(0.005)

    def covered_at(self, seq: int) -> float | None:
        """When a head with more than ``seq`` entries was first seen."""
        times = [moment for moment, size in self.seen if size > seq]
        return min(times) if times else None


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(url: str, home: Path, appends: int, max_gap: float) -> None:
    from scrollintel import audit

    env = {**os.environ, "SCROLLINTEL_HOME": str(home), "SCROLLINTEL_AUDIT_DATABASE_URL": url}
    folder = home / "object-store" / "audit-anchors"
    watcher = HeadWatcher(folder)
    watcher.thread.start()
    scrollintel = str(Path(sys.executable).parent / "scrollintel")
    log = open(home / "anchorer.log", "wb")  # noqa: SIM115 - closed in finally, after the process
    anchorer = subprocess.Popen(
        [scrollintel, "audit", "anchorer", "--no-notify"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    rng = random.Random(14)
    appended: list[tuple[int, float]] = []
    try:
        time.sleep(2.0)  # the anchorer connects and starts listening
        if anchorer.poll() is not None:
            raise SystemExit(f"the anchorer exited: see {home / 'anchorer.log'}")
        for i in range(appends):
            receipt = audit.record("bench.anchor_delay", f"bench:{i}", {"i": i}, url=url)
            if receipt.seq is None:
                raise SystemExit(f"append {i} was not written: {receipt.status}")
            appended.append((receipt.seq, time.monotonic()))
            time.sleep(rng.uniform(0, max_gap))
        settings = AnchorerSettings.from_env()
        deadline = time.monotonic() + max_delay_seconds(settings) + 30
        while watcher.covered_at(appended[-1][0]) is None and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        anchorer.terminate()
        anchorer.wait(timeout=30)
        log.close()
        watcher.stop.set()
        watcher.thread.join()
    delays = []
    for seq, at in appended:
        covered = watcher.covered_at(seq)
        if covered is None:
            raise SystemExit(f"entry {seq} was never covered by a signed head; see {home / 'anchorer.log'}")
        delays.append(max(0.0, covered - at))
    settings = AnchorerSettings.from_env()
    bound = max_delay_seconds(settings)
    heads = len(watcher.seen)
    print(
        f"anchorer settings: settle {settings.settle} s, min interval {settings.min_interval} s, "
        f"poll {settings.poll} s; {appends} appends, pauses 0-{max_gap} s; {heads} heads signed\n"
    )
    print(f"{'metric':<40} {'value':>10}   {'baseline (hourly DAG)':<24} {'goal'}")
    for name, value in (
        ("append -> covering head, p50", statistics.median(delays)),
        ("append -> covering head, p99", percentile(delays, 0.99)),
        ("append -> covering head, max", max(delays)),
    ):
        verdict = "PASS" if value <= bound + 1 else "MISS"
        print(f"{name:<40} {value:>8.2f} s   {'up to 3600 s':<24} <= {bound + 1:.1f} s {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--appends", type=int, default=200, help="entries appended one by one")
    parser.add_argument("--max-gap", type=float, default=1.5, help="longest pause between appends, seconds")
    args = parser.parse_args()

    admin = os.environ.get("SCROLLINTEL_TEST_DATABASE_URL")
    if not admin:
        raise SystemExit("set SCROLLINTEL_TEST_DATABASE_URL (a superuser URL) or run scripts/bench.sh")
    admin = db.normalise_url(admin)
    home = Path(tempfile.mkdtemp(prefix="scrollintel-bench-anchor-"))
    os.environ["SCROLLINTEL_HOME"] = str(home)
    os.environ.pop("SCROLLINTEL_OBJECT_STORE", None)
    os.environ["SCROLLINTEL_AUDIT_SIGNING_KEY"] = base64.b64encode(secrets.token_bytes(32)).decode()
    name = f"bench_anchor_{secrets.token_hex(3)}"
    with psycopg.connect(plain(db.with_database(admin, "postgres")), autocommit=True) as conn:
        version = conn.execute("SHOW server_version").fetchone()
        conn.execute(f'CREATE DATABASE "{name}"')
    url = db.with_database(admin, name)
    try:
        migrate.upgrade(url)
        print(
            f"audit anchor delay benchmark: PostgreSQL {version[0] if version else '?'}, "
            f"Python {platform.python_version()}, {os.cpu_count()} CPU(s)"
        )
        run(url, home, args.appends, args.max_gap)
    finally:
        storage.dispose_engines()
        with psycopg.connect(plain(db.with_database(admin, "postgres")), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(home, ignore_errors=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
