"""Alembic environment: migrations run on the connection pingyi hands in (never a URL in an ini)."""

from __future__ import annotations

from alembic import context

from service.models.base import Base, UTCDateTime


def render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    """Migrations name plain SQLAlchemy types, never our own (they must not import the app)."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached when someone runs alembic by hand
    raise RuntimeError("run migrations through `pingyi init`, which passes a connection")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    render_item=render_item,
)
with context.begin_transaction():
    context.run_migrations()
