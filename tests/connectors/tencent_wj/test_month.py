"""A small month through the command line and the receiver: a 腾讯问卷 source added against the
stand-in, answers arriving by webhook, by poll, and both ways, and the ranking compared with the
same ballots ingested as canonical ballots into a second database. On SQLite and PostgreSQL (the
second database is SQLite)."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select

from connectors.tencent_wj.answers import read_time
from connectors.tencent_wj.hooks import hook_key
from service.config import Config
from service.models.ballots import Ballot
from service.store.engine import make_engine, session_scope
from service.web.app import create_app
from tests.conftest import Cli
from tests.connectors.tencent_wj.conftest import VAR, add_source
from tests.connectors.tencent_wj.stand_in import SECRET, event, make_answer
from tests.fake_limesurvey import ROUND, setup_round

NAMES = {"U01": "财政局", "U02": "卫健局", "U03": "税务局", "U04": "统计局", "U05": "城管局"}
LABELS = ["满意", "基本满意", "不满意", "不了解"]
# (answer id, seat, Beijing time, labels for U01..U05): seat 0 answers twice (answer 6 wins).
MONTH = [
    (1, 0, "2026-11-03 09:00:00", "满意 满意 基本满意 不满意 满意"),
    (2, 1, "2026-11-04 21:30:00", "基本满意 满意 满意 满意 不了解"),
    (3, 2, "2026-11-05 08:15:00", "满意 不满意 满意 基本满意 满意"),
    (4, 3, "2026-11-06 12:00:00", "不满意 满意 基本满意 满意 满意"),
    (5, 4, "2026-11-30 23:10:00", "满意 基本满意 不满意 满意 基本满意"),
    (6, 0, "2026-11-07 10:00:00", "基本满意 满意 满意 满意 不满意"),
]
PUSHED, POLLED = {1, 2, 3, 6}, {3, 4, 5}  # answer 3 comes both ways


def rows(labels: str) -> dict[str, str]:
    # Rows titled by name, one by code, as an office would build the matrix.
    titles = [NAMES["U01"], NAMES["U02"], "U03", NAMES["U04"], NAMES["U05"]]
    return dict(zip(titles, labels.split(), strict=True))


def canonical(seats: list[str]) -> list[dict]:
    return [
        {
            "id": f"c{aid}",
            "token": seats[seat],
            "submitted_at": read_time(at).isoformat(),
            "answers": dict(zip(NAMES, labels.split(), strict=True)),
        }
        for aid, seat, at, labels in MONTH
    ]


def test_a_month_by_webhook_and_poll_ranks_as_the_same_ballots_in_canonical_form(
    cli, seats, stand_in, tmp_path: Path, sqlite_template
) -> None:
    out = add_source(cli, stand_in, "--link", "https://wj.qq.com/s2/5356056/ab12/")
    hook = f"/hooks/twj/{hook_key(SECRET, 'twj')}"
    assert hook in out
    answers = {aid: make_answer(aid, seats[s], at, rows(lb)) for aid, s, at, lb in MONTH}
    # A stranger's answer (no seat) with a row the round does not have: kept, rejected.
    answers[7] = make_answer(7, "nobody", "2026-11-08 10:00:00", {"县志办": "满意"})
    client = create_app(Config(database_url=cli.db, environ={VAR: SECRET})).test_client()
    for aid in sorted(PUSHED):  # the platform holds the answer before it pushes
        stand_in.answers.append(answers[aid])
        assert client.post(hook, data=event("answer.create", aid)).status_code == 202
    stand_in.answers += [answers[4], answers[5], answers[7]]
    [polled] = cli.json("poll")
    assert (polled["new"], polled["unchanged"], polled["rejected"]) == (3, 4, 1)
    assert cli.json("poll", "twj", "--full")[0]["unchanged"] == 7
    with session_scope(make_engine(cli.db)) as s:
        versions = dict(
            s.execute(select(Ballot.response_id, func.count()).group_by(Ballot.response_id)).all()
        )
        status = dict(s.execute(select(Ballot.response_id, Ballot.status)).all())
    assert versions == {str(n): 1 for n in range(1, 8)}  # each answer once, whichever way
    assert status == {"1": "superseded", "2": "accepted", "3": "accepted", "4": "accepted",
                      "5": "accepted", "6": "accepted", "7": "rejected"}  # fmt: skip
    # Few votes a unit in a small month: rank from three on, so ranks and lists are there.
    rules = tmp_path / "pingyi.toml"
    rules.write_text("[rules]\nmin_votes = 3\ntop = 2\nbottom = 1\n", encoding="utf-8")
    ranked = Cli(cli.db, rules).json("rank", ROUND)
    assert {u["code"]: u["rank_overall"] for u in ranked["units"]} == {
        "U04": 1, "U02": 2, "U03": 2, "U05": 4, "U01": 5,
    }  # fmt: skip

    (tmp_path / "second").mkdir()
    second = Cli(sqlite_template.fresh(tmp_path / "second" / "pingyi.sqlite"), rules)
    other_seats = setup_round(second, tmp_path / "second")
    ballots = tmp_path / "canonical.jsonl"
    ballots.write_text(
        "\n".join(json.dumps(b, ensure_ascii=False) for b in canonical(other_seats)), "utf-8"
    )
    ingested = second.json("ingest", ROUND, str(ballots))
    assert (ingested["accepted"], ingested["superseded"], ingested["rejected"]) == (5, 1, 0)
    assert second.json("rank", ROUND) == ranked
