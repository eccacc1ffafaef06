"""The one list of platforms pingyi knows, and the only module-level mutable state in pingyi.

A platform is enabled by its line in ``_BUILT_IN`` below; everything else (the CLI's options,
the API's source kinds, the receiver, the inbox and poll jobs, ``ingest --format``) asks this
module. :func:`register` is the one way in for a plug-in (or a test) that brings its own
platform, and the built-ins go through the same checks when they load; :func:`unregister` takes
one out again.
"""

from __future__ import annotations

import threading
from importlib import import_module

from connectors.base import KIND, RESERVED_OPTIONS, Platform

# The built-in platforms, in order: the module that holds each one's ``PLATFORM``. A module is
# imported the first time its kind is asked for, or when every platform is listed: a command
# that reads one file format need not import six platforms' HTTP clients and ciphers (a tenth
# of a second of every ``pingyi ingest``).
_BUILT_IN = {
    "canonical": "connectors.files",
    "limesurvey": "connectors.limesurvey.platform",
    "standard-webhooks": "connectors.standard_webhooks.connector",
    "wenjuanxing": "connectors.wenjuanxing.platform",
    "tencent-wj": "connectors.tencent_wj.platform",
    "jinshuju": "connectors.jinshuju.platform",
}

_platforms: dict[str, Platform] = {}
_pending = dict(_BUILT_IN)  # built-ins not imported yet
# Held while a built-in loads or the list changes: the web process answers webhooks on several
# threads, and a thread that asked while another was importing the same platform found it
# neither pending nor registered ("unknown kind"). Re-entrant: a platform's module may ask the
# registry while it loads.
_lock = threading.RLock()


class UnknownKind(ValueError):
    """No registered platform has this kind; the message names the ones there are."""


def register(platform: Platform) -> Platform:
    """Add a platform. Refused: a kind already taken or badly spelt, an option ``source add``
    keeps for itself, or an option another platform declares as a flag where this one takes a
    value (or the reverse), since the command line has one ``--name`` for both."""
    with _lock:
        _load_all()
        return _add(platform)


def _add(platform: Platform) -> Platform:
    """``register`` against the platforms loaded so far (a built-in loaded on its own is checked
    against those; the rest are checked against it as they come)."""
    if not KIND.match(platform.kind):
        raise ValueError(f"platform kind {platform.kind!r}: use 2–32 lower-case letters, digits, -")
    if platform.kind in _platforms:
        raise ValueError(f"platform kind {platform.kind!r} is already registered")
    if (platform.options is None) != (platform.setup is None):
        raise ValueError(f"platform {platform.kind}: options and setup come together")
    flags = {
        spec.name: spec.type == "boolean" for other in _platforms.values()
        for spec in other.option_specs()
    }  # fmt: skip
    for spec in platform.option_specs():
        if spec.name in RESERVED_OPTIONS:
            raise ValueError(f"platform {platform.kind}: option {spec.name!r} is reserved")
        if flags.get(spec.name, spec.type == "boolean") != (spec.type == "boolean"):
            raise ValueError(
                f"platform {platform.kind}: option {spec.name!r} is a flag in one platform and "
                "takes a value in another"
            )
    _platforms[platform.kind] = platform
    return platform


def _load(kind: str) -> Platform | None:
    """The platform of ``kind``, importing it if it is a built-in not loaded yet. A built-in
    leaves the pending list only once it is registered, and under the lock, so no thread sees
    it in neither."""
    if kind not in _pending:  # read first: a built-in is registered before it leaves it
        return _platforms.get(kind)
    with _lock:
        module = _pending.get(kind)
        if module is not None:
            loaded: Platform = import_module(module).PLATFORM
            if loaded.kind != kind:
                raise ValueError(f"{module}: its platform is {loaded.kind!r}, listed as {kind!r}")
            _add(loaded)
            del _pending[kind]
        return _platforms.get(kind)


def _load_all() -> None:
    with _lock:
        for kind in list(_pending):
            _load(kind)


def unregister(kind: str) -> None:
    """Take a platform out (a test's or a plug-in's); unknown kinds are ignored."""
    with _lock:
        _pending.pop(kind, None)
        _platforms.pop(kind, None)


def platforms() -> list[Platform]:
    """Every registered platform: the built-ins in their order, then the others as registered."""
    with _lock:
        _load_all()
        found = list(_platforms.values())
    order = list(_BUILT_IN)
    return sorted(found, key=lambda p: order.index(p.kind) if p.kind in order else len(order))


def platform(kind: str) -> Platform:
    """The platform of a kind; an unknown kind is refused with the known ones."""
    found = _load(kind)
    if found is None:
        known = ", ".join(p.kind for p in platforms())
        raise UnknownKind(f"unknown kind {kind!r} (known: {known})")
    return found


def source_kinds() -> list[str]:
    """Kinds a source can be (``pingyi source add --kind``)."""
    return [p.kind for p in platforms() if p.setup is not None]


def polled_kinds() -> list[str]:
    """Kinds whose sources are polled (by ``pingyi poll`` and the scheduler)."""
    return [p.kind for p in platforms() if p.polling is not None]


def export_formats() -> list[str]:
    """Formats ``pingyi ingest --format`` reads."""
    return [p.kind for p in platforms() if p.export is not None]


def export_reader(fmt: str) -> Platform:
    """The platform that reads files of format ``fmt``; refused with the known formats."""
    found = _load(fmt)
    if found is None or found.export is None:
        raise UnknownKind(f"unknown format {fmt!r} (known: {', '.join(export_formats())})")
    return found
