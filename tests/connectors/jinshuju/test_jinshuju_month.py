"""One small month on 金数据, end to end through the command line and the receiver: the source is
added against the stand-in, some entries arrive as pushes (re-read through the API), then a poll
reads every entry (the pushed ones again, counted once: the same serial numbers), and
``pingyi rank --json`` gives exactly the ranking that the same ballots give when ingested as
canonical ballots into a second database."""

from __future__ import annotations

import json
from pathlib import Path

from service.config import Config
from service.web.app import create_app
from tests.connectors.jinshuju.conftest import ENV, add_source
from tests.connectors.jinshuju.stand_in import StandIn, make_entry
from tests.connectors.jinshuju.test_jinshuju_push import KEY, ballots, push_body
from tests.fake_limesurvey import ROUND, setup_round
from tests.harness.command_line import Cli

# Row title on the form -> the label each seat chose; 县城市管理局 is U05, 一般 is 基本满意.
CHOICES = [
    {"财政局": "满意", "卫健局": "满意", "税务局": "一般", "U04": "不满意", "县城市管理局": "满意"},
    {
        "财政局": "满意",
        "卫健局": "一般",
        "税务局": "满意",
        "U04": "不了解",
        "县城市管理局": "不满意",
    },
    {"财政局": "一般", "卫健局": "满意", "税务局": "满意", "U04": "满意", "县城市管理局": "一般"},
    {"财政局": "满意", "卫健局": "不满意", "税务局": "满意", "U04": "一般", "县城市管理局": "满意"},
    {
        "财政局": "不满意",
        "卫健局": "满意",
        "税务局": "不了解",
        "U04": "满意",
        "县城市管理局": "满意",
    },
]
UNIT = {"财政局": "U01", "卫健局": "U02", "税务局": "U03", "U04": "U04", "县城市管理局": "U05"}
LABEL = {"一般": "基本满意"}


def times(n: int) -> str:
    """Submission times in UTC, as 金数据 writes them. The round opens 2026-11-01 in Beijing time:
    seat 5 answered at 01:00 on its first day (17:00 UTC the day before)."""
    if n == 5:
        return "2026-10-31T17:00:00.000Z"
    return f"2026-11-{10 + n:02d}T01:30:00.000Z"  # 09:30 Beijing time


def canonical(seat_tokens: list[str]) -> list[dict]:
    """The month's ballots as canonical ballots: what the 金数据 entries say, unit codes and labels
    of the round, the same ids and times; seat 1's second entry (serial 6) supersedes its first."""
    out = []
    for serial, (seat, rows) in enumerate([*enumerate(CHOICES), (0, CHOICES[4])], start=1):
        out.append({
            "id": str(serial), "token": seat_tokens[seat],
            "submitted_at": times(serial).replace(".000Z", "+00:00"),
            "answers": {UNIT[r]: LABEL.get(c, c) for r, c in rows.items()},
        })  # fmt: skip
    return out


def test_a_month_pushed_and_polled_ranks_as_its_canonical_ballots(
    cli, tmp_path: Path, jinshuju, sqlite_template
) -> None:
    tokens = setup_round(cli, tmp_path)
    # Seat 4's entry carries API codes, as 金数据's newer tools write them (read via the schema).
    entries = [
        make_entry(n + 1, tokens[n], rows, at=times(n + 1), codes=n == 3)
        for n, rows in enumerate(CHOICES)
    ]
    entries.append(make_entry(6, tokens[0], CHOICES[4], at=times(6)))  # seat 1 answers again
    entries.append(make_entry(7, None, CHOICES[0], at=times(7)))  # opened without a link
    # 23:30 on 31 October in Beijing: before the round opened, though 1 November is near in UTC.
    entries.append(make_entry(8, tokens[1], CHOICES[0], at="2026-10-31T15:30:00.000Z"))
    with StandIn(entries[:3], page_size=2) as site:
        assert "金数据 数据推送 address" in add_source(cli, tmp_path, site.url)
        client = create_app(Config(database_url=cli.db, environ=ENV)).test_client()
        for entry in entries[:3]:  # pushed as they are submitted …
            assert client.post(f"/hooks/js/{KEY}", data=push_body(entry)).status_code == 202
        site.entries += entries[3:]  # … then 金数据 stopped pushing; the poll reconciles
        [polled] = json.loads(cli("poll", "js", "--json"))
        assert (polled["new"], polled["unchanged"]) == (5, 3)
        [again] = json.loads(cli("poll", "js", "--json"))
        assert again["new"] == 0 and site.count("entry") == 3
    stored = ballots(cli)
    assert (stored["1"][0], stored["6"][0], stored["7"][0]) == (
        "superseded",
        "accepted",
        "rejected",
    )
    assert "no seat token: x_field_1 is empty" in stored["7"][1]
    assert stored["5"][0] == "accepted" and stored["8"][0] == "rejected"
    assert "before the round opened (2026-10-31T16:00:00+00:00)" in stored["8"][1]
    ranking = json.loads(cli("rank", ROUND, "--json"))
    assert ranking["participation"] == {"seats": 5, "ballots": 5, "valid_ballots": 5}
    scores = {u["code"]: (u["score"], u["votes"]) for u in ranking["units"]}
    assert scores == {
        "U01": (66.0, 5), "U02": (80.0, 5), "U03": (100.0, 3), "U04": (92.5, 4), "U05": (80.0, 5),
    }  # fmt: skip

    (tmp_path / "canonical").mkdir()
    other = Cli(sqlite_template.fresh(tmp_path / "canonical" / "pingyi.sqlite"))
    other_tokens = setup_round(other, tmp_path / "canonical")
    canonical_file = tmp_path / "canonical" / "ballots.json"
    canonical_file.write_text(
        json.dumps(canonical(other_tokens), ensure_ascii=False), encoding="utf-8"
    )
    ingested = other.json("ingest", ROUND, str(canonical_file))
    assert ingested["new"] == 6
    assert json.loads(other("rank", ROUND, "--json")) == ranking
