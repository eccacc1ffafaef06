"""The inbox writer, the receiver's one database write (service/store/inbox.py): what it stores
is what arrived, a duplicate is told apart, an id no text column takes is refused instead of cut,
and a connection lost between deliveries costs no delivery. On SQLite and PostgreSQL (where it
runs through libpq directly)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from service.models.inbox import InboxDelivery
from service.store.engine import make_engine, session_scope
from service.store.inbox import InboxWriter

# Not UTF-8 and holding a NUL: the body is kept as bytes, whatever they are.
BODY = b'{"id": "r1", "answers": {"U1": "\xe6\xbb\xa1\xe6\x84\x8f"}}\x00\xff'


def test_a_delivery_is_stored_as_it_arrived_and_a_duplicate_is_told_apart(
    migrated_db_url: str,
) -> None:
    engine = make_engine(migrated_db_url)
    writer = InboxWriter(engine)
    before = datetime.now(UTC)
    assert writer.store("sw", "msg_评议_1", BODY, {"user-agent": "平台/1.0"}) is True
    assert writer.store("sw", "msg_评议_1", b"{}", {}) is False  # same id: a duplicate
    assert writer.store("other", "msg_评议_1", b"{}", {}) is True  # same id, another source
    writer.close()
    with session_scope(engine) as session:
        row = session.scalars(select(InboxDelivery).where(InboxDelivery.source == "sw")).one()
        assert row.delivery_id == "msg_评议_1"
        assert bytes(row.body) == BODY
        assert row.headers == {"user-agent": "平台/1.0"}
        assert row.status == "pending" and row.attempts == 0
        assert before - timedelta(seconds=1) <= row.received_at <= datetime.now(UTC)
        assert session.scalar(select(InboxDelivery.id).where(InboxDelivery.source == "other"))
    engine.dispose()


@pytest.mark.parametrize(
    ("delivery_id", "reason"),
    [("msg\x00evil", "NUL character"), ("msg\ud800", "lone surrogate")],
)
def test_an_id_no_text_column_takes_is_refused_not_cut(
    migrated_db_url: str, delivery_id: str, reason: str
) -> None:
    engine = make_engine(migrated_db_url)
    writer = InboxWriter(engine)
    with pytest.raises(ValueError, match=reason):
        writer.store("sw", delivery_id, b"{}", {})
    # Cut at the NUL, "msg\x00evil" would have been stored as "msg": it was not stored at all.
    assert writer.store("sw", "msg", b"{}", {}) is True
    writer.close()
    engine.dispose()


def test_a_connection_lost_between_deliveries_costs_no_delivery(pg_url: str) -> None:
    """The server ends the writer's connection (a restart, a failover): the next delivery is
    stored on a fresh connection, with the INSERT prepared again, not answered 503."""
    engine = make_engine(pg_url)
    writer = InboxWriter(engine)
    assert writer.store("sw", "before", b"{}", {}) is True
    pid = writer._local.conn.info.backend_pid
    with engine.connect() as conn:
        assert conn.scalar(text("select pg_terminate_backend(:pid)"), {"pid": pid})
    assert writer.store("sw", "after", b"{}", {}) is True
    assert writer._local.conn.info.backend_pid != pid
    writer.close()
    with session_scope(engine) as session:
        ids = set(session.scalars(select(InboxDelivery.delivery_id)))
    assert ids == {"before", "after"}
    engine.dispose()
