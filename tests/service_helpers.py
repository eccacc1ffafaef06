"""The old import path of the service tests' helpers, which now live in ``tests/harness/`` (one
module per noun). Kept for the connector tests that still import from here; new tests import
from ``tests.harness.*`` directly."""

from __future__ import annotations

from tests.harness.deliveries import ballot, body_of, new_secret, signed

__all__ = ["ballot", "body_of", "new_secret", "signed"]
