"""Connectors: everything platform-specific. Nothing outside this package knows a platform's format.

The registry is one explicit list; a connector is enabled by adding its module here.
"""

from __future__ import annotations

from connectors import files

REGISTRY = {"file": files}
