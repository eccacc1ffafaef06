"""The declarative base and the one column type pingyi adds (UTC datetimes on every database)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    DateTime,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase

# Codes and ids are short identifiers chosen by the body (e.g. "FY-LAT", "P0001").
CODE = 64


class UTCDateTime(TypeDecorator):
    """Aware datetimes stored as UTC and read back aware, on SQLite as on PostgreSQL.

    SQLite keeps no zone: without this, 09:12+08:00 would come back as 09:12 UTC and a ballot
    could be judged late (or early) by eight hours.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("refusing a datetime without a time zone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base; naming conventions keep Alembic constraint names stable."""


Base.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
