"""Connectors: everything platform-specific. Nothing outside this package knows a platform's format.

The registry is one explicit list; a connector is enabled by adding its module here. A module
that a source can poll names its connector class ``CONNECTOR`` (see ``connectors/base.py``).
"""

from __future__ import annotations

from connectors import files
from connectors.limesurvey import connector as limesurvey
from connectors.standard_webhooks import connector as standard_webhooks

REGISTRY = {"file": files, "limesurvey": limesurvey, "standard-webhooks": standard_webhooks}


def source_kinds() -> list[str]:
    """The kinds a source can be (``pingyi source add --kind``): registered, pollable."""
    return [kind for kind, module in REGISTRY.items() if hasattr(module, "CONNECTOR")]


def connector_class(kind: str) -> type:
    """The connector class of a source kind; an unknown kind is refused with the known ones."""
    module = REGISTRY.get(kind)
    if module is None or not hasattr(module, "CONNECTOR"):
        raise ValueError(f"unknown source kind {kind!r} (known: {', '.join(source_kinds())})")
    return module.CONNECTOR


def secret_fields(kind: str) -> dict[str, str]:
    """Secret name -> the config field naming its environment variable, for any source kind
    (polled connectors declare ``CONNECTOR``, push-only ones ``PUSH_CONNECTOR``)."""
    module = REGISTRY[kind]
    cls = getattr(module, "CONNECTOR", None) or module.PUSH_CONNECTOR
    return dict(cls.secrets)
