"""SQLAlchemy models of the audit ledger's tables in the ``governance`` schema.

Written by migrations ``0002_audit_ledger`` and ``0008_ledger_writer``. The ledger tables
(``audit_entry``, ``audit_tree_node``, ``audit_anchor``, ``audit_verification``) are append-only
and owned by the NOLOGIN role ``scrollintel_ledger``: the runtime role may only SELECT them and
writes through SECURITY DEFINER functions (``governance.audit_append``, ``audit_add_anchor``,
``audit_add_verification``), and triggers refuse UPDATE, DELETE and TRUNCATE for everyone else
too (a superuser can still bypass triggers; verification then catches the change).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, Float, Index, LargeBinary, SmallInteger, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from scrollintel.models import Base


class AuditEntry(Base):
    """One ledger entry; ``seq`` is its 0-based position and its Merkle leaf index."""

    __tablename__ = "audit_entry"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text)
    #: The canonical JSON text that was hashed (not jsonb: jsonb reorders keys).
    details: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary)
    entry_hash: Mapped[bytes] = mapped_column(LargeBinary)
    #: Idempotency key (outbox id, imported Airflow event id, caller key); not part of the hash.
    event_key: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: When the row reached the database (``recorded_at`` is when the event happened).
    appended_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        Index(None, "recorded_at"),
        Index(None, "actor", "seq"),
        Index(None, "action", "seq"),
        Index(None, "subject", "seq"),
        Index(None, "event_key", unique=True, postgresql_where=text("event_key IS NOT NULL")),
    )


class AuditTreeNode(Base):
    """Hash of the complete Merkle subtree of ``2**level`` leaves starting at ``idx * 2**level``."""

    __tablename__ = "audit_tree_node"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hash: Mapped[bytes] = mapped_column(LargeBinary)


class AuditAnchor(Base):
    """Index of the signed tree heads written to the object store (the store is authoritative)."""

    __tablename__ = "audit_anchor"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    tree_size: Mapped[int] = mapped_column(BigInteger)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary)
    signed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    key_id: Mapped[str] = mapped_column(Text)
    #: The signed tree head document exactly as written to the store.
    document: Mapped[str] = mapped_column(Text)
    location: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index(None, "tree_size"), Index(None, "signed_at"))


class AuditVerification(Base):
    """Result of one verification run (CLI, DAG or page), newest shown on the Audit page."""

    __tablename__ = "audit_verification"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    verified_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    ok: Mapped[bool] = mapped_column(Boolean)
    tree_size: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str | None] = mapped_column(Text, nullable=True)
    bad_index: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    message: Mapped[str] = mapped_column(Text)
    anchor_size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    anchored_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    duration_ms: Mapped[float] = mapped_column(Float)
    #: The signed result (migration 0008): the Audit page shows only results whose document is signed
    #: by a trusted key, and only what the document says.
    key_id: Mapped[str | None] = mapped_column(Text, nullable=True)
    document: Mapped[str | None] = mapped_column(Text, nullable=True)
    signature: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)

    __table_args__ = (Index(None, "verified_at"),)


class AuditImportCursor(Base):
    """How far an external log (Airflow's event log) has been imported into the ledger."""

    __tablename__ = "audit_import_cursor"

    source: Mapped[str] = mapped_column(Text, primary_key=True)
    last_event_id: Mapped[int] = mapped_column(BigInteger)
    last_event_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    imported_total: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
