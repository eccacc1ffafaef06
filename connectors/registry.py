"""The one list of platforms pingyi knows, and the only module-level mutable state in pingyi.

A platform is enabled by its line in ``_BUILT_IN`` below; everything else (the CLI's options,
the API's source kinds, the receiver, the inbox and poll jobs, ``ingest --format``) asks this
module. :func:`register` is the one way in, for the built-in list and for a plug-in (or a test)
that brings its own platform; :func:`unregister` takes one out again.
"""

from __future__ import annotations

from connectors import files
from connectors.base import KIND, RESERVED_OPTIONS, Platform
from connectors.jinshuju import platform as jinshuju
from connectors.limesurvey import platform as limesurvey
from connectors.standard_webhooks import connector as standard_webhooks
from connectors.tencent_wj import platform as tencent_wj
from connectors.wenjuanxing import platform as wenjuanxing

_BUILT_IN = (
    files.PLATFORM,
    limesurvey.PLATFORM,
    standard_webhooks.PLATFORM,
    wenjuanxing.PLATFORM,
    tencent_wj.PLATFORM,
    jinshuju.PLATFORM,
)

_platforms: dict[str, Platform] = {}


class UnknownKind(ValueError):
    """No registered platform has this kind; the message names the ones there are."""


def register(platform: Platform) -> Platform:
    """Add a platform. Refused: a kind already taken or badly spelt, an option ``source add``
    keeps for itself, or an option another platform declares as a flag where this one takes a
    value (or the reverse), since the command line has one ``--name`` for both."""
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


def unregister(kind: str) -> None:
    """Take a platform out (a test's or a plug-in's); unknown kinds are ignored."""
    _platforms.pop(kind, None)


def platforms() -> list[Platform]:
    """Every registered platform, in registration order."""
    return list(_platforms.values())


def platform(kind: str) -> Platform:
    """The platform of a kind; an unknown kind is refused with the known ones."""
    found = _platforms.get(kind)
    if found is None:
        known = ", ".join(_platforms)
        raise UnknownKind(f"unknown kind {kind!r} (known: {known})")
    return found


def source_kinds() -> list[str]:
    """Kinds a source can be (``pingyi source add --kind``)."""
    return [p.kind for p in _platforms.values() if p.setup is not None]


def polled_kinds() -> list[str]:
    """Kinds whose sources are polled (by ``pingyi poll`` and the scheduler)."""
    return [p.kind for p in _platforms.values() if p.polling is not None]


def export_formats() -> list[str]:
    """Formats ``pingyi ingest --format`` reads."""
    return [p.kind for p in _platforms.values() if p.export is not None]


def export_reader(fmt: str) -> Platform:
    """The platform that reads files of format ``fmt``; refused with the known formats."""
    found = _platforms.get(fmt)
    if found is None or found.export is None:
        raise UnknownKind(f"unknown format {fmt!r} (known: {', '.join(export_formats())})")
    return found


for _platform in _BUILT_IN:
    register(_platform)
