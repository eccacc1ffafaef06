"""A monthly round driven through the ``pingyi`` CLI on a real database: the same compact data
and answers as ``tests.jobs.paper_round.PaperRound``, but every step a command (import, round
create, panel set, ingest, veto, rank), every ballot stored.

``Evaluation`` writes the units, pool, panel and ballot files, runs the commands, maps pool ids
to seat tokens through ``panel show`` and returns the ranking JSON.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tests.harness.command_line import Cli
from tests.jobs.paper_round import AT, ROUND, make_ballot, rules_toml


def write_config(path: Path, rules: Mapping[str, Any] | None) -> Path:
    """A pingyi.toml with exactly these ``[rules]`` (an empty table = the docs/rules.md defaults)."""
    path.write_text(rules_toml(rules), encoding="utf-8")
    return path


class Evaluation:
    """One monthly round built from compact data, driven through the ``pingyi`` CLI.

    ``units``: code -> system. ``members``: pool id -> group, or (group, "U1;U2" conflicts).
    ``seats``: the pool ids on the panel (default: every member). ``db_url``: a database at the
    newest schema (the ``migrated_db_url`` fixture).
    """

    def __init__(
        self,
        db_url: str,
        tmp_path: Path,
        units: Mapping[str, str],
        members: Mapping[str, str | tuple[str, str]],
        *,
        rules: Mapping[str, Any] | None = None,
        seats: Sequence[str] | None = None,
    ) -> None:
        self.dir = tmp_path / "in"
        self.dir.mkdir(exist_ok=True)
        self.db_url = db_url
        self.rules = dict(rules or {})
        self.cli = self.cli_with(self.rules)
        self.files = 0

        units_csv = self.dir / "units.csv"
        units_csv.write_text(
            "code,name,system\n" + "".join(f"{c},{c}单位,{s}\n" for c, s in units.items()),
            encoding="utf-8",
        )
        self.cli("import", "units", str(units_csv))

        pool_csv = self.dir / "pool.csv"
        rows = []
        for mid, spec in members.items():
            group, conflicts = (spec, "") if isinstance(spec, str) else spec
            rows.append(f"{mid},{mid}委员,{group},{conflicts}\n")
        pool_csv.write_text("id,name,group,conflicts\n" + "".join(rows), encoding="utf-8")
        self.cli("import", "pool", str(pool_csv))

        self.new_round(ROUND, "2026-10-01", "2026-10-31", seats or list(members))

    def new_round(self, round_id: str, opens: str, closes: str, seats: Sequence[str]) -> None:
        """Create a monthly round, seat the panel, and make it the round later calls act on."""
        self.round = round_id
        self.cli(
            "round", "create", round_id, "--kind", "monthly", "--opens", opens, "--closes", closes
        )
        panel_txt = self.dir / f"panel-{round_id}.txt"
        panel_txt.write_text("\n".join(seats) + "\n")
        self.cli("panel", "set", round_id, str(panel_txt))
        shown = self.cli.json("panel", "show", round_id)
        self.tokens = {s["evaluator"]: s["token"] for s in shown["seats"]}

    def cli_with(self, rules: Mapping[str, Any]) -> Cli:
        digest = hashlib.sha256(json.dumps(rules, sort_keys=True).encode()).hexdigest()[:12]
        name = f"pingyi-{digest}.toml"
        return Cli(self.db_url, config=write_config(self.dir / name, rules))

    def ballot(
        self,
        by: str,
        answers: Mapping[str, Any],
        *,
        at: str = AT,
        rid: str | None = None,
        token: str | None = None,
        comments: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """A canonical ballot of pool member ``by`` (or an explicit ``token``)."""
        token = token if token is not None else self.tokens[by]
        return make_ballot(token, rid or f"r-{by}", answers, at, comments)

    def write_ballots(self, ballots: Iterable[dict[str, Any]]) -> Path:
        self.files += 1
        path = self.dir / f"ballots-{self.files}.jsonl"
        path.write_text(
            "".join(json.dumps(b, ensure_ascii=False) + "\n" for b in ballots), encoding="utf-8"
        )
        return path

    def ingest(self, ballots: Iterable[dict[str, Any]]) -> dict[str, int]:
        """Ingest through the CLI; it exits 1 exactly when every record was rejected."""
        path = str(self.write_ballots(ballots))
        counts = json.loads(self.cli("ingest", self.round, path, "--json", ok=None))
        assert (self.cli.exit_code != 0) == (counts["rejected"] == counts["records"]), counts
        return counts

    def veto(self, unit: str, reason: str = "重大失误") -> None:
        self.cli("veto", "add", self.round, unit, "--reason", reason)

    def rank(self, rules: Mapping[str, Any] | None = None) -> dict[str, Any]:
        cli = self.cli if rules is None else self.cli_with(rules)
        return cli.json("rank", self.round)
