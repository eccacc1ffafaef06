"""LimeSurvey sources from the command line: add, list, push the panel, and a month end to end.

The platform is a fake RemoteControl endpoint over real HTTP, serving the recorded survey and
responses (tests/fake_limesurvey.py); every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from sqlalchemy import select, update

from connectors.limesurvey.connector import LimeSurvey
from service.models.audit import AuditEntry
from service.models.ballots import Ballot
from service.models.rounds import Seat
from service.models.sources import Source
from service.store.engine import make_engine, session_scope
from tests.conftest import Cli
from tests.fake_limesurvey import ROUND, FakeLimeSurvey, answer_as_seats, load_fixture, setup_round

PASSWORD = "s3cret-pw"


@pytest.fixture(autouse=True)
def ls_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LS_PASSWORD", PASSWORD)


def add(cli: Cli, fake: FakeLimeSurvey, *extra: str, name: str = "ls", ok: bool = True) -> str:
    return cli(
        "source", "add", name, "--kind", "limesurvey", "--round", ROUND, "--url", fake.url,
        "--survey", "248135", "--username", "admin", "--password-env", "LS_PASSWORD", *extra, ok=ok,
    )  # fmt: skip


def scale(tmp_path: Path, text: str = "factor = 10\n") -> str:
    path = tmp_path / "scale.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_source_add_refuses_a_sub_question_that_is_not_a_unit(cli, tmp_path: Path) -> None:
    four_units = "code,name,system\nU01,a,法院\nU02,b,法院\nU03,c,法院\nU04,d,公安局\n"
    setup_round(cli, tmp_path, units=four_units)
    with FakeLimeSurvey() as fake:
        out = add(cli, fake, "--scale", scale(tmp_path), ok=False)
    assert "sub-question codes that are not unit codes: U05 (Unit 05 - Municipal Services)" in out
    assert cli.json("source", "list") == []


def test_source_add_names_what_cannot_work(cli, tmp_path: Path, monkeypatch) -> None:
    setup_round(cli, tmp_path)
    with FakeLimeSurvey() as fake:
        assert "question 'NOPE' is not in the survey" in add(
            cli, fake, "--question", "NOPE", ok=False
        )
        assert "its answers 1–10 need a scale file" in add(cli, fake, ok=False)
        no_token = copy.deepcopy(fake.fieldmap)
        del no_token["token"]  # an anonymized survey, or one without participants
        fake.fieldmap = no_token
        assert "keeps no access code with its responses" in add(
            cli, fake, "--scale", scale(tmp_path), ok=False
        )
        monkeypatch.setenv("LS_PASSWORD", "wrong")
        fake.calls.clear()
        out = add(cli, fake, "--scale", scale(tmp_path), ok=False)
        assert (
            "get_session_key: Invalid user name or password (user admin, password from $LS_PASSWORD)"
            in out
        )
        assert fake.calls == ["get_session_key"]
        monkeypatch.delenv("LS_PASSWORD")
        assert "environment variable LS_PASSWORD is not set" in add(cli, fake, ok=False)


def test_sources_keep_no_secret_and_list_shows_only_the_variable(
    cli, tmp_path: Path, monkeypatch
) -> None:
    setup_round(cli, tmp_path)
    with FakeLimeSurvey() as fake:
        out = add(cli, fake, "--scale", scale(tmp_path))
        assert "question SCORES (type B): 5 units" in out and "× 10" in out
        assert "already exists" in add(cli, fake, "--scale", scale(tmp_path), ok=False)
        assert "updated" in add(cli, fake, "--scale", scale(tmp_path, "factor = 9\n"), "--replace")
    listed = cli("source", "list")
    assert "password in $LS_PASSWORD set" in listed and PASSWORD not in listed
    monkeypatch.delenv("LS_PASSWORD")
    [row] = cli.json("source", "list")
    assert row["secrets_set"] == {"LS_PASSWORD": False}
    assert row["config"]["password_env"] == "LS_PASSWORD" and row["question"] == "SCORES"
    with session_scope(make_engine(cli.db)) as s:
        stored = [
            json.dumps(src.config) + json.dumps(src.mapping) for src in s.scalars(select(Source))
        ]
        stored += [json.dumps(a.detail, ensure_ascii=False) for a in s.scalars(select(AuditEntry))]
    assert stored and not any(PASSWORD in text for text in stored)


def test_push_panel_twice_adds_nobody_twice_and_invalidates_replaced_seats(
    cli, tmp_path: Path
) -> None:
    tokens = setup_round(cli, tmp_path)
    with FakeLimeSurvey() as fake:
        add(cli, fake, "--scale", scale(tmp_path))
        fake.participants.append(
            {
                "tid": 99,
                "token": "handmade1",
                "firstname": "",
                "lastname": "staff test",
                "email": "",
            }
        )  # someone added by hand on the platform is left alone
        first = cli.json("source", "push-panel", "ls")
        assert (first["added"], first["present"], first["foreign"]) == (5, 0, 1)
        ours = [p for p in fake.participants if p["tid"] != 99]
        assert sorted(p["token"] for p in ours) == sorted(
            LimeSurvey.platform_token(t) for t in tokens
        )
        # No names, e-mail or group leave pingyi; the label is the seat.
        assert {(p["firstname"], p["email"]) for p in ours} == {("", "")}
        assert ours[0]["lastname"] == f"{ROUND} seat 1"
        assert cli.json("source", "push-panel", "ls") == {
            "source": "ls", "round": ROUND, "added": 0, "present": 5, "invalidated": 0,
            "already_invalid": 0, "foreign": 1,
        }  # fmt: skip
        assert len(fake.participants) == 6
        with session_scope(make_engine(cli.db)) as s:
            s.execute(update(Seat).where(Seat.token == tokens[1]).values(status="replaced"))
        out = cli("source", "push-panel", "ls")
        assert "0 participants added, 4 already there, 1 invalidated" in out
        gone = next(
            p for p in fake.participants if p["token"] == LimeSurvey.platform_token(tokens[1])
        )
        assert gone["usesleft"] == 0 and gone["validuntil"]
        again = cli.json("source", "push-panel", "ls")
        assert (again["invalidated"], again["already_invalid"]) == (0, 1)


def test_push_panel_with_group_sends_the_group_only(cli, tmp_path: Path) -> None:
    setup_round(cli, tmp_path)
    with FakeLimeSurvey() as fake:
        add(cli, fake, "--scale", scale(tmp_path))
        cli("source", "push-panel", "ls", "--with-group")
        assert sorted({p["firstname"] for p in fake.participants}) == [
            "乡村干部",
            "人大代表",
            "政协委员",
        ]


def test_a_month_end_to_end_add_push_poll_rank(db_url: str, tmp_path: Path) -> None:
    config = tmp_path / "pingyi.toml"
    config.write_text("[rules]\nmin_votes = 1\n", encoding="utf-8")
    cli = Cli(db_url, config)
    cli("init")
    setup_round(cli, tmp_path)
    with FakeLimeSurvey() as fake:
        add(cli, fake, "--scale", scale(tmp_path))
        cli("source", "push-panel", "ls")
        # The recorded J01..J05 answer through the access codes pingyi pushed.
        answer_as_seats(fake, [s["token"] for s in cli.json("panel", "show", ROUND)["seats"]])
        polled = cli.json("poll")
    assert polled == [
        {"source": "ls", "round": ROUND, "new": 3, "updated": 0, "unchanged": 0, "rejected": 1,
         "accepted": 2, "superseded": 0, "invalid": 0, "error": None, "skipped": None}
    ]  # fmt: skip
    ranking = cli.json("rank", ROUND)
    assert ranking["participation"] == {"seats": 5, "ballots": 2, "valid_ballots": 2}
    assert ranking["valid"] is False  # 2 valid ballots of 5 seats: no quorum
    got = {
        u["code"]: (u["score"], u["votes"], u["rank_overall"], u["rank_in_system"])
        for u in ranking["units"]
    }
    # J01 answered 7 9 4 10 6 and J03 8 6 9 2 5 on the 10-point array: points × 10, then means.
    assert got == {
        "U01": (75.0, 2, 1, 1), "U02": (75.0, 2, 1, 1), "U03": (65.0, 2, 3, 3),
        "U04": (60.0, 2, 4, 1), "U05": (55.0, 2, 5, 2),
    }  # fmt: skip
    with session_scope(make_engine(cli.db)) as s:
        rejected = s.scalars(select(Ballot).where(Ballot.status == "rejected")).one()
    assert (
        rejected.response_id == "3" and rejected.reason == f"token is not a seat of round {ROUND}"
    )


def test_two_axis_numbers_array_scores_each_criterion(db_url: str, tmp_path: Path) -> None:
    config = tmp_path / "pingyi.toml"
    config.write_text(
        '[rules]\nmin_votes = 1\ncriteria = [{name = "质量", weight = 1}, {name = "时效", weight = 1}]\n',
        encoding="utf-8",
    )
    cli = Cli(db_url, config)
    cli("init")
    tokens = setup_round(cli, tmp_path)
    crit = scale(tmp_path, '[criteria]\nQUAL = "质量"\nTIME = "时效"\n')
    with FakeLimeSurvey() as fake:
        assert "2 criteria" not in add(cli, fake, "--question", "SCORENUM", "--scale", crit)
        answer_as_seats(fake, tokens)
        assert cli.json("poll", "ls")[0]["accepted"] == 2
    units = {u["code"]: u["score"] for u in cli.json("rank", ROUND)["units"]}
    # U01: J01 (70+65)/2 = 67.5, J03 (81+77)/2 = 79 -> 73.25
    assert units["U01"] == 73.25 and units["U04"] == (98 + 22.5) / 2


def test_answer_options_labelled_with_the_scale_map_by_label(db_url: str, tmp_path: Path) -> None:
    config = tmp_path / "pingyi.toml"
    config.write_text("[rules]\nmin_votes = 1\n", encoding="utf-8")
    cli = Cli(db_url, config)
    cli("init")
    tokens = setup_round(cli, tmp_path)
    fieldmap = load_fixture("get-fieldmap.json")
    for entry in fieldmap.values():
        if entry.get("title") == "SCORES":
            entry["type"] = "F"  # the recorded rows as an Array with answer options
    codes = {
        "7": "A1",
        "9": "A1",
        "4": "A3",
        "10": "A1",
        "6": "A2",
        "8": "A1",
        "2": "A3",
        "5": "A4",
    }
    with FakeLimeSurvey(
        fieldmap=fieldmap,
        answer_options={1: {"A1": "满意", "A2": "基本满意", "A3": "不满意", "A4": "不了解"}},
    ) as fake:
        for row in fake.responses:
            for key in [k for k in row if k.startswith("SCORES[")]:
                row[key] = codes.get(row[key], row[key])
        out = add(cli, fake)
        assert "A1 → 满意, A2 → 基本满意, A3 → 不满意, A4 → 不了解" in out
        answer_as_seats(fake, tokens)
        cli("poll")
    units = {u["code"]: (u["score"], u["votes"]) for u in cli.json("rank", ROUND)["units"]}
    # U05: J01 基本满意 (70), J03 不了解 (no vote)
    assert units["U05"] == (70.0, 1) and units["U01"] == (100.0, 2) and units["U03"] == (65.0, 2)


def test_push_panel_writes_the_links_the_office_sends(cli, tmp_path: Path) -> None:
    tokens = setup_round(cli, tmp_path)
    with session_scope(make_engine(cli.db)) as s:
        s.execute(update(Seat).where(Seat.token == tokens[4]).values(status="void"))
    with FakeLimeSurvey() as fake:
        add(cli, fake, "--scale", scale(tmp_path))
        out = cli("source", "push-panel", "ls", "--links", str(tmp_path / "out" / "links.csv"))
        site = fake.url.split("/index.php")[0]
    assert "keep it private" in out
    lines = (tmp_path / "out" / "links.csv").read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "evaluator,name,group,link" and len(lines) == 5  # the void seat has none
    by_id = {line.split(",")[0]: line.split(",") for line in lines[1:]}
    code = LimeSurvey.platform_token(tokens[0])
    assert by_id["P1"] == ["P1", "甲", "人大代表", f"{site}/index.php/248135?token={code}"]
    assert "P5" not in by_id
