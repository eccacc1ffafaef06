"""SQLAlchemy tables: the record of every round, ballot and decision, one module per noun.

Importing any model loads this package first, which loads every table module, so
``Base.metadata`` is complete wherever it is used (migrations, tests) and relationships named
by string always resolve.
"""

from __future__ import annotations

from service.models import (  # noqa: F401
    audit,
    ballots,
    base,
    inbox,
    reference,
    results,
    rounds,
    service,
    sources,
)
