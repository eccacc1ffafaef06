"""``pingyi token create|list|revoke`` and the admins' token API (issue #9 item 12): every token
expires, the list never shows a secret, a revocation is audit-logged. On SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import text, update

from service.models.service import ApiToken
from service.store.engine import make_engine, session_scope, utcnow
from tests.conftest import Cli
from tests.service.auth_setup import SAME, app_on, csrf_of, login


def _create(cli: Cli, *args: str) -> str:
    return cli("token", "create", *args).splitlines()[0]


def _rows(db_url: str, sql: str) -> list:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return [r._mapping for r in conn.execute(text(sql))]
    finally:
        engine.dispose()


def test_token_list_shows_every_token_and_never_a_secret(cli: Cli) -> None:
    admin = _create(cli, "--role", "admin", "--name", "评议办")
    viewer = _create(cli, "--role", "viewer", "--name", "ops", "--expires-in", "12h")
    old = _create(cli, "--role", "viewer", "--name", "legacy")
    lapsed = _create(cli, "--role", "viewer", "--name", "lapsed")
    engine = make_engine(cli.db)
    with session_scope(engine) as session:  # a token from before expiry existed, one expired
        session.execute(update(ApiToken).where(ApiToken.id == 3).values(expires_at=None))
        past = utcnow() - timedelta(days=1)
        session.execute(update(ApiToken).where(ApiToken.id == 4).values(expires_at=past))
    cli("token", "revoke", "2")
    listing = cli("token", "list")
    data = json.loads(cli("token", "list", "--json"))
    engine.dispose()

    secrets = [admin, viewer, old, lapsed]
    secrets += [hashlib.sha256(t.encode()).hexdigest() for t in secrets]
    for secret in secrets:
        assert secret not in listing and secret not in json.dumps(data)
        assert secret[:12] not in listing  # not even a prefix
    lines = listing.splitlines()
    assert lines[0].split() == ["id", "name", "role", "created", "last", "used", "expires", "state"]
    assert lines[1].split()[:3] == ["1", "评议办", "admin"] and lines[1].endswith("live")
    assert lines[2].split()[:3] == ["2", "ops", "viewer"] and lines[2].endswith("revoked")
    assert lines[3].split()[:3] == ["3", "legacy", "viewer"] and "never" in lines[3]
    assert lines[4].split()[:3] == ["4", "lapsed", "viewer"] and lines[4].endswith("expired")
    assert [r["state"] for r in data] == ["live", "revoked", "live", "expired"]
    assert set(data[0]) == {
        "id", "name", "role", "created_at", "last_used_at", "expires_at", "revoked_at", "state",
    }  # fmt: skip


def test_tokens_expire_by_default_or_as_told(cli: Cli) -> None:
    before = utcnow()
    _create(cli, "--role", "viewer")
    _create(cli, "--role", "viewer", "--expires-in", "2w")
    _create(cli, "--role", "viewer", "--expires", "2099-01-31")  # a date: the end of that day
    cli("token", "create", "--role", "viewer", env={"PINGYI_TOKEN_DAYS": "7"})
    rows = json.loads(cli("token", "list", "--json"))
    lifetimes = [datetime.fromisoformat(r["expires_at"]) - before for r in rows]
    assert abs(lifetimes[0] - timedelta(days=90)) < timedelta(minutes=1)
    assert abs(lifetimes[1] - timedelta(weeks=2)) < timedelta(minutes=1)
    assert datetime.fromisoformat(rows[2]["expires_at"]) == datetime(
        2099, 1, 31, 15, 59, 59, 999999, tzinfo=UTC
    )  # 23:59:59.999999 in Asia/Shanghai
    assert abs(lifetimes[3] - timedelta(days=7)) < timedelta(minutes=1)
    assert "in the past" in cli(
        "token", "create", "--role", "viewer", "--expires", "2020-01-01", ok=False
    )
    assert "not both" in cli(
        "token",
        "create",
        "--role",
        "viewer",
        "--expires",
        "2099-01-01",
        "--expires-in",
        "1d",
        ok=False,
    )
    assert "like 12h" in cli("token", "create", "--role", "viewer", "--expires-in", "1y", ok=False)


def test_token_revoke_is_audit_logged_once_and_refuses_unknown_ids(cli: Cli) -> None:
    token = _create(cli, "--role", "admin", "--name", "ops")
    assert "token 1 (admin ops) revoked" in cli("token", "revoke", "1")
    cli("token", "revoke", "1")  # again: nothing changes, nothing logged
    assert "unknown token 9" in cli("token", "revoke", "9", ok=False)
    audit = _rows(cli.db, "select action, detail from audit_log order by id")
    assert [a["action"] for a in audit] == ["token.create", "token.revoke"]
    assert token not in str(audit)


def test_admins_list_and_revoke_tokens_over_the_api(cli: Cli) -> None:
    admin = _create(cli, "--role", "admin", "--name", "评议办")
    viewer = _create(cli, "--role", "viewer", "--name", "ops")
    bearer = {"Authorization": f"Bearer {admin}"}
    with app_on(cli.db) as app:
        api = app.test_client()
        assert (
            api.get("/api/v1/tokens", headers={"Authorization": f"Bearer {viewer}"}).status_code
            == 403
        )
        listed = api.get("/api/v1/tokens", headers=bearer)
        assert listed.status_code == 200
        assert [t["name"] for t in listed.get_json()["tokens"]] == ["评议办", "ops"]
        assert admin not in listed.get_data(as_text=True) and viewer not in listed.get_data(
            as_text=True
        )
        page = app.test_client()
        login(page, viewer)
        gone = api.delete("/api/v1/tokens/2", headers=bearer)
        assert gone.status_code == 200 and gone.get_json()["state"] == "revoked"
        assert api.delete("/api/v1/tokens/2", headers=bearer).status_code == 200  # idempotent
        assert api.delete("/api/v1/tokens/99", headers=bearer).status_code == 404
        assert page.get("/").status_code == 401  # the viewer's page session ended with it
        # From the page, an admin's cookie needs the CSRF token like any other change.
        login(page, admin)
        assert page.delete("/api/v1/tokens/1", headers=SAME).status_code == 403
        csrf = {**SAME, "X-CSRF-Token": csrf_of(page)}
        assert page.delete("/api/v1/tokens/1", headers=csrf).status_code == 200
    audit = _rows(cli.db, "select actor, action from audit_log where action = 'token.revoke'")
    assert [a["actor"] for a in audit] == ["api:token 1", "api:token 1"]
