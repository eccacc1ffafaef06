"""The RemoteControl client against the fake endpoint, and the fake against the recordings."""

from __future__ import annotations

from decimal import Decimal

import pytest

from connectors.base import ConnectorError, CredentialsError
from connectors.http import HttpClient, RetryPolicy
from connectors.limesurvey.connector import LimeSurvey
from connectors.limesurvey.rpc import RemoteControl, RpcError
from connectors.mapping import Scale
from tests.fake_limesurvey import SID, FakeLimeSurvey, load_fixture

FAST = RetryPolicy(attempts=3, base_delay=0.01, read_timeout=5)


def rpc(fake: FakeLimeSurvey, password: str | None = None) -> RemoteControl:
    return RemoteControl(fake.url, fake.username, password or fake.password, HttpClient(FAST))


def test_the_fake_filters_exports_as_limesurvey_did() -> None:
    """The fake is only worth testing against if it answers like the recorded server."""
    every = [f for f in load_fixture("get-fieldmap.json")]
    with FakeLimeSurvey() as fake, rpc(fake) as client:
        for status, start, fixture in [
            ("complete", None, "export-responses-complete.json"),
            ("incomplete", None, "export-responses-incomplete.json"),
            ("all", 3, "export-responses-from-id-3.json"),
        ]:
            got = client.export(
                "export_responses", SID, "json", None, status, "code", "short", start, None, every
            )
            assert got == load_fixture(fixture)


def test_one_session_key_serves_every_call_and_is_released() -> None:
    with FakeLimeSurvey() as fake:
        with rpc(fake) as client:
            client.call("get_summary", SID, "all")
            client.call("get_fieldmap", SID)
        assert fake.calls == [
            "get_session_key",
            "get_summary",
            "get_fieldmap",
            "release_session_key",
        ]
        assert fake.sessions == set()


def test_an_expired_session_key_is_renewed_and_the_call_made_again_once() -> None:
    with FakeLimeSurvey() as fake, rpc(fake) as client:
        client.call("get_fieldmap", SID)
        fake.fail("get_summary", "expire")
        assert client.call("get_summary", SID, "all")["full_responses"] == 6
        assert fake.calls == [
            "get_session_key", "get_fieldmap", "get_summary", "get_session_key", "get_summary",
        ]  # fmt: skip
        # Expired again right after renewal: that is not an expiry any more, it is an error.
        fake.fail("get_summary", "status", "Invalid session key")
        fake.fail("get_summary", "status", "Invalid session key")
        with pytest.raises(RpcError, match="LimeSurvey get_summary: Invalid session key"):
            client.call("get_summary", SID, "all")


def test_a_status_answer_is_an_error_naming_the_call() -> None:
    with FakeLimeSurvey() as fake, rpc(fake) as client:
        fake.fail("export_responses", "status", "No permission")
        with pytest.raises(RpcError, match=r"^LimeSurvey export_responses: No permission$"):
            client.export("export_responses", SID, "json")
        with pytest.raises(RpcError, match="get_fieldmap: Error: Invalid survey ID"):
            client.call("get_fieldmap", 999999)


def test_a_refused_login_is_not_retried_and_names_no_secret() -> None:
    with FakeLimeSurvey() as fake:
        client = rpc(fake, password="wrong-password")
        with pytest.raises(CredentialsError) as refused:
            client.call("get_summary", SID)
        assert "Invalid user name or password" in str(refused.value)
        assert "wrong-password" not in str(refused.value)
        assert fake.calls == ["get_session_key"]  # three refusals would lock the account out
        client.close()
        assert fake.calls == ["get_session_key"]  # no key, nothing to release


def test_a_page_that_is_not_json_rpc_says_what_to_check() -> None:
    with FakeLimeSurvey() as fake:
        client = rpc(fake)
        fake.fail("get_session_key", "page")
        with pytest.raises(
            ConnectorError,
            match=r"not JSON-RPC \(HTTP 200, text/html\); is RemoteControl set to JSON-RPC",
        ):
            client.call("get_summary", SID)


def test_connector_polls_by_counts_then_ids_and_sweeps_hourly() -> None:
    clock = [1_000_000.0]
    with FakeLimeSurvey() as fake:
        config = {"url": fake.url, "survey": SID, "username": fake.username, "password_env": "X"}
        with LimeSurvey(config, {"password": fake.password}, policy=FAST) as setup:
            mapping, _ = setup.build_mapping("SCORES", ["U01", "U02", "U03", "U04", "U05"], ["满意"], ["总体"], Scale(factor=Decimal(10)))  # fmt: skip
        ls = LimeSurvey(
            config, {"password": fake.password}, mapping.to_json(), FAST, lambda: clock[0]
        )
        first = ls.poll(None)
        assert [r.key for r in first.records] == ["1", "3", "5"]
        assert first.cursor["max_id"] == 6 and first.cursor["pending"] == [2, 4, 6]
        assert fake.exports == [("all", 1, None)]
        fake.exports.clear()
        same = ls.poll(first.cursor)
        assert same.records == [] and same.cursor == first.cursor and fake.exports == []
        clock[0] += 3601  # an hour later the counts are not trusted alone
        swept = ls.poll(first.cursor)
        assert swept.records == [] and fake.exports == [("all", 7, None), ("complete", 2, 6)]
        ls.close()
