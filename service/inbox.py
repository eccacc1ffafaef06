"""Writing a webhook delivery to the inbox: the one database write on the intake hot path.

On PostgreSQL the insert goes through the driver directly, as a prepared statement, in its own
short transaction: at a thousand deliveries a second the ORM's per-statement overhead is most
of the cost, and the work is a single INSERT. Elsewhere (SQLite) SQLAlchemy Core does it.
Either way the row is committed before the caller answers 202.
"""

from __future__ import annotations

import json

from sqlalchemy import Engine, insert
from sqlalchemy.exc import IntegrityError

from service.models_service import InboxDelivery
from service.store import utcnow


class DatabaseUnavailable(RuntimeError):
    """The database could not take the delivery; the sender should retry (HTTP 503)."""


_PG_INSERT = (
    "INSERT INTO inbox (source, delivery_id, received_at, body, headers, status, attempts) "
    "VALUES (%s, %s, %s, %s, %s::json, 'pending', 0) "
    "ON CONFLICT (source, delivery_id) DO NOTHING"
)


def store_delivery(
    engine: Engine, source: str, delivery_id: str, body: bytes, headers: dict[str, str]
) -> bool:
    """Insert the delivery; False when (source, delivery id) is already there (a duplicate)."""
    if engine.dialect.name != "postgresql":
        try:
            with engine.begin() as conn:
                conn.execute(
                    insert(InboxDelivery).values(
                        source=source,
                        delivery_id=delivery_id,
                        received_at=utcnow(),
                        body=body,
                        headers=headers,
                        status="pending",
                        attempts=0,
                    )
                )
        except IntegrityError:
            return False
        return True
    # A pooled connection may have died with an earlier outage (the web process does not ping
    # before use): on a connection error, try once more on a fresh connection before answering
    # 503, so the first delivery after the database is back is not refused for nothing.
    for attempt in (1, 2):
        try:
            return _insert_pg(engine, source, delivery_id, body, headers)
        except DatabaseUnavailable:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _insert_pg(
    engine: Engine, source: str, delivery_id: str, body: bytes, headers: dict[str, str]
) -> bool:
    import psycopg

    try:
        conn = engine.raw_connection()
    except Exception as exc:
        raise DatabaseUnavailable(str(exc)) from None
    driver = conn.dbapi_connection
    dead = False
    try:
        # One statement, one round trip: autocommit makes the INSERT its own transaction
        # instead of BEGIN, INSERT, COMMIT (three waits on the server).
        driver.autocommit = True
        with driver.cursor() as cur:
            cur.execute(
                _PG_INSERT,
                (source, delivery_id, utcnow(), body, json.dumps(headers)),
                prepare=True,
            )
            return cur.rowcount == 1
    except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
        dead = True
        conn.invalidate()  # a dead connection must not go back to the pool
        raise DatabaseUnavailable(str(exc)) from None
    finally:
        if not dead:
            driver.autocommit = False
        conn.close()  # back to the pool
