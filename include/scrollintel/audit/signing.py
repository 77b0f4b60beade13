"""The Ed25519 key that signs tree heads, and the public keys verification trusts.

Where the private key comes from, first match wins:

1. ``SCROLLINTEL_AUDIT_SIGNING_KEY`` (outside Airflow: CLI, scripts);
2. the Airflow connection ``audit_signing``: its *password* holds the key (inside tasks, or
   whenever ``AIRFLOW_CONN_AUDIT_SIGNING`` is set);
3. for local runs only, a key generated on first use in ``<state>/audit/signing-key.pem``
   (mode 0600, in the git-ignored state folder). A production deployment sets 1 or 2; the key
   id in every tree head tells which key signed it.

A key is either base64 of the raw 32-byte private key or a PEM (PKCS#8) private key. Create one
with ``python -c "import base64,os; print(base64.b64encode(os.urandom(32)).decode())"``.

Verification trusts the current key's public key plus any listed, base64 raw, in
``SCROLLINTEL_AUDIT_TRUSTED_KEYS`` (old keys after a rotation).
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
from dataclasses import dataclass
from hashlib import sha256
from typing import TYPE_CHECKING

from scrollintel.audit import settings
from scrollintel.audit.errors import SigningKeyError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

log = logging.getLogger(__name__)


def key_id(public_raw: bytes) -> str:
    """Short id of a public key: the first 16 hex digits of its SHA-256."""
    return sha256(public_raw).hexdigest()[:16]


def public_raw(public: Ed25519PublicKey) -> bytes:
    """The raw 32 bytes of a public key."""
    from cryptography.hazmat.primitives import serialization

    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass(frozen=True)
class SigningKey:
    """A private key and where it came from (``source`` never contains the key)."""

    private: Ed25519PrivateKey
    source: str

    @property
    def public(self) -> Ed25519PublicKey:
        """The public half."""
        return self.private.public_key()

    @property
    def public_raw(self) -> bytes:
        """The public key's raw 32 bytes."""
        return public_raw(self.public)

    @property
    def key_id(self) -> str:
        """Short id of the public key (see :func:`key_id`)."""
        return key_id(self.public_raw)

    def sign(self, message: bytes) -> bytes:
        """Ed25519 signature of ``message``."""
        return self.private.sign(message)


def parse_private_key(text: str, source: str) -> Ed25519PrivateKey:
    """An Ed25519 private key from base64 raw bytes or PEM; the error names ``source``, never the key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    value = text.strip()
    if value.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(value.encode(), password=None)
        except (ValueError, TypeError) as err:
            raise SigningKeyError(f"{source}: not a readable unencrypted PEM private key") from err
        if not isinstance(key, Ed25519PrivateKey):
            raise SigningKeyError(f"{source}: PEM key is {type(key).__name__}, expected an Ed25519 key")
        return key
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as err:
        raise SigningKeyError(f"{source}: expected base64 of a raw 32-byte Ed25519 key or a PEM key") from err
    if len(raw) != 32:
        raise SigningKeyError(f"{source}: base64 key decodes to {len(raw)} bytes, expected 32")
    return Ed25519PrivateKey.from_private_bytes(raw)


def parse_public_key(text: str, source: str) -> Ed25519PublicKey:
    """An Ed25519 public key from base64 of its raw 32 bytes."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as err:
        raise SigningKeyError(f"{source}: public key is not base64") from err
    if len(raw) != 32:
        raise SigningKeyError(f"{source}: public key decodes to {len(raw)} bytes, expected 32")
    return Ed25519PublicKey.from_public_bytes(raw)


def _local_key(generate: bool) -> SigningKey | None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    path = settings.local_key_path()
    if not path.exists() and not generate:
        return None
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process generated it first: use theirs
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
                handle.flush()
                os.fsync(handle.fileno())
            log.warning(
                "generated a local development signing key at %s; set the Airflow connection %r or %s in production",
                path,
                settings.SIGNING_CONN_ID,
                settings.ENV_SIGNING_KEY,
            )
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)
    return SigningKey(parse_private_key(path.read_text(encoding="utf-8"), str(path)), f"local key file {path}")


def load_signing_key() -> SigningKey:
    """The key that signs tree heads (see the module docstring for where it is looked for)."""
    key = _configured_key(generate=True)
    assert key is not None
    return key


def configured_signing_key() -> SigningKey | None:
    """The configured signing key, or None when there is none (never generates one)."""
    return _configured_key(generate=False)


def _configured_key(*, generate: bool) -> SigningKey | None:
    from_env = os.environ.get(settings.ENV_SIGNING_KEY)
    if from_env:
        source = f"environment variable {settings.ENV_SIGNING_KEY}"
        return SigningKey(parse_private_key(from_env, source), source)
    conn = settings.airflow_connection(settings.SIGNING_CONN_ID)
    if conn is not None:
        source = f"Airflow connection {settings.SIGNING_CONN_ID!r}"
        if not conn.password:
            raise SigningKeyError(f"{source} has no password; put the base64 or PEM private key there")
        return SigningKey(parse_private_key(conn.password, source), source)
    return _local_key(generate)


def trusted_public_keys(signing: SigningKey | None = None) -> dict[str, Ed25519PublicKey]:
    """``key_id -> public key`` that tree heads may be signed with.

    The configured signing key's public half (never generating one: a verifier needs no private
    key) plus ``SCROLLINTEL_AUDIT_TRUSTED_KEYS``. Raises SigningKeyError when there is none.
    """
    current = signing or _configured_key(generate=False)
    trusted = {current.key_id: current.public} if current is not None else {}
    for number, item in enumerate(filter(None, (os.environ.get(settings.ENV_TRUSTED_KEYS) or "").split(","))):
        public = parse_public_key(item, f"{settings.ENV_TRUSTED_KEYS} item {number + 1}")
        trusted[key_id(public_raw(public))] = public
    if not trusted:
        raise SigningKeyError(
            f"no trusted public key to check tree heads with: set {settings.ENV_TRUSTED_KEYS} (base64 raw public key), "
            f"{settings.ENV_SIGNING_KEY}, or the Airflow connection {settings.SIGNING_CONN_ID!r}"
        )
    return trusted
