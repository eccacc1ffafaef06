"""What a failed inbox or poll job says about a connector's error (jobs/errors.py): the connector's
own message, which by contract names no secret, token or payload, while any other exception (a
driver's, whose text may quote a ballot) is reduced to its class and where it was raised."""

from __future__ import annotations

from connectors.base import ConfigError, ConnectorError, CredentialsError
from connectors.http import HttpError
from jobs.errors import describe_error


def _raised(exc: BaseException) -> BaseException:
    try:
        raise exc
    except BaseException as caught:
        return caught


def test_a_connector_error_keeps_its_message_a_foreign_one_does_not() -> None:
    refused = _raised(CredentialsError("金数据 entries (form Xk7Pq2): 金数据 refused the API key"))
    assert describe_error(refused) == (
        "CredentialsError: 金数据 entries (form Xk7Pq2): 金数据 refused the API key"
    )
    busy = _raised(HttpError("list_answers: HTTP 503; gave up after 6 attempts", 503))
    assert describe_error(busy) == "HttpError: list_answers: HTTP 503; gave up after 6 attempts"
    assert describe_error(_raised(ConfigError("no mapping"))) == "ConfigError: no mapping"
    long = describe_error(_raised(ConnectorError("x" * 1000)))
    assert long == "ConnectorError: " + "x" * 300
    # Not a connector's: the text may hold anything (a row, a token), so only class and place.
    foreign = describe_error(_raised(ValueError("Failing row contains (tokABC123, 满意)")))
    assert "tokABC123" not in foreign and foreign.startswith("ValueError at tests/connectors/")
