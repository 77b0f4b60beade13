"""Anchoring: signed tree heads written outside the database.

A tree head states "the ledger had ``tree_size`` entries and Merkle root ``root_hash`` at
``timestamp``", signed with Ed25519 (:mod:`scrollintel.audit.signing`). Written where the
database's users cannot rewrite it, it turns truncation and a full rewrite of the ledger,
which no check inside the database can see, into a mismatch ``verify`` reports.

Document (UTF-8 canonical JSON, one object per file)::

    {"key_id": "...", "log": "scrollintel-audit", "public_key": "<base64 raw>",
     "root_hash": "<hex>", "signature": "<base64>", "timestamp": "2026-11-22T10:00:00.000000Z",
     "tree_size": 1234, "version": 1}

The signature covers the canonical JSON of ``{log, root_hash, timestamp, tree_size,
version}``. Stores:

- local folder ``<object store>/audit-anchors`` (default): files are created exclusively
  (never overwritten) and made read-only;
- S3 with Object Lock in COMPLIANCE mode (``SCROLLINTEL_AUDIT_ANCHOR_BUCKET``): nobody,
  including the account root, can delete or overwrite a head before its retention date.

Object names are ``tree-head-<UTC time>-<size>.json``, so the newest sorts last. Before signing,
:func:`anchor` checks the ledger still extends the newest stored head, so a truncated or
rewritten ledger is never papered over by a fresh anchor. Observers (the database index of
anchors, the Slack post) never fail an anchor.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from scrollintel.audit import settings
from scrollintel.audit.canonical import canonical_json, iso_time, parse_iso_time, to_time_us
from scrollintel.audit.errors import AnchorError

if TYPE_CHECKING:
    from collections.abc import Mapping

    import psycopg
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from scrollintel.audit.signing import SigningKey

log = logging.getLogger(__name__)

LOG_ID = "scrollintel-audit"
VERSION = 1
NAME_PREFIX = "tree-head-"


@dataclass(frozen=True)
class TreeHead:
    """A signed statement of the ledger's size and Merkle root at a moment."""

    tree_size: int
    root_hash: bytes
    timestamp: str
    key_id: str
    public_key: bytes
    signature: bytes

    @staticmethod
    def payload(tree_size: int, root_hash: bytes, timestamp: str) -> bytes:
        """The exact bytes that are signed."""
        return canonical_json(
            {
                "log": LOG_ID,
                "root_hash": root_hash.hex(),
                "timestamp": timestamp,
                "tree_size": tree_size,
                "version": VERSION,
            }
        ).encode()

    @classmethod
    def sign(cls, tree_size: int, root_hash: bytes, key: SigningKey, moment: datetime | None = None) -> TreeHead:
        """A new head signed with ``key``."""
        timestamp = iso_time(to_time_us(moment or datetime.now(UTC)))
        signature = key.sign(cls.payload(tree_size, root_hash, timestamp))
        return cls(tree_size, root_hash, timestamp, key.key_id, key.public_raw, signature)

    def signed_at(self) -> datetime:
        """When the head was signed."""
        return parse_iso_time(self.timestamp)

    def as_dict(self) -> dict[str, Any]:
        """The document as a dict (hashes hex, key and signature base64)."""
        return {
            "key_id": self.key_id,
            "log": LOG_ID,
            "public_key": base64.b64encode(self.public_key).decode(),
            "root_hash": self.root_hash.hex(),
            "signature": base64.b64encode(self.signature).decode(),
            "timestamp": self.timestamp,
            "tree_size": self.tree_size,
            "version": VERSION,
        }

    def to_document(self) -> str:
        """The canonical JSON text written to the store."""
        return canonical_json(self.as_dict())

    def object_name(self) -> str:
        """``tree-head-<UTC time>-<size>.json``: newest sorts last."""
        compact = self.timestamp.replace("-", "").replace(":", "")
        return f"{NAME_PREFIX}{compact}-{self.tree_size:012d}.json"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "tree head") -> TreeHead:
        """Parse a head document; raises AnchorError naming ``source`` and the bad field."""
        try:
            if data.get("log") != LOG_ID or data.get("version") != VERSION:
                raise AnchorError(f"{source}: not a {LOG_ID} v{VERSION} tree head")
            size = data["tree_size"]
            if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                raise AnchorError(f"{source}: tree_size must be a non-negative integer")
            root = bytes.fromhex(data["root_hash"])
            head = cls(
                tree_size=size,
                root_hash=root,
                timestamp=str(data["timestamp"]),
                key_id=str(data["key_id"]),
                public_key=base64.b64decode(data["public_key"], validate=True),
                signature=base64.b64decode(data["signature"], validate=True),
            )
            head.signed_at()
        except (KeyError, TypeError, ValueError, binascii.Error) as err:
            raise AnchorError(f"{source}: malformed tree head ({type(err).__name__}: {err})") from err
        if len(root) != 32:
            raise AnchorError(f"{source}: root_hash must be 32 bytes")
        return head

    @classmethod
    def from_document(cls, text: str | bytes, source: str = "tree head") -> TreeHead:
        """Parse a head document's JSON text; raises AnchorError naming ``source``."""
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise AnchorError(f"{source}: not JSON ({err})") from err
        if not isinstance(data, dict):
            raise AnchorError(f"{source}: expected a JSON object")
        return cls.from_dict(data, source)

    def verify_signature(self, trusted: Mapping[str, Ed25519PublicKey]) -> str | None:
        """None when the head is signed by a trusted key, else why not."""
        from cryptography.exceptions import InvalidSignature

        public = trusted.get(self.key_id)
        if public is None:
            return f"signed by key {self.key_id}, which is not a trusted key"
        try:
            public.verify(self.signature, self.payload(self.tree_size, self.root_hash, self.timestamp))
        except InvalidSignature:
            return f"signature of key {self.key_id} does not verify"
        return None


# -- stores ----------------------------------------------------------------------------------


class AnchorStore(Protocol):
    """Where tree heads are kept, outside the database."""

    def put(self, head: TreeHead) -> str:
        """Store ``head`` (never overwriting); return its location."""
        ...

    def latest(self) -> TreeHead | None:
        """The newest stored head, or None."""
        ...

    def describe(self) -> str:
        """Human-readable location of the store."""
        ...


class LocalAnchorStore:
    """A folder: each head in its own read-only file, created exclusively and fsync'ed."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def describe(self) -> str:
        return str(self.root)

    def put(self, head: TreeHead) -> str:
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / head.object_name()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError as err:
            raise AnchorError(f"tree head {path} already exists; heads are never overwritten") from err
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(head.to_document())
            handle.flush()
            os.fsync(handle.fileno())
        path.chmod(0o444)
        dir_fd = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return path.as_uri()

    def names(self) -> list[str]:
        """File names of the stored heads, oldest first."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.glob(f"{NAME_PREFIX}*.json"))

    def latest(self) -> TreeHead | None:
        names = self.names()
        if not names:
            return None
        path = self.root / names[-1]
        return TreeHead.from_document(path.read_bytes(), str(path))


class S3AnchorStore:
    """An S3 bucket with Object Lock: every head is locked in COMPLIANCE mode for ``retention_days``."""

    def __init__(self, client: Any, bucket: str, prefix: str, retention_days: int) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.retention_days = retention_days
        self._lock_checked = False

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}/"

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def check_object_lock(self) -> None:
        """Refuse a bucket without Object Lock: its heads could be deleted or overwritten."""
        from botocore.exceptions import ClientError

        try:
            lock = self.client.get_object_lock_configuration(Bucket=self.bucket)
        except ClientError as err:
            raise AnchorError(
                f"s3://{self.bucket} has no Object Lock configuration ({err.response.get('Error', {}).get('Code')}); "
                "create the bucket with Object Lock enabled"
            ) from err
        if lock.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") != "Enabled":
            raise AnchorError(f"s3://{self.bucket}: Object Lock is not enabled")
        self._lock_checked = True

    def put(self, head: TreeHead) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        if not self._lock_checked:
            self.check_object_lock()
        key = self._key(head.object_name())
        retain_until = datetime.now(UTC) + timedelta(days=self.retention_days)
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=head.to_document().encode(),
                ContentType="application/json",
                ObjectLockMode="COMPLIANCE",
                ObjectLockRetainUntilDate=retain_until,
                ChecksumAlgorithm="SHA256",
                IfNoneMatch="*",
            )
        except (BotoCoreError, ClientError) as err:
            raise AnchorError(f"could not write tree head to s3://{self.bucket}/{key}: {err}") from err
        return f"s3://{self.bucket}/{key}"

    def latest(self) -> TreeHead | None:
        from botocore.exceptions import BotoCoreError, ClientError

        prefix = self._key(NAME_PREFIX)
        newest: str | None = None
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    if newest is None or item["Key"] > newest:
                        newest = item["Key"]
            if newest is None:
                return None
            body = self.client.get_object(Bucket=self.bucket, Key=newest)["Body"].read()
        except (BotoCoreError, ClientError) as err:
            raise AnchorError(f"could not read tree heads from s3://{self.bucket}/{prefix}: {err}") from err
        return TreeHead.from_document(body, f"s3://{self.bucket}/{newest}")


def _s3_client() -> Any:
    conn_id = settings.aws_conn_id()
    if settings.airflow_connection(conn_id) is not None:
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        return S3Hook(aws_conn_id=conn_id).get_conn()
    import boto3

    return boto3.client("s3", endpoint_url=settings.s3_endpoint_url())


def default_store() -> AnchorStore:
    """S3 with Object Lock when a bucket is configured, else the local folder."""
    bucket = settings.anchor_bucket()
    if bucket:
        return S3AnchorStore(_s3_client(), bucket, settings.anchor_prefix(), settings.retention_days())
    return LocalAnchorStore(settings.local_anchor_dir())


# -- observers -------------------------------------------------------------------------------


def _slack_token() -> str | None:
    token = os.environ.get(settings.ENV_SLACK_TOKEN)
    if token:
        return token
    conn = settings.airflow_connection(settings.slack_conn_id())
    return conn.password if conn is not None and conn.password else None


def post_to_slack(head: TreeHead, location: str, *, channel: str | None = None, token: str | None = None) -> bool:
    """Post the head to Slack (observer: returns False and logs a warning on any failure)."""
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackClientError

    channel = channel or settings.slack_channel()
    if not channel:
        return False
    token = token or _slack_token()
    if not token:
        log.warning("audit tree head not posted to Slack: no token (connection %r)", settings.slack_conn_id())
        return False
    text = (
        f"Audit ledger tree head: size {head.tree_size}, root {head.root_hash.hex()}, "
        f"signed {head.timestamp} by key {head.key_id}; stored at {location}"
    )
    client = WebClient(token=token, base_url=settings.slack_base_url(), timeout=10)
    try:
        client.chat_postMessage(channel=channel, text=text)
    except (SlackClientError, OSError) as err:
        log.warning("audit tree head not posted to Slack: %s", type(err).__name__)
        return False
    return True


# -- anchor ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnchorResult:
    """A written tree head, where it went and whether Slack got it."""

    head: TreeHead
    location: str
    posted: bool


def _index_anchor(url: str, head: TreeHead, location: str) -> None:
    """Add the head to ``governance.audit_anchor`` (observer: a failure is logged, never raised)."""
    import psycopg

    from scrollintel.audit import storage

    try:
        with storage.connection(url) as conn, conn.transaction():
            # Through the ledger's writer function: the runtime role may not INSERT the table itself.
            conn.execute("SELECT governance.audit_add_anchor(%s, %s)", (head.to_document(), location))
    except psycopg.Error as err:
        log.warning("tree head stored at %s but not indexed in the database: %s", location, type(err).__name__)


#: Advisory lock (session level) serialising anchorers on one ledger: the anchorer process, the
#: hourly DAG and the CLI. Without it two of them could interleave and store a smaller head
#: after a larger one, which would make the newest head in the store understate the ledger.
ANCHOR_LOCK_KEY = 0x5C0A0D17_0002


def anchor(
    url: str | None = None,
    *,
    store: AnchorStore | None = None,
    key: SigningKey | None = None,
    notify: bool = True,
    moment: datetime | None = None,
) -> AnchorResult:
    """Sign the ledger's current tree head and write it to the anchor store.

    Refuses (AnchorError) when the ledger no longer extends the newest stored head: that is
    truncation or a rewrite, and ``verify`` says where.
    """
    result = _anchor(url, store=store, key=key, notify=notify, moment=moment, only_if_grown=False)
    assert result is not None  # only_if_grown=False always signs
    return result


def anchor_if_grown(
    url: str | None = None,
    *,
    store: AnchorStore | None = None,
    key: SigningKey | None = None,
    notify: bool = True,
) -> AnchorResult | None:
    """Sign a head only when the ledger has entries the newest stored head does not cover.

    Returns None when there is nothing new (or the ledger is empty). Refuses like
    :func:`anchor` when the ledger no longer extends the newest stored head.
    """
    return _anchor(url, store=store, key=key, notify=notify, moment=None, only_if_grown=True)


def _anchor(
    url: str | None,
    *,
    store: AnchorStore | None,
    key: SigningKey | None,
    notify: bool,
    moment: datetime | None,
    only_if_grown: bool,
) -> AnchorResult | None:
    import psycopg

    from scrollintel.audit import storage
    from scrollintel.audit.signing import load_signing_key

    url = url or settings.ledger_url()
    store = store or default_store()
    key = key or load_signing_key()
    with storage.connection(url) as conn:
        # A session lock, taken before the snapshot the head is computed from: a REPEATABLE READ
        # snapshot taken while waiting would miss what the previous holder just anchored.
        conn.execute("SELECT pg_advisory_lock(%s)", (ANCHOR_LOCK_KEY,))
        conn.commit()
        try:
            made = _sign_under_lock(conn, url, store, key, moment, only_if_grown=only_if_grown)
        finally:
            if not conn.closed:
                try:
                    conn.execute("SELECT pg_advisory_unlock(%s)", (ANCHOR_LOCK_KEY,))
                    conn.commit()
                except psycopg.OperationalError:
                    log.warning("could not release the anchor lock; it ends with the connection")
    if made is None:
        return None
    head, location = made
    posted = post_to_slack(head, location) if notify else False
    return AnchorResult(head=head, location=location, posted=posted)


def _sign_under_lock(
    conn: psycopg.Connection,
    url: str,
    store: AnchorStore,
    key: SigningKey,
    moment: datetime | None,
    *,
    only_if_grown: bool,
) -> tuple[TreeHead, str] | None:
    """Check the ledger still extends the newest head, then sign and store a new one (None: nothing new)."""
    from scrollintel.audit import storage
    from scrollintel.audit.signing import trusted_public_keys

    previous = store.latest()
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        size = storage.ledger_size(conn)
        root = storage.root_at(conn, size)
        if previous is not None:
            problem = previous.verify_signature(trusted_public_keys(key))
            if problem:
                raise AnchorError(f"newest tree head in {store.describe()} is not trusted: {problem}")
            if previous.tree_size > size:
                raise AnchorError(
                    f"ledger has {size} entries but was anchored at {previous.tree_size} on {previous.timestamp}: "
                    "truncated; run `scrollintel audit verify`"
                )
            if storage.root_at(conn, previous.tree_size) != previous.root_hash:
                raise AnchorError(
                    f"ledger no longer matches the tree head of size {previous.tree_size} signed {previous.timestamp}: "
                    "rewritten; run `scrollintel audit verify`"
                )
    if only_if_grown and size == (previous.tree_size if previous is not None else 0):
        return None
    when = moment or datetime.now(UTC)
    if previous is not None and moment is None and when <= previous.signed_at():
        # Object names sort by time: a clock step back must not sort a new head before an old one.
        when = previous.signed_at() + timedelta(microseconds=1)
    head = TreeHead.sign(size, root, key, when)
    location = store.put(head)
    log.info("anchored audit ledger at size %d (root %s) to %s", size, root.hex()[:16], location)
    _index_anchor(url, head, location)
    return head, location
