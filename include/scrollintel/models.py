"""SQLAlchemy 2 models of the ``governance`` schema in the warehouse database.

Each capability adds its tables here (or in its own sub-package) together with an Alembic
migration in ``scrollintel/migrations/versions``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, Float, Index, MetaData, String, Text, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from scrollintel.warehouse import GOVERNANCE_SCHEMA


class Base(DeclarativeBase):
    """Declarative base bound to the governance schema."""

    metadata = MetaData(
        schema=GOVERNANCE_SCHEMA,
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        },
    )


class HealthCheck(Base):
    """One result of the ``platform_health`` DAG: can the platform reach a configured system?"""

    __tablename__ = "health_check"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(250))
    check_name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(50))
    ok: Mapped[bool] = mapped_column(Boolean)
    latency_ms: Mapped[float] = mapped_column(Float)
    detail: Mapped[str] = mapped_column(Text, default="")
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (Index(None, "check_name", "checked_at"),)
