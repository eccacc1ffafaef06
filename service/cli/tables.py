"""Tables for the terminal: columns that line up with Chinese names, and a ranking as a table.

The circular is the formal publication; these are what a command prints.
"""

from __future__ import annotations

import unicodedata


def display_width(text: str) -> int:
    """Terminal columns: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, width: int) -> str:
    """Left-align ``text`` in ``width`` terminal columns."""
    return text + " " * max(width - display_width(text), 0)


def format_ranking(result: dict, systems_order: list[str] | None = None) -> str:
    """A ranking as aligned columns per system (in ``systems_order``), then the lists."""
    p = result["participation"]
    lines = [
        f"round {result['round']} ({result['kind']}): seats {p['seats']}, ballots {p['ballots']}, "
        f"valid ballots {p['valid_ballots']} — {'valid' if result['valid'] else 'NOT VALID (未达有效票数)'}"
    ]
    names = {u["code"]: u["name"] for u in result["units"]}
    systems: dict[str, list[dict]] = {s: [] for s in systems_order or []}
    for unit in result["units"]:
        systems.setdefault(unit["system"], []).append(unit)
    name_w = max((display_width(u["name"]) for u in result["units"]), default=4) + 2
    for system, units in systems.items():
        if not units:
            continue
        lines.append("")
        lines.append(f"{system}")
        units = sorted(units, key=lambda u: (u["rank_in_system"] is None, u["rank_in_system"] or 0))
        for u in units:
            rank = "—" if u["rank_in_system"] is None else str(u["rank_in_system"])
            overall = "—" if u["rank_overall"] is None else str(u["rank_overall"])
            score = "—" if u["score"] is None else f"{u['score']:.2f}"
            lines.append(
                f"  {rank:>3}  {pad(u['name'], name_w)}{u['code']:<12} {score:>7}  "
                f"votes {u['votes']:>3}  overall {overall:>3}  {u['status']}"
            )
    for title, key in (("top", "top"), ("bottom (worst first)", "bottom"), ("vetoed", "vetoed")):
        lines.append("")
        lines.append(f"{title}: " + ("、".join(names[c] for c in result[key]) or "—"))
    return "\n".join(lines)
