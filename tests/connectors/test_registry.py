"""The registry loads a built-in platform when its kind is first asked for, and lists them all in
one order whatever was loaded first. Each case runs in a fresh interpreter: the test process has
long since loaded every platform."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLATFORM_MODULES = [
    "connectors.limesurvey.platform",
    "connectors.standard_webhooks.connector",
    "connectors.wenjuanxing.platform",
    "connectors.tencent_wj.platform",
    "connectors.jinshuju.platform",
]


def _fresh(code: str) -> object:
    """What ``code`` prints as JSON, run in a new interpreter."""
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def test_reading_a_canonical_file_imports_no_other_platform() -> None:
    loaded = _fresh(
        "import json, sys\n"
        "from connectors.registry import export_reader\n"
        "export_reader('canonical')\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('connectors.'))))\n"
    )
    assert "connectors.files" in loaded
    assert not set(PLATFORM_MODULES) & set(loaded)
    assert "requests" not in loaded


def test_platforms_are_listed_in_one_order_whatever_loaded_first() -> None:
    kinds = _fresh(
        "import json\n"
        "from connectors.registry import platform, platforms, source_kinds\n"
        "platform('jinshuju'); platform('wenjuanxing')\n"
        "print(json.dumps([[p.kind for p in platforms()], source_kinds()]))\n"
    )
    assert kinds == [
        ["canonical", "limesurvey", "standard-webhooks", "wenjuanxing", "tencent-wj", "jinshuju"],
        ["limesurvey", "standard-webhooks", "wenjuanxing", "tencent-wj", "jinshuju"],
    ]


def test_an_unknown_kind_names_every_built_in_even_those_not_loaded() -> None:
    message = _fresh(
        "import json\n"
        "from connectors.registry import UnknownKind, export_reader, platform\n"
        "out = []\n"
        "for ask in (platform, export_reader):\n"
        "    try:\n"
        "        ask('surveymonkey')\n"
        "    except UnknownKind as exc:\n"
        "        out.append(str(exc))\n"
        "print(json.dumps(out))\n"
    )
    assert message[0] == (
        "unknown kind 'surveymonkey' (known: canonical, limesurvey, standard-webhooks, "
        "wenjuanxing, tencent-wj, jinshuju)"
    )
    assert message[1].startswith("unknown format 'surveymonkey' (known: canonical, ")


def test_a_built_in_taken_out_before_it_loaded_stays_out() -> None:
    kinds = _fresh(
        "import json\n"
        "from connectors.registry import platforms, unregister\n"
        "unregister('jinshuju')\n"
        "print(json.dumps([p.kind for p in platforms()]))\n"
    )
    assert "jinshuju" not in kinds
    assert len(kinds) == 5


def test_threads_asking_for_a_platform_while_it_loads_all_get_it() -> None:
    """The web process answers webhooks on several threads: each must find the platform a
    first thread is still importing, never 'unknown kind'."""
    found = _fresh(
        "import json, threading\n"
        "from connectors.registry import platform\n"
        "start, got = threading.Barrier(16), []\n"
        "def ask():\n"
        "    start.wait()\n"
        "    try:\n"
        "        got.append(platform('standard-webhooks').kind)\n"
        "    except Exception as exc:\n"
        "        got.append(repr(exc))\n"
        "threads = [threading.Thread(target=ask) for _ in range(16)]\n"
        "[t.start() for t in threads]; [t.join() for t in threads]\n"
        "print(json.dumps(got))\n"
    )
    assert found == ["standard-webhooks"] * 16
