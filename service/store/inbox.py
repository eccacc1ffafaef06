"""Writing a webhook delivery to the inbox: the one database write on the receiver's hot path.

On PostgreSQL each serving thread keeps one dedicated driver connection in autocommit mode with
the INSERT prepared once, and runs it through libpq directly (``PGconn.exec_prepared``, which
releases the GIL while it waits): one round trip per delivery and none of the ORM's, nor the
driver cursor's, per-statement Python. At a few thousand deliveries a second on two cores that
Python was a large part of the cost (benchmarks/RESULTS.md, intake against bare Flask). Group
commit across threads was tried and measured no faster here. Elsewhere (SQLite) SQLAlchemy Core
does it. Either way the row is committed before the caller answers.
"""

from __future__ import annotations

import contextlib
import json
import threading

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.models.inbox import InboxDelivery
from service.models.sources import Source
from service.store.audit import append_audit
from service.store.engine import StoreError, as_utc, utcnow


class DatabaseUnavailable(RuntimeError):
    """The database could not take the delivery; the sender should retry (HTTP 503)."""


_PG_INSERT = (
    b"INSERT INTO inbox (source, delivery_id, received_at, body, headers, status, attempts) "
    b"VALUES ($1, $2, $3::timestamptz, $4::bytea, $5::json, 'pending', 0) "
    b"ON CONFLICT (source, delivery_id) DO NOTHING"
)
_PG_STATEMENT = b"pingyi_inbox_insert"
# Parameters go as text, except the body: binary, so its bytes are sent as they are.
_PG_FORMATS = (0, 0, 0, 1, 0)


class InboxWriter:
    """Stores deliveries; one per web process (held by the app's Context, not a global)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # One connection per serving thread (gunicorn's gthread workers run several).
        self._local = threading.local()

    def store(self, source: str, delivery_id: str, body: bytes, headers: dict[str, str]) -> bool:
        """Insert the delivery; False when (source, delivery id) is already there (a duplicate).

        ValueError when the delivery id holds a NUL character or a lone surrogate, which no
        text column takes (libpq would cut the id at the NUL): the delivery is malformed.
        """
        if "\x00" in delivery_id:
            raise ValueError("the delivery id holds a NUL character")
        try:
            delivery_id.encode()
        except UnicodeEncodeError:
            raise ValueError("the delivery id holds a lone surrogate") from None
        if self.engine.dialect.name != "postgresql":
            return self._store_core(source, delivery_id, body, headers)
        row = [
            source.encode(),
            delivery_id.encode(),
            utcnow().isoformat().encode(),
            body,
            json.dumps(headers).encode(),
        ]
        # A connection may have died in an earlier outage: one retry on a fresh connection
        # before answering 503, so the first delivery after a recovery is not refused.
        for attempt in (1, 2):
            try:
                return self._insert(row)
            except DatabaseUnavailable:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _connect(self):
        import psycopg
        from psycopg import pq

        url = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        try:
            conn = psycopg.connect(url, autocommit=True, connect_timeout=5)
        except psycopg.Error as exc:
            raise DatabaseUnavailable(exc.__class__.__name__) from None
        prepared = conn.pgconn.prepare(_PG_STATEMENT, _PG_INSERT)
        if prepared.status != pq.ExecStatus.COMMAND_OK:
            conn.close()
            raise DatabaseUnavailable("the inbox INSERT could not be prepared") from None
        return conn

    def _insert(self, row: list[bytes]) -> bool:
        from psycopg import errors, pq

        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            conn = self._local.conn = self._connect()
        try:
            result = conn.pgconn.exec_prepared(_PG_STATEMENT, row, _PG_FORMATS)
        except (errors.OperationalError, errors.InterfaceError) as exc:
            self.close()
            raise DatabaseUnavailable(exc.__class__.__name__) from None
        if result.status == pq.ExecStatus.COMMAND_OK:
            return result.command_tuples == 1
        if conn.pgconn.status != pq.ConnStatus.OK:  # the server went away mid-statement
            self.close()
            raise DatabaseUnavailable("the connection to the database was lost") from None
        # A statement error on a live connection (not an outage): the driver's exception, so
        # the receiver answers 500 and logs it, as for any other unexpected failure. The
        # exception's text is the server's message, which names no parameter.
        raise errors.error_from_result(result, encoding=conn.info.encoding)

    def _store_core(
        self, source: str, delivery_id: str, body: bytes, headers: dict[str, str]
    ) -> bool:
        try:
            with self.engine.begin() as conn:
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

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()
            self._local.conn = None


def pending_deliveries(session: Session, source: str, limit: int) -> list[InboxDelivery]:
    """The source's oldest pending deliveries. On PostgreSQL the rows are locked and locked rows
    skipped (``FOR UPDATE SKIP LOCKED``), so two workers can drain one source side by side."""
    query = (
        select(InboxDelivery)
        .where(InboxDelivery.source == source, InboxDelivery.status == "pending")
        .order_by(InboxDelivery.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def get_delivery(session: Session, delivery_id: int) -> InboxDelivery | None:
    return session.get(InboxDelivery, delivery_id)


def has_pending(engine: Engine, source: str) -> bool:
    """Whether the source has a pending delivery (one short read, outside any transaction)."""
    with engine.connect() as conn:
        found = conn.execute(
            select(InboxDelivery.id)
            .where(InboxDelivery.source == source, InboxDelivery.status == "pending")
            .limit(1)
        ).first()
    return found is not None


def mark_done(rows: list[InboxDelivery]) -> None:
    """The deliveries became ballots (or rejected ballots) in this transaction."""
    now = utcnow()
    for row in rows:
        row.status, row.processed_at, row.error = "done", now, None


def record_failure(session: Session, delivery_id: int, error: str, max_attempts: int) -> bool:
    """One more failed attempt, with its error; parked as failed (kept) after ``max_attempts``.
    True when this parked it. ``error`` must describe, never quote: it is shown to staff."""
    row = session.get(InboxDelivery, delivery_id)
    row.attempts += 1
    row.error = error
    if row.attempts >= max_attempts:
        row.status = "failed"
        return True
    return False


def list_deliveries(
    session: Session, status: str | None = None, source: str | None = None, limit: int = 100
) -> list[dict]:
    """Deliveries for staff (``pingyi inbox list``), newest first: where they came from, when,
    how often they were tried and the error. Never the body or its headers: a body is a ballot,
    a seat's token and its answers."""
    query = select(InboxDelivery, Source.round_id).outerjoin(
        Source, Source.name == InboxDelivery.source
    )
    if status is not None:
        query = query.where(InboxDelivery.status == status)
    if source is not None:
        query = query.where(InboxDelivery.source == source)
    rows = session.execute(query.order_by(InboxDelivery.id.desc()).limit(limit)).all()
    return [
        {
            "id": d.id,
            "source": d.source,
            "round": round_id,
            "delivery_id": d.delivery_id,
            "received_at": as_utc(d.received_at).isoformat(),
            "status": d.status,
            "attempts": d.attempts,
            "error": d.error,
        }
        for d, round_id in rows
    ]


def retry_failed(
    session: Session, ids: list[int] | None = None, source: str | None = None
) -> list[tuple[int, str]]:
    """Put failed deliveries back in the inbox, pending with their attempts reset (``ids``, or
    every failed one, of ``source`` if given); returns (id, source) of those moved, and records
    the retry in the audit log. A delivery that is not failed is refused by id."""
    query = select(InboxDelivery).where(InboxDelivery.status == "failed")
    if ids is not None:
        found = {
            d.id: d for d in session.scalars(select(InboxDelivery).where(InboxDelivery.id.in_(ids)))
        }
        for delivery_id in ids:
            row = found.get(delivery_id)
            if row is None:
                raise StoreError(f"inbox delivery {delivery_id} does not exist")
            if row.status != "failed":
                raise StoreError(f"inbox delivery {delivery_id} is {row.status}, not failed")
        query = query.where(InboxDelivery.id.in_(ids))
    if source is not None:
        query = query.where(InboxDelivery.source == source)
    moved = []
    for row in session.scalars(query.order_by(InboxDelivery.id)):
        row.status, row.attempts = "pending", 0
        moved.append((row.id, row.source))
    if moved:
        append_audit(session, "inbox.retry", {"deliveries": [i for i, _ in moved]})
    return moved
