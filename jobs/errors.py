"""Errors described for logs and the database without their data.

A database driver's message can quote the row it refused ("Failing row contains (…)"), with
seat tokens and answers in it; so what a job logs, stores or hands to RQ is this description,
never ``str(exc)``.
"""

from __future__ import annotations

import traceback
from pathlib import Path

from connectors.base import ConnectorError

_ROOT = Path(__file__).resolve().parents[1]


def describe_error(exc: BaseException) -> str:
    """What went wrong, in words that cannot carry a token or an answer: the exception's class,
    for a database error its SQLSTATE and the constraint, table and column it names, and where
    in pingyi it was raised.

    A connector's error keeps its message (cut to 300 characters): by the connector contract
    (``connectors.base.ConnectorError``) it names what failed and where, never a secret, a token
    or a payload, and it is what tells staff why a delivery or poll failed ("金数据 refused the
    API key and secret", a configuration that cannot work), which the class name alone does not."""
    if isinstance(exc, ConnectorError):
        return f"{exc.__class__.__name__}: {str(exc)[:300]}"
    words = [exc.__class__.__name__]
    driver = getattr(exc, "orig", None) or exc  # SQLAlchemy wraps the driver's exception
    if driver is not exc:
        words.append(f"({driver.__class__.__name__})")
    sqlstate = getattr(driver, "sqlstate", None)
    if isinstance(sqlstate, str):
        words.append(f"SQLSTATE {sqlstate}")
    diag = getattr(driver, "diag", None)
    for label in ("constraint", "table", "column"):
        name = getattr(diag, f"{label}_name", None)
        if isinstance(name, str) and name:
            words.append(f"{label} {name}")
    where = _raised_at(exc)
    if where:
        words.append(f"at {where}")
    return " ".join(words)


def _raised_at(exc: BaseException) -> str | None:
    """The innermost line of pingyi's own code the exception went through (file:line)."""
    found = None
    for frame in traceback.extract_tb(exc.__traceback__):
        path = Path(frame.filename)
        if path.is_relative_to(_ROOT) and ".venv" not in path.parts:
            found = f"{path.relative_to(_ROOT)}:{frame.lineno}"
    return found
