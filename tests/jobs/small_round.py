"""A small monthly round for the circular's layout tests: a few units per system, so that the
top and bottom lists overlap and the system tables are short (issue #14)."""

from __future__ import annotations

import copy
from typing import Any

from tests.jobs.circular_document import SYSTEM_UNITS, _ranked, make_doc

LONG_NAME = "县公安局食品药品环境犯罪侦查大队"


def make_small_doc(per_system: int = 3) -> dict[str, Any]:
    """``make_doc``'s round cut to ``per_system`` units a system (12 by default), every one
    ranked, one of them with the longest name a county has; ranks and lists computed again
    the way docs/rules.md says (top 10, bottom 5, worst first)."""
    doc = make_doc()
    keep = []
    for system in SYSTEM_UNITS:
        members = [u for u in doc["ranking"]["units"] if u["system"] == system][:per_system]
        keep += [copy.deepcopy(u) | {"status": "ranked"} for u in members]
    keep[-per_system - 1]["name"] = LONG_NAME  # the last 公安局 unit
    for rank, u in enumerate(_ranked(keep), start=1):
        u["rank_overall"] = rank
    for system in SYSTEM_UNITS:
        members = [u for u in keep if u["system"] == system]
        for rank, u in enumerate(_ranked(members), start=1):
            u["rank_in_system"] = rank
    order = _ranked(keep)
    codes = {u["code"] for u in keep}
    doc["ranking"].update(
        units=keep,
        top=[u["code"] for u in order][:10],
        bottom=[u["code"] for u in reversed(order)][:5],
        vetoed=[],
    )
    doc["ranking"]["participation"] = {"seats": 30, "ballots": 28, "valid_ballots": 27}
    doc["vetoes"] = []
    doc["comments"] = {k: v for k, v in doc["comments"].items() if k in codes}
    return doc
