"""SPEC §2.1–2.4 and §7, end to end through the CLI, with every expected number worked by hand.

Each test states only its data; ``Evaluation`` writes the units, pool, panel and ballot files,
runs the commands, maps pool ids to seat tokens through ``panel show`` and returns the ranking
JSON. The arithmetic behind every asserted number is written next to it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cli

ROUND = "2026-10"
AT = "2026-10-28T09:12:00+08:00"  # inside the window 2026-10-01 … 2026-10-31 (Asia/Shanghai)
SMALL = {"min_votes": 3}  # keeps data small; trimming still starts at the default n = 7
GROUP = "人大代表"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = (
            f"{json.dumps(k, ensure_ascii=False)} = {_toml_value(v)}" for k, v in value.items()
        )
        return "{" + ", ".join(items) + "}"
    raise TypeError(value)


def write_config(path: Path, rules: Mapping[str, Any] | None) -> Path:
    """A pingyi.toml with exactly these ``[rules]`` (an empty table = the SPEC defaults)."""
    lines = ["[rules]", *(f"{k} = {_toml_value(v)}" for k, v in (rules or {}).items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class Evaluation:
    """One monthly round built from compact data, driven through the ``pingyi`` CLI.

    ``units``: code -> system. ``members``: pool id -> group, or (group, "U1;U2" conflicts).
    ``seats``: the pool ids on the panel (default: every member).
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
        self.cli("init")
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
        return {
            "id": rid or f"r-{by}",
            "token": token if token is not None else self.tokens[by],
            "submitted_at": at,
            "answers": dict(answers),
            "comments": dict(comments or {}),
        }

    def write_ballots(self, ballots: Iterable[dict[str, Any]]) -> Path:
        self.files += 1
        path = self.dir / f"ballots-{self.files}.jsonl"
        path.write_text(
            "".join(json.dumps(b, ensure_ascii=False) + "\n" for b in ballots), encoding="utf-8"
        )
        return path

    def ingest(self, ballots: Iterable[dict[str, Any]]) -> dict[str, int]:
        return self.cli.json("ingest", self.round, str(self.write_ballots(ballots)))

    def veto(self, unit: str, reason: str = "重大失误") -> None:
        self.cli("veto", "add", self.round, unit, "--reason", reason)

    def rank(self, rules: Mapping[str, Any] | None = None) -> dict[str, Any]:
        cli = self.cli if rules is None else self.cli_with(rules)
        return cli.json("rank", self.round)


def columns(answers: Mapping[str, Sequence[Any]]) -> dict[str, dict[str, Any]]:
    """Per-unit answer columns -> one answers mapping per evaluator P01, P02, ….

    ``{"A": [100, "满意"], "B": [90, None]}`` means P01 answers A=100, B=90 and P02 answers
    A=满意 and nothing on B (``None`` = the unit is not named on that ballot).
    """
    n = max(len(col) for col in answers.values())
    out: dict[str, dict[str, Any]] = {}
    for i in range(n):
        row = {u: col[i] for u, col in answers.items() if i < len(col) and col[i] is not None}
        out[f"P{i + 1:02d}"] = row
    return out


@pytest.fixture
def evaluation(db_url: str, tmp_path: Path):
    """Factory: ``evaluation(units, members, rules=..., seats=...)`` on this test's database."""

    def make(units, members, **kwargs) -> Evaluation:
        return Evaluation(db_url, tmp_path, units, members, **kwargs)

    return make


@pytest.fixture
def run(evaluation):
    """Factory: one round from answer columns, every evaluator seated and voting; returns ranking.

    ``systems``: code -> system (default all 法院); ``vetoes``: units to veto.
    """

    def go(
        answers: Mapping[str, Sequence[Any]],
        *,
        rules: Mapping[str, Any] | None = None,
        systems: Mapping[str, str] | None = None,
        vetoes: Sequence[str] = (),
    ) -> dict[str, Any]:
        rows = columns(answers)
        units = {u: (systems or {}).get(u, "法院") for u in answers}
        ev = evaluation(units, dict.fromkeys(rows, GROUP), rules=rules)
        counts = ev.ingest(ev.ballot(by, row) for by, row in rows.items())
        assert counts["rejected"] == 0, counts
        for unit in vetoes:
            ev.veto(unit)
        return ev.rank()

    return go


def by_code(ranking: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {u["code"]: u for u in ranking["units"]}


# --- §2.3 scores: exact means, half-up rounding, trimming -----------------------------------


def test_trimmed_mean_65_625_publishes_half_up_as_65_63(run) -> None:
    # Defaults (min_votes 10, trim 1 each end from n = 7). Ten votes:
    #   sorted 0, 60, 60, 60, 60, 70, 70, 70, 75, 100 -> drop 0 and 100
    #   trimmed sum 60·4 + 70·3 + 75 = 240 + 210 + 75 = 525; 525 / 8 = 65.625 exactly
    #   half up -> 65.63 (half-even would give 65.62, and so does float round(65.625, 2))
    #   untrimmed mean 625 / 10 = 62.5
    ranking = run({"A": [60, 70, 0, 60, 70, 100, 60, 70, 75, 60]})
    a = by_code(ranking)["A"]
    assert a["score"] == 65.63
    assert a["votes"] == 10
    assert a["mean"] == 62.5
    assert (a["status"], a["rank_in_system"], a["rank_overall"]) == ("ranked", 1, 1)


def test_half_up_where_float_rounding_would_go_down(run) -> None:
    # A: 80.14, 80.15, 80.14, 80.15 -> 320.58 / 4 = 80.145 exactly -> half up 80.15
    #    (the binary float 80.145 is 80.14499…, so round(80.145, 2) == 80.14)
    # B: 91.33, 91.34, 91.33, 91.34 -> 365.34 / 4 = 91.335 -> 91.34
    # C: 70.1, 70.2, 70.3 -> 210.6 / 3 = 70.2 exactly (a float sum gives 210.60000000000002)
    ranking = run(
        {
            "A": [80.14, 80.15, 80.14, 80.15],
            "B": [91.33, 91.34, 91.33, 91.34],
            "C": [70.1, 70.2, 70.3, None],
        },
        rules=SMALL,
    )
    units = by_code(ranking)
    assert units["A"]["score"] == 80.15
    assert units["B"]["score"] == 91.34
    assert units["C"]["score"] == 70.2


def test_numeric_answers_are_kept_exact(run) -> None:
    # A: three answers of 87.5 -> 87.5 (not 87.49…, not 88)
    # B: 87.5, 90, 62.25 -> 239.75 / 3 = 79.91666… -> 79.92
    ranking = run({"A": [87.5, 87.5, 87.5], "B": [87.5, 90, 62.25]}, rules=SMALL)
    units = by_code(ranking)
    assert units["A"]["score"] == 87.5
    assert units["A"]["mean"] == 87.5
    assert units["B"]["score"] == 79.92


def test_bu_liao_jie_is_no_vote_and_out_of_share_denominators(run) -> None:
    # A: 满意, 满意, 不满意, 不了解, 不了解 -> votes 3: (100 + 100 + 30) / 3 = 76.666… -> 76.67
    #    满意 share 2/3 = 0.6667, 不满意 share 1/3 = 0.3333 (不了解 not in the denominator)
    # B: 满意 from all five -> 5 votes, 100 (keeps every ballot at ≥ 50% coverage)
    ranking = run(
        {
            "A": ["满意", "满意", "不满意", "不了解", "不了解"],
            "B": ["满意"] * 5,
        },
        rules=SMALL,
    )
    units = by_code(ranking)
    assert units["A"]["votes"] == 3
    assert units["A"]["score"] == 76.67
    assert units["A"]["satisfied_share"] == 0.6667
    assert units["A"]["dissatisfied_share"] == 0.3333
    assert (units["B"]["votes"], units["B"]["score"]) == (5, 100.0)
    assert ranking["participation"] == {"seats": 5, "ballots": 5, "valid_ballots": 5}


def test_default_scale_points(run) -> None:
    # 满意 = 100, 基本满意 = 70, 不满意 = 30, numbers at both ends of [0, 100] accepted.
    ranking = run(
        {
            "S": ["满意"] * 3,
            "J": ["基本满意"] * 3,
            "N": ["不满意"] * 3,
            "Z": [0, 0, 100],  # 100 / 3 = 33.333… -> 33.33
        },
        rules=SMALL,
    )
    units = by_code(ranking)
    assert [units[c]["score"] for c in "SJNZ"] == [100.0, 70.0, 30.0, 33.33]


def test_seven_votes_drop_exactly_one_highest_and_one_lowest_six_drop_none(evaluation) -> None:
    # S7: 10, 20, 30, 40, 50, 60, 100 -> drop 10 and 100 -> 200 / 5 = 40
    #     untrimmed 310 / 7 = 44.2857… -> mean 44.29
    # D7: 0, 0, 60, 60, 60, 100, 100 -> drop ONE 0 and ONE 100 -> 280 / 5 = 56
    #     (dropping every copy of the extremes would give 60)
    # N6: 0, 60, 60, 60, 60, 100 (six votes) -> no trim: 340 / 6 = 56.666… -> 56.67 (trimmed: 60)
    answers = {
        "S7": [10, 20, 30, 40, 50, 60, 100],
        "D7": [0, 0, 60, 60, 60, 100, 100],
        "N6": [0, 60, 60, 60, 60, 100, None],  # P07 votes S7 and D7: 2/3 coverage
    }
    rows = columns(answers)
    ev = evaluation(dict.fromkeys(answers, "法院"), dict.fromkeys(rows, GROUP), rules=SMALL)
    ev.ingest(ev.ballot(by, row) for by, row in rows.items())
    units = by_code(ev.rank())
    assert (units["S7"]["votes"], units["S7"]["score"], units["S7"]["mean"]) == (7, 40.0, 44.29)
    assert (units["D7"]["votes"], units["D7"]["score"]) == (7, 56.0)
    assert (units["N6"]["votes"], units["N6"]["score"], units["N6"]["mean"]) == (6, 56.67, 56.67)


def test_nine_votes_under_default_min_votes_is_insufficient_with_score_shown(run) -> None:
    # Defaults. A: ten votes of 满意 -> 100, ranked.
    # B: nine votes 50, 60, 70, 80, 80, 80, 90, 90, 100 (P10 skips B; P10 still covers 1/2)
    #    n = 9 ≥ 7 -> drop 50 and 100 -> 60 + 70 + 80·3 + 90·2 = 550; 550 / 7 = 78.5714… -> 78.57
    #    n = 9 < min_votes 10 -> insufficient: score shown, both ranks null, in no list
    ranking = run(
        {"A": ["满意"] * 10, "B": [50, 60, 70, 80, 80, 80, 90, 90, 100, None]},
    )
    units = by_code(ranking)
    b = units["B"]
    assert (b["status"], b["votes"], b["score"]) == ("insufficient", 9, 78.57)
    assert (b["rank_in_system"], b["rank_overall"]) == (None, None)
    assert "B" not in ranking["top"] + ranking["bottom"] + ranking["vetoed"]
    a = units["A"]
    assert (a["status"], a["votes"], a["rank_overall"]) == ("ranked", 10, 1)
    assert ranking["top"] == ["A"]
    assert ranking["bottom"] == ["A"]


def test_weighted_criteria_give_weighted_mean_of_answered_criteria(run) -> None:
    # Criteria 作风 (weight 2) and 效能 (weight 1).
    # A: P01 作风 90, 效能 基本满意(70) -> (2·90 + 1·70) / 3 = 250/3 = 83.333…
    #    P02 作风 满意 only            -> 100 (weighted mean of the criteria answered)
    #    P03 作风 不了解, 效能 不满意  -> 30
    #    P04 不了解 on both             -> no vote
    #    votes 3; score (250/3 + 100 + 30) / 3 = (250 + 390) / 9 = 640/9 = 71.111… -> 71.11
    #    answers counted: 90, 基本满意, 满意, 不满意 -> 满意 share 1/4, 不满意 share 1/4
    # B: both criteria 满意 from everyone -> 100 (P04 still covers 1 of 2 units)
    both = {"作风": "满意", "效能": "满意"}
    ranking = run(
        {
            "A": [
                {"作风": 90, "效能": "基本满意"},
                {"作风": "满意"},
                {"作风": "不了解", "效能": "不满意"},
                {"作风": "不了解", "效能": "不了解"},
            ],
            "B": [both] * 4,
        },
        rules={**SMALL, "criteria": [{"name": "作风", "weight": 2}, {"name": "效能", "weight": 1}]},
    )
    a = by_code(ranking)["A"]
    assert (a["votes"], a["score"]) == (3, 71.11)
    assert (a["satisfied_share"], a["dissatisfied_share"]) == (0.25, 0.25)
    assert by_code(ranking)["B"]["score"] == 100.0
    assert ranking["participation"]["valid_ballots"] == 4


# --- §2.4 order, tie-breaks and shared ranks --------------------------------------------------


def test_equal_scores_split_by_satisfied_share(run) -> None:
    # A1: 67.5 ×4 (numbers)                -> 270 / 4 = 67.5, 满意 share 0, 不满意 share 0
    # Z1: 满意, 不满意, 基本满意, 基本满意 -> (100 + 30 + 70 + 70) / 4 = 67.5,
    #     满意 share 1/4 — wins although its 不满意 share (1/4) is worse and its code sorts later
    ranking = run(
        {"A1": [67.5] * 4, "Z1": ["满意", "不满意", "基本满意", "基本满意"]},
        rules=SMALL,
    )
    units = by_code(ranking)
    assert units["A1"]["score"] == units["Z1"]["score"] == 67.5
    assert (units["Z1"]["rank_overall"], units["A1"]["rank_overall"]) == (1, 2)
    assert (units["Z1"]["rank_in_system"], units["A1"]["rank_in_system"]) == (1, 2)
    assert [u["code"] for u in ranking["units"]] == ["Z1", "A1"]


def test_equal_score_and_satisfied_share_split_by_dissatisfied_share(run) -> None:
    # A1: 满意, 不满意, 基本满意, 基本满意 -> 270 / 4 = 67.5; 满意 1/4, 不满意 1/4
    # Z1: 满意, 47.5, 基本满意, 52.5       -> (100 + 47.5 + 70 + 52.5) / 4 = 270 / 4 = 67.5;
    #     满意 1/4, 不满意 0 -> Z1 first
    ranking = run(
        {
            "A1": ["满意", "不满意", "基本满意", "基本满意"],
            "Z1": ["满意", 47.5, "基本满意", 52.5],
        },
        rules=SMALL,
    )
    units = by_code(ranking)
    assert units["A1"]["score"] == units["Z1"]["score"] == 67.5
    assert units["A1"]["satisfied_share"] == units["Z1"]["satisfied_share"] == 0.25
    assert (units["Z1"]["rank_overall"], units["A1"]["rank_overall"]) == (1, 2)


def test_equal_score_and_shares_split_by_untrimmed_mean(run) -> None:
    # All numbers, so both 满意 and 不满意 shares are 0 for both units.
    # A1 (8 votes): 50, 60 ×6, 70 -> trimmed 60·6/6 = 60; untrimmed 480 / 8 = 60
    # Z1 (7 votes): 50, 60 ×5, 100 -> trimmed 60;        untrimmed 450 / 7 = 64.2857… -> Z1 first
    #    (although A1 has more votes; P08 votes on A1 only = 1/2 coverage)
    ranking = run(
        {
            "A1": [50, 60, 60, 60, 60, 60, 60, 70],
            "Z1": [50, 60, 60, 60, 60, 60, 100, None],
        },
        rules=SMALL,
    )
    units = by_code(ranking)
    assert units["A1"]["score"] == units["Z1"]["score"] == 60.0
    assert (units["A1"]["mean"], units["Z1"]["mean"]) == (60.0, 64.29)
    assert (units["A1"]["votes"], units["Z1"]["votes"]) == (8, 7)
    assert (units["Z1"]["rank_overall"], units["A1"]["rank_overall"]) == (1, 2)


def test_equal_on_everything_but_votes_split_by_more_votes(run) -> None:
    # A1: 满意 ×3 -> 100, shares 1 / 0, mean 100, 3 votes
    # Z1: 满意 ×4 -> 100, shares 1 / 0, mean 100, 4 votes -> Z1 first (P04 votes Z1 only: 1/2)
    ranking = run({"A1": ["满意"] * 3 + [None], "Z1": ["满意"] * 4}, rules=SMALL)
    units = by_code(ranking)
    assert (units["Z1"]["rank_overall"], units["A1"]["rank_overall"]) == (1, 2)
    assert (units["Z1"]["rank_in_system"], units["A1"]["rank_in_system"]) == (1, 2)


def test_identical_units_share_rank_and_next_rank_is_skipped(run) -> None:
    # 法院: F1 满意 ×3 = 100; F2, F3 基本满意 ×3 = 70 (identical); F4 不满意 ×3 = 30
    # 公安局: G1 50 ×3 = 50
    # in 法院: F1 1, F2 2, F3 2, F4 4; in 公安局: G1 1
    # overall: F1 100 -> 1, F2 = F3 70 -> 2, 2, G1 50 -> 4, F4 30 -> 5
    ranking = run(
        {
            "F1": ["满意"] * 3,
            "F2": ["基本满意"] * 3,
            "F3": ["基本满意"] * 3,
            "F4": ["不满意"] * 3,
            "G1": [50] * 3,
        },
        rules=SMALL,
        systems={"G1": "公安局"},
    )
    units = by_code(ranking)
    assert [units[c]["rank_in_system"] for c in ("F1", "F2", "F3", "F4", "G1")] == [1, 2, 2, 4, 1]
    assert [units[c]["rank_overall"] for c in ("F1", "F2", "F3", "G1", "F4")] == [1, 2, 2, 4, 5]
    assert [u["rank_overall"] for u in ranking["units"]] == [1, 2, 2, 4, 5]


def test_ranks_within_each_system_and_overall(run) -> None:
    # 法院: F1 95, F2 80; 检察院: J1 90, J2 70 (three identical numeric votes each)
    # in system: F1 1, F2 2 | J1 1, J2 2; overall: F1 1, J1 2, F2 3, J2 4
    ranking = run(
        {"F1": [95] * 3, "F2": [80] * 3, "J1": [90] * 3, "J2": [70] * 3},
        rules=SMALL,
        systems={"J1": "检察院", "J2": "检察院"},
    )
    units = by_code(ranking)
    assert {c: (u["rank_in_system"], u["rank_overall"]) for c, u in units.items()} == {
        "F1": (1, 1),
        "F2": (2, 3),
        "J1": (1, 2),
        "J2": (2, 4),
    }
    assert [u["code"] for u in ranking["units"]] == ["F1", "J1", "F2", "J2"]
    assert ranking["top"] == ["F1", "J1", "F2", "J2"]


# --- §2.4 top and bottom lists, vetoes ---------------------------------------------------------


def test_tie_at_tenth_place_takes_both_into_top(run) -> None:
    # U01…U09 score 99 … 91 (ranks 1–9); U10 and U11 both 90 (rank 10, 10); U12 80 (rank 12)
    # top = 10 -> the 10th place is tied -> U01…U11, eleven units
    answers = {f"U{i:02d}": [100 - i] * 3 for i in range(1, 10)}
    answers |= {"U10": [90] * 3, "U11": [90] * 3, "U12": [80] * 3}
    ranking = run(answers, rules=SMALL)
    units = by_code(ranking)
    assert (units["U10"]["rank_overall"], units["U11"]["rank_overall"]) == (10, 10)
    assert units["U12"]["rank_overall"] == 12
    assert ranking["top"] == [f"U{i:02d}" for i in range(1, 10)] + ranking["top"][9:]
    assert sorted(ranking["top"][9:]) == ["U10", "U11"]
    assert len(ranking["top"]) == 11


def test_top_list_is_the_first_ten_without_ties(run) -> None:
    # U01…U12 score 99 … 88: top = U01…U10 in rank order
    ranking = run({f"U{i:02d}": [100 - i] * 3 for i in range(1, 13)}, rules=SMALL)
    assert ranking["top"] == [f"U{i:02d}" for i in range(1, 11)]
    # bottom 5 worst first: U12 (88), U11, U10, U09, U08
    assert ranking["bottom"] == ["U12", "U11", "U10", "U09", "U08"]


def test_tie_straddling_bottom_cutoff_takes_all_tied_units(run) -> None:
    # 8 ranked units: U1 90, U2 85, U3 = U4 = U5 70 (rank 3), U6 65 (6), U7 60 (7), U8 50 (8)
    # the last 5 positions are 4…8, but positions 3, 4, 5 share rank 3 -> U3, U4, U5 all in:
    # bottom (worst first) = U8, U7, U6, then U3, U4, U5 (six units)
    scores = {"U1": 90, "U2": 85, "U3": 70, "U4": 70, "U5": 70, "U6": 65, "U7": 60, "U8": 50}
    ranking = run({c: [s] * 3 for c, s in scores.items()}, rules=SMALL)
    assert ranking["bottom"][:3] == ["U8", "U7", "U6"]
    assert sorted(ranking["bottom"][3:]) == ["U3", "U4", "U5"]
    assert len(ranking["bottom"]) == 6
    assert {by_code(ranking)[c]["rank_overall"] for c in ("U3", "U4", "U5")} == {3}


def test_vetoed_best_unit_is_last_keeps_score_in_bottom_never_top(run) -> None:
    # A 100 (vetoed), B 90, C 80, D 70; top = 2, bottom = 2
    # order: B 1, C 2, D 3, then the vetoed A 4 (also last in its system)
    # top = B, C; bottom (worst first) = A, D; vetoed = A; A keeps its score 100
    ranking = run(
        {"A": [100] * 3, "B": [90] * 3, "C": [80] * 3, "D": [70] * 3},
        rules={**SMALL, "top": 2, "bottom": 2},
        vetoes=["A"],
    )
    a = by_code(ranking)["A"]
    assert (a["status"], a["score"], a["votes"]) == ("vetoed", 100.0, 3)
    assert (a["rank_overall"], a["rank_in_system"]) == (4, 4)
    assert [u["code"] for u in ranking["units"]] == ["B", "C", "D", "A"]
    assert ranking["top"] == ["B", "C"]
    assert ranking["bottom"] == ["A", "D"]
    assert ranking["vetoed"] == ["A"]


def test_vetoed_unit_never_in_top_even_when_top_covers_everyone(run) -> None:
    # Defaults for the lists (top 10, bottom 5): A 100 vetoed, B 90, C 80
    # top = every non-vetoed unit: B, C; bottom = all three ranked, worst first: A, C, B
    ranking = run({"A": [100] * 3, "B": [90] * 3, "C": [80] * 3}, rules=SMALL, vetoes=["A"])
    assert ranking["top"] == ["B", "C"]
    assert ranking["bottom"] == ["A", "C", "B"]
    assert by_code(ranking)["A"]["rank_overall"] == 3


def test_vetoed_units_are_ordered_among_themselves_by_the_same_rules(run) -> None:
    # A 100 and C 80 vetoed, B 90, D 70 -> B 1, D 2, A 3, C 4
    # vetoed list in that order (A, C); bottom = 2 worst first -> C, A
    ranking = run(
        {"A": [100] * 3, "B": [90] * 3, "C": [80] * 3, "D": [70] * 3},
        rules={**SMALL, "bottom": 2},
        vetoes=["C", "A"],
    )
    units = by_code(ranking)
    assert [units[c]["rank_overall"] for c in "BDAC"] == [1, 2, 3, 4]
    assert ranking["vetoed"] == ["A", "C"]
    assert ranking["bottom"] == ["C", "A"]
    assert ranking["top"] == ["B", "D"]


# --- §2.2 ballots: coverage, recusal, re-submission, rejection, quorum -------------------------


def test_ballot_covering_40_percent_is_invalid_and_50_percent_is_valid(evaluation) -> None:
    # Ten units U01…U10; P1–P3 answer 满意 on all ten.
    # P4: 不满意 on U01–U04 and 不了解 on the other six -> votes on 4/10 = 40% < 50% -> invalid,
    #     none of its votes count (不了解 answers are not votes and do not help coverage)
    # P5: 不满意 on U05–U09, 不了解 on U10 -> 5/10 = 50% exactly -> valid
    # U01–U04: 3 votes, 100; U05–U09: 4 votes, (300 + 30) / 4 = 82.5; U10: 3 votes, 100
    codes = [f"U{i:02d}" for i in range(1, 11)]
    ev = evaluation(
        dict.fromkeys(codes, "法院"),
        dict.fromkeys(["P1", "P2", "P3", "P4", "P5"], GROUP),
        rules=SMALL,
    )
    ballots = [ev.ballot(p, dict.fromkeys(codes, "满意")) for p in ("P1", "P2", "P3")]
    ballots.append(ev.ballot("P4", {c: "不满意" if c <= "U04" else "不了解" for c in codes}))
    ballots.append(
        ev.ballot("P5", {c: "不满意" if "U05" <= c <= "U09" else "不了解" for c in codes[4:]})
    )
    counts = ev.ingest(ballots)
    assert (counts["accepted"], counts["invalid"], counts["rejected"]) == (4, 1, 0)
    ranking = ev.rank()
    units = by_code(ranking)
    for c in codes[:4]:
        assert (units[c]["votes"], units[c]["score"]) == (3, 100.0)
    for c in codes[4:9]:
        assert (units[c]["votes"], units[c]["score"]) == (4, 82.5)
    assert (units["U10"]["votes"], units["U10"]["score"]) == (3, 100.0)
    assert ranking["participation"] == {"seats": 5, "ballots": 5, "valid_ballots": 4}


def test_recused_votes_are_dropped_and_recused_units_leave_the_coverage_denominator(
    evaluation,
) -> None:
    # Units U1–U4. P1–P3 answer 满意 on all four.
    # P4 (conflicts U1;U2): 不满意 on U1, U2 (dropped), 不满意 on U3 (counts), 不了解 on U4
    #    asked = 4 − 2 = 2 units, votes 1 (U3) -> 1/2 = 50% -> valid
    #    (with the recused units left in the denominator it would be 1/4 = invalid)
    # P5 (conflict U1): 满意 on U1 (dropped), 满意 on U2, 不了解 on U3, U4
    #    asked = 3 units, votes 1 (U2) -> 1/3 < 50% -> invalid: its U2 vote does not count
    #    (counting the recused vote would make it 2/4 = valid)
    # U1: 3 votes 100; U2: 3 votes 100; U3: (300 + 30) / 4 = 82.5, 4 votes; U4: 3 votes 100
    members = {"P1": GROUP, "P2": GROUP, "P3": GROUP, "P4": (GROUP, "U1;U2"), "P5": (GROUP, "U1")}
    units4 = ["U1", "U2", "U3", "U4"]
    ev = evaluation(dict.fromkeys(units4, "法院"), members, rules=SMALL)
    ballots = [ev.ballot(p, dict.fromkeys(units4, "满意")) for p in ("P1", "P2", "P3")]
    ballots.append(
        ev.ballot("P4", {"U1": "不满意", "U2": "不满意", "U3": "不满意", "U4": "不了解"})
    )
    ballots.append(ev.ballot("P5", {"U1": "满意", "U2": "满意", "U3": "不了解", "U4": "不了解"}))
    counts = ev.ingest(ballots)
    assert (counts["accepted"], counts["invalid"]) == (4, 1)
    ranking = ev.rank()
    units = by_code(ranking)
    assert (units["U1"]["votes"], units["U1"]["score"]) == (3, 100.0)
    assert (units["U2"]["votes"], units["U2"]["score"]) == (3, 100.0)
    assert (units["U3"]["votes"], units["U3"]["score"]) == (4, 82.5)
    assert (units["U4"]["votes"], units["U4"]["score"]) == (3, 100.0)
    assert ranking["participation"] == {"seats": 5, "ballots": 5, "valid_ballots": 4}


@pytest.mark.parametrize("late_first", [True, False], ids=["late-ingested-first", "early-first"])
def test_resubmission_latest_submitted_at_wins_whatever_the_ingest_order(
    evaluation, late_first: bool
) -> None:
    # P1–P3: 满意 on A and B. P4 submits twice:
    #   r-early 2026-10-05: 不满意 on both; r-late 2026-10-20: 基本满意 on both -> r-late wins
    # A = B = (300 + 70) / 4 = 92.5; r-early is superseded; 4 seats, 4 ballots, 4 valid
    ev = evaluation(
        {"A": "法院", "B": "法院"}, dict.fromkeys(["P1", "P2", "P3", "P4"], GROUP), rules=SMALL
    )
    ev.ingest(ev.ballot(p, {"A": "满意", "B": "满意"}) for p in ("P1", "P2", "P3"))
    early = ev.ballot(
        "P4", {"A": "不满意", "B": "不满意"}, at="2026-10-05T10:00:00+08:00", rid="r-early"
    )
    late = ev.ballot(
        "P4", {"A": "基本满意", "B": "基本满意"}, at="2026-10-20T10:00:00+08:00", rid="r-late"
    )
    first, second = (late, early) if late_first else (early, late)
    ev.ingest([first])
    counts = ev.ingest([second])
    assert (counts["accepted"], counts["superseded"]) == ((0, 1) if late_first else (1, 0))
    ranking = ev.rank()
    units = by_code(ranking)
    assert (units["A"]["score"], units["A"]["votes"]) == (92.5, 4)
    assert (units["B"]["score"], units["B"]["votes"]) == (92.5, 4)
    assert ranking["participation"] == {"seats": 4, "ballots": 4, "valid_ballots": 4}


def test_resubmission_in_one_file_is_settled_by_time_not_file_order(evaluation) -> None:
    # Same data as above in a single file, later ballot written first (also at a later
    # local clock reading in another zone: 2026-10-20T03:00Z = 11:00 +08:00 > 10:00 +08:00).
    ev = evaluation(
        {"A": "法院", "B": "法院"}, dict.fromkeys(["P1", "P2", "P3", "P4"], GROUP), rules=SMALL
    )
    counts = ev.ingest(
        [
            ev.ballot(
                "P4",
                {"A": "基本满意", "B": "基本满意"},
                at="2026-10-20T03:00:00+00:00",
                rid="r-late",
            ),
            ev.ballot(
                "P4", {"A": "不满意", "B": "不满意"}, at="2026-10-20T10:00:00+08:00", rid="r-early"
            ),
            *(ev.ballot(p, {"A": "满意", "B": "满意"}) for p in ("P1", "P2", "P3")),
        ]
    )
    assert (counts["accepted"], counts["superseded"]) == (4, 1)
    assert by_code(ev.rank())["A"]["score"] == 92.5  # (300 + 70) / 4


def test_later_rejected_ballot_does_not_supersede_accepted_one(evaluation) -> None:
    # P4's accepted ballot (2026-10-05): 不满意 on A and B.
    # Three later ballots from P4, each rejected: an unknown unit, an off-scale number (120),
    # an off-scale label (很好). None may replace the accepted one:
    # A = B = (300 + 30) / 4 = 82.5
    ev = evaluation(
        {"A": "法院", "B": "法院"}, dict.fromkeys(["P1", "P2", "P3", "P4"], GROUP), rules=SMALL
    )
    ev.ingest(ev.ballot(p, {"A": "满意", "B": "满意"}) for p in ("P1", "P2", "P3"))
    ev.ingest([ev.ballot("P4", {"A": "不满意", "B": "不满意"}, at="2026-10-05T10:00:00+08:00")])
    later = [
        ev.ballot(
            "P4",
            {"A": "满意", "B": "满意", "NOPE": "满意"},
            at="2026-10-20T10:00:00+08:00",
            rid="r-x1",
        ),
        ev.ballot("P4", {"A": 120, "B": "满意"}, at="2026-10-21T10:00:00+08:00", rid="r-x2"),
        ev.ballot("P4", {"A": "很好", "B": "满意"}, at="2026-10-22T10:00:00+08:00", rid="r-x3"),
    ]
    counts = ev.ingest(later)
    assert (counts["rejected"], counts["accepted"], counts["superseded"]) == (3, 0, 0)
    ranking = ev.rank()
    assert by_code(ranking)["A"]["score"] == 82.5
    assert by_code(ranking)["B"]["score"] == 82.5
    assert ranking["participation"] == {"seats": 4, "ballots": 4, "valid_ballots": 4}


def test_late_and_early_ballots_are_rejected_and_kept(evaluation) -> None:
    # Window 2026-10-01 00:00 … 2026-10-31 end of day, Asia/Shanghai.
    # P4 at 2026-11-01T00:00:00+08:00 -> after close -> rejected (不满意 votes do not count)
    # P5 at 2026-09-30T23:59:59+08:00 -> before open -> rejected
    # P6 at 2026-10-31T23:59:59+08:00 -> inside -> accepted (满意)
    # P7 at 2026-10-31T15:59:59Z = 23:59:59 +08:00 -> accepted (基本满意)
    # A: P1–P3 满意 + P6 满意 + P7 基本满意 -> (400 + 70) / 5 = 94
    ev = evaluation(
        {"A": "法院"}, dict.fromkeys([f"P{i}" for i in range(1, 8)], GROUP), rules=SMALL
    )
    ballots = [ev.ballot(p, {"A": "满意"}) for p in ("P1", "P2", "P3")]
    ballots += [
        ev.ballot("P4", {"A": "不满意"}, at="2026-11-01T00:00:00+08:00", rid="r-late"),
        ev.ballot("P5", {"A": "不满意"}, at="2026-09-30T23:59:59+08:00", rid="r-early"),
        ev.ballot("P6", {"A": "满意"}, at="2026-10-31T23:59:59+08:00"),
        ev.ballot("P7", {"A": "基本满意"}, at="2026-10-31T15:59:59+00:00"),
    ]
    path = ev.write_ballots(ballots)
    out = ev.cli("ingest", ROUND, str(path))
    assert "accepted 5, superseded 0, rejected 2, invalid 0" in out
    assert "rejected r-late:" in out and "rejected r-early:" in out
    # kept: the same file again finds both rejected records already stored, unchanged
    again = ev.cli.json("ingest", ROUND, str(path))
    assert (again["unchanged"], again["new"], again["rejected"]) == (7, 0, 2)
    ranking = ev.rank()
    assert (by_code(ranking)["A"]["votes"], by_code(ranking)["A"]["score"]) == (5, 94.0)
    assert ranking["participation"] == {"seats": 7, "ballots": 5, "valid_ballots": 5}


@pytest.mark.parametrize(
    ("seats", "valid", "invalid", "expected"),
    [
        (3, 2, 1, True),  # 3·2 = 6 ≥ 2·3 = 6 -> valid (exactly 2/3)
        (2, 1, 0, False),  # 3·1 = 3 < 2·2 = 4 -> not valid
        (6, 4, 1, True),  # 12 ≥ 12
        (6, 3, 2, False),  # 9 < 12, although 5 of 6 seats returned a ballot
    ],
)
def test_quorum_is_three_valid_at_least_two_seats(
    evaluation, seats: int, valid: int, invalid: int, expected: bool
) -> None:
    # Units A, B (default rules). "valid" seats answer 满意 on both; "invalid" seats answer
    # 不了解 on both (0/2 < 50% coverage); the remaining seats submit nothing.
    members = [f"P{i}" for i in range(1, seats + 1)]
    ev = evaluation({"A": "法院", "B": "法院"}, dict.fromkeys(members, GROUP))
    ballots = [ev.ballot(p, {"A": "满意", "B": "满意"}) for p in members[:valid]]
    ballots += [
        ev.ballot(p, {"A": "不了解", "B": "不了解"}) for p in members[valid : valid + invalid]
    ]
    ev.ingest(ballots)
    ranking = ev.rank()
    assert ranking["valid"] is expected
    assert ranking["participation"] == {
        "seats": seats,
        "ballots": valid + invalid,
        "valid_ballots": valid,
    }


def test_participation_counts_seats_ballots_and_valid_ballots(evaluation) -> None:
    # Six seats:
    #   P1–P3 one valid ballot each; P4 one invalid ballot (0 of 2 units voted)
    #   P5 two valid ballots (the earlier superseded) -> one seat, one ballot
    #   P6 only a rejected ballot (unknown unit) -> no accepted ballot
    # seats 6, ballots 5 (P1–P5), valid_ballots 4 (P1–P3, P5); quorum 3·4 = 12 ≥ 12 -> valid
    members = [f"P{i}" for i in range(1, 7)]
    ev = evaluation({"A": "法院", "B": "法院"}, dict.fromkeys(members, GROUP), rules=SMALL)
    ballots = [ev.ballot(p, {"A": "满意", "B": "满意"}) for p in ("P1", "P2", "P3")]
    ballots += [
        ev.ballot("P4", {"A": "不了解", "B": "不了解"}),
        ev.ballot("P5", {"A": "不满意", "B": "满意"}, at="2026-10-02T08:00:00+08:00", rid="r-5a"),
        ev.ballot("P5", {"A": "满意", "B": "满意"}, at="2026-10-03T08:00:00+08:00", rid="r-5b"),
        ev.ballot("P6", {"A": "满意", "X9": "满意"}),
    ]
    counts = ev.ingest(ballots)
    assert counts == {
        "records": 7,
        "new": 7,
        "updated": 0,
        "unchanged": 0,
        "accepted": 4,
        "superseded": 1,
        "rejected": 1,
        "invalid": 1,
    }
    ranking = ev.rank()
    assert ranking["participation"] == {"seats": 6, "ballots": 5, "valid_ballots": 4}
    assert ranking["valid"] is True
    # A: P1–P3 + P5's later ballot, all 满意 -> 4 votes, 100
    assert (by_code(ranking)["A"]["votes"], by_code(ranking)["A"]["score"]) == (4, 100.0)


def test_ingesting_the_same_file_twice_changes_nothing(evaluation) -> None:
    members = [f"P{i}" for i in range(1, 5)]
    ev = evaluation({"A": "法院", "B": "公安局"}, dict.fromkeys(members, GROUP), rules=SMALL)
    ballots = [
        ev.ballot("P1", {"A": "满意", "B": 88.5}),
        ev.ballot("P2", {"A": "基本满意", "B": "不了解", "C": "满意"}),  # rejected: unknown unit C
        ev.ballot("P3", {"A": "不满意", "B": 61}),
        ev.ballot("P4", {"A": 99.5, "B": "满意"}),
    ]
    path = ev.write_ballots(ballots)
    first = ev.cli.json("ingest", ROUND, str(path))
    assert (first["new"], first["accepted"], first["rejected"]) == (4, 3, 1)
    before = ev.rank()
    second = ev.cli.json("ingest", ROUND, str(path))
    assert second == {
        "records": 4,
        "new": 0,
        "updated": 0,
        "unchanged": 4,
        "accepted": 3,
        "superseded": 0,
        "rejected": 1,
        "invalid": 0,
    }
    after = ev.rank()
    assert after == before
    # A: 100, 30, 99.5 -> 229.5 / 3 = 76.5; B: 88.5, 61, 100 -> 249.5 / 3 = 83.1666… -> 83.17
    assert (by_code(after)["A"]["score"], by_code(after)["B"]["score"]) == (76.5, 83.17)


# --- §2.3 group weights, §2.4 cross-system comparison ----------------------------------------


def test_group_weights_renormalise_over_groups_that_voted(evaluation) -> None:
    # group_weights 人大代表 2, 政协委员 1, 乡村干部 1 (no 乡村干部 on the panel).
    # A: 人大代表 P1 100, P2 80 -> 90; 政协委员 P3 60, P4 40 -> 50
    #    (2·90 + 1·50) / (2 + 1) = 230 / 3 = 76.666… -> 76.67
    #    (unweighted would be 70; dividing by all weights 4 would be 57.5)
    #    untrimmed mean stays the plain mean: 280 / 4 = 70
    # B: only 政协委员 vote (P3 100, P4 90) -> 95 after renormalising over that one group
    members = {"P1": "人大代表", "P2": "人大代表", "P3": "政协委员", "P4": "政协委员"}
    rules = {"min_votes": 2, "group_weights": {"人大代表": 2, "政协委员": 1, "乡村干部": 1}}
    ev = evaluation({"A": "法院", "B": "法院"}, members, rules=rules)
    ev.ingest(
        [
            ev.ballot("P1", {"A": 100, "B": "不了解"}),
            ev.ballot("P2", {"A": 80}),
            ev.ballot("P3", {"A": 60, "B": 100}),
            ev.ballot("P4", {"A": 40, "B": 90}),
        ]
    )
    units = by_code(ev.rank())
    assert (units["A"]["score"], units["A"]["votes"], units["A"]["mean"]) == (76.67, 4, 70.0)
    assert (units["B"]["score"], units["B"]["votes"]) == (95.0, 2)
    assert (units["A"]["rank_overall"], units["B"]["rank_overall"]) == (2, 1)


def test_zscore_cross_system_changes_overall_order(evaluation) -> None:
    # 法院 F1 95, F2 90, F3 85; 公安局 G1 80, G2 72, G3 58 (three equal numeric votes each).
    # raw overall: F1 1, F2 2, F3 3, G1 4, G2 5, G3 6
    # zscore (population SD within the system):
    #   法院 mean 90, deviations 5, 0, −5, var 50/3, sd 4.0825 -> z 1.2247, 0, −1.2247
    #   公安局 mean 70, deviations 10, 2, −12, var 248/3, sd 9.0921 -> z 1.0999, 0.2200, −1.3198
    #   overall: F1 1.2247 (1), G1 1.0999 (2), G2 0.2200 (3), F2 0 (4), F3 −1.2247 (5),
    #            G3 −1.3198 (6)
    # ranks within a system and published scores do not change; top 3 = F1, G1, G2
    scores = {"F1": 95, "F2": 90, "F3": 85, "G1": 80, "G2": 72, "G3": 58}
    rows = columns({c: [s] * 3 for c, s in scores.items()})
    systems = {c: "法院" if c.startswith("F") else "公安局" for c in scores}
    ev = evaluation(systems, dict.fromkeys(rows, GROUP), rules={**SMALL, "top": 3, "bottom": 2})
    ev.ingest(ev.ballot(by, row) for by, row in rows.items())

    raw = ev.rank()
    assert [u["code"] for u in raw["units"]] == ["F1", "F2", "F3", "G1", "G2", "G3"]
    assert [u["rank_overall"] for u in raw["units"]] == [1, 2, 3, 4, 5, 6]
    assert (raw["top"], raw["bottom"]) == (["F1", "F2", "F3"], ["G3", "G2"])

    z = ev.rank({**SMALL, "top": 3, "bottom": 2, "cross_system": "zscore"})
    assert [u["code"] for u in z["units"]] == ["F1", "G1", "G2", "F2", "F3", "G3"]
    assert [u["rank_overall"] for u in z["units"]] == [1, 2, 3, 4, 5, 6]
    assert (z["top"], z["bottom"]) == (["F1", "G1", "G2"], ["G3", "F3"])
    zu, ru = by_code(z), by_code(raw)
    for code in scores:
        assert zu[code]["score"] == ru[code]["score"] == scores[code]
        assert zu[code]["rank_in_system"] == ru[code]["rank_in_system"]


# --- probes of order independence and exactness ----------------------------------------------


def test_equal_submitted_at_resubmission_does_not_depend_on_delivery_order(evaluation) -> None:
    # P4 sends two ballots with the SAME submitted_at: r-a (不满意) and r-b (满意).
    # SPEC §2.2 picks the latest by submitted_at and is silent on equal times, but the outcome
    # must not depend on the order the platform delivered them (§8 "out of order"; and
    # jobs.scoring.settle_ballots promises "never depends on the order ballots arrived in").
    # Round 2026-10 receives r-a then r-b, round 2026-11 receives r-b then r-a (same data).
    # Either A = (300 + 30) / 4 = 82.5 in both rounds, or A = 400 / 4 = 100 in both.
    members = ["P1", "P2", "P3", "P4"]
    ev = evaluation({"A": "法院"}, dict.fromkeys(members, GROUP), rules=SMALL)
    scores = []
    for round_id, at, order in (
        (ROUND, AT, "ab"),
        ("2026-11", "2026-11-15T09:00:00+08:00", "ba"),
    ):
        if round_id != ROUND:
            ev.new_round(round_id, "2026-11-01", "2026-11-30", members)
        sent = {
            "a": ev.ballot("P4", {"A": "不满意"}, at=at, rid=f"{round_id}-a"),
            "b": ev.ballot("P4", {"A": "满意"}, at=at, rid=f"{round_id}-b"),
        }
        for key in order:
            ev.ingest([sent[key]])
        ev.ingest(ev.ballot(p, {"A": "满意"}, at=at) for p in ("P1", "P2", "P3"))
        scores.append(by_code(ev.rank())["A"]["score"])
    assert scores[0] == scores[1]


def test_zscore_ties_across_systems_fall_to_the_tie_breaks(evaluation) -> None:
    # 公安局 scores are exactly 2 × 法院 scores + 31.43, so each 公安局 unit has exactly the
    # z-score of its 法院 counterpart:
    #   法院   F1 27,    F2 22.44, F3 24.94: mean 74.38/3 = 24.7933…, deviations 2.2067,
    #          −2.3533, 0.1467, var 3.4764, sd 1.8645 -> z 1.1835, −1.2622, 0.0787
    #   公安局 G1 85.43, G2 76.31, G3 81.31 = 2·(27, 22.44, 24.94) + 31.43 -> the same z
    # Each pair is equal on z and on both shares (numbers: 0 and 0), so the higher untrimmed
    # mean decides: G1 (85.43) before F1 (27), G3 before F3, G2 before F2.
    scores = {"F1": 27, "F2": 22.44, "F3": 24.94, "G1": 85.43, "G2": 76.31, "G3": 81.31}
    rows = columns({c: [s] * 3 for c, s in scores.items()})
    systems = {c: "法院" if c.startswith("F") else "公安局" for c in scores}
    ev = evaluation(systems, dict.fromkeys(rows, GROUP), rules={**SMALL, "cross_system": "zscore"})
    ev.ingest(ev.ballot(by, row) for by, row in rows.items())
    ranking = ev.rank()
    assert [u["code"] for u in ranking["units"]] == ["G1", "F1", "G3", "F3", "G2", "F2"]
    assert [u["rank_overall"] for u in ranking["units"]] == [1, 2, 3, 4, 5, 6]


def test_insufficient_unit_takes_no_rank_number(run) -> None:
    # min_votes 3. A 满意 ×3 = 100 (rank 1); B 满意 ×2 = 100 but only 2 votes -> insufficient;
    # C 基本满意 ×3 = 70 -> rank 2 (B does not use up a rank number)
    ranking = run(
        {"A": ["满意"] * 3, "B": ["满意", "满意", None], "C": ["基本满意"] * 3}, rules=SMALL
    )
    units = by_code(ranking)
    assert (units["B"]["status"], units["B"]["score"], units["B"]["rank_overall"]) == (
        "insufficient",
        100.0,
        None,
    )
    assert (units["A"]["rank_overall"], units["C"]["rank_overall"]) == (1, 2)
    assert (units["A"]["rank_in_system"], units["C"]["rank_in_system"]) == (1, 2)
    assert (ranking["top"], ranking["bottom"]) == (["A", "C"], ["C", "A"])


def test_rejected_resend_under_same_response_id_does_not_replace_accepted_ballot(
    evaluation,
) -> None:
    # P1–P4 answer 满意 on A and B (P4's ballot id r-P4). Later r-P4 arrives again, changed,
    # with an off-scale value (A = 101) -> rejected, kept with its reason; but per §2.2 "a
    # rejected ballot never supersedes anything": P4's accepted 满意 still counts.
    # A = 400 / 4 = 100 with 4 votes; participation 4 / 4 / 4.
    members = ["P1", "P2", "P3", "P4"]
    ev = evaluation({"A": "法院", "B": "法院"}, dict.fromkeys(members, GROUP), rules=SMALL)
    ev.ingest(ev.ballot(p, {"A": "满意", "B": "满意"}) for p in members)
    counts = ev.ingest([ev.ballot("P4", {"A": 101, "B": "满意"})])
    assert counts["rejected"] == 1
    ranking = ev.rank()
    assert ranking["participation"] == {"seats": 4, "ballots": 4, "valid_ballots": 4}
    assert by_code(ranking)["A"]["votes"] == 4
