"""``pingyi demo``: a realistic month on the fictional 清河县, end to end through the real commands.

It writes the county's files (units, pool, panel, ballots) into the output folder and drives the
same ``pingyi`` commands a user would run, so the demo exercises the real path: import, round,
panel, ingest (with 不了解, numeric answers, recusal, a re-submission, a rejected ballot and an
invalid one), a veto, the ranking and the circular (PDF, XLSX, JSON).
"""

from __future__ import annotations

import csv
import json
import random
import shlex
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from service.cli.base import State, common
from service.cli.demo_county import COUNTY, DemoMember, DemoUnit, county_pool, county_units

ROUND = "2026-10"
TZ = ZoneInfo("Asia/Shanghai")
PANEL_SIZE = 100
# Fictional lottery results: named in the announcement, then drawn "the day before" the draw.
LOTTERY_SOURCES = "快乐8 第2026283期（2026-10-19）; 双色球 第2026121期（2026-10-19）"
LOTTERY_NUMBERS = "3 7 12 18 21 25 30 33 39 41 47 52 55 60 63 66 70 72 75 79; 5 11 16 22 28 31 9"
# A well-scored police station vetoed for a serious incident: it must still be ranked last.
VETOED_UNIT = "GA-J02"
COMMENTS = {
    "good": (
        "办事效率高，群众满意。",
        "窗口服务热情周到，值得表扬。",
        "工作作风扎实，回应及时。",
        "调解纠纷耐心细致，当事人认可。",
    ),
    "bad": (
        "办事拖沓，多次往返才办成，联系电话 138 1234 5678 长期无人接听。",
        "执法态度生硬，群众反映强烈。",
        "案件久拖不决，身份证号 430102198803154417 的当事人已投诉多次。",
        "<b>回复敷衍</b>，希望整改落实到位。",
        "值班电话夜间无人接听，群众求助不便。",
        "对群众诉求推诿扯皮，要求到其他部门反映。",
        "办案期限一再延长，未向当事人说明理由。",
        "窗口人员业务不熟，同一材料要求补交三次。",
        "接警后出警慢，处置不够规范。",
        "政务公开不到位，办事指南与实际要求不一致。",
        "工作日上午窗口经常无人，群众等待时间长。",
        "对投诉的答复照搬条文，没有解决实际问题。",
    ),
}

CONFIG = """# 清河县 demo: the docs/rules.md defaults, written out so a reader sees the rules in force.
[rules]
scale = { "满意" = 100, "基本满意" = 70, "不满意" = 30 }
no_vote = ["不了解"]
min_coverage = 0.5
quorum = "2/3"
min_votes = 10
trim_min_n = 7
trim = 1
top = 10
bottom = 5

[circular]
body = "中共清河县委政法委员会"
doc_number = "清政法评〔{year}〕{seq}号"
title = "关于{period}全县政法系统民主评议结果的通报"
recipients = "县法院、县检察院、县公安局、县司法局，各乡镇政法委员："
cc = "县委办公室，县人大常委会办公室，县政府办公室，县政协办公室"
date = "2026年11月3日"
"""


def _write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str) -> None:
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


def _answer(rng: random.Random, quality: float, leniency: float, numeric: bool) -> object:
    if numeric:
        return round(min(100.0, max(0.0, rng.gauss(quality * 100 + leniency * 40, 8))) * 2) / 2
    p = quality + leniency + rng.gauss(0, 0.15)
    if p > 0.8:
        return "满意"
    return "基本满意" if p > 0.45 else "不满意"


def simulate_ballots(
    rng: random.Random, units: list[DemoUnit], seats: list[tuple[str, DemoMember]]
) -> list[dict]:
    """Ballots of a month: most seats answer once, some not at all, one twice, one too little."""
    quality = {u.code: min(0.95, max(0.3, rng.gauss(0.72, 0.12))) for u in units}
    weak = rng.sample([u.code for u in units], 6)
    for code in weak:
        quality[code] = rng.uniform(0.3, 0.45)
    start = datetime(2026, 10, 20, 9, 0, tzinfo=TZ)
    ballots = []
    for i, (token, _member) in enumerate(seats):
        if i % 25 == 24:  # four seats never answer
            continue
        leniency = rng.gauss(0, 0.08)
        numeric = i % 10 == 3
        known = 0.08 if i in (5, 61) else rng.uniform(0.65, 0.95)
        answers, comments = {}, {}
        for unit in units:
            if rng.random() > known:
                answers[unit.code] = "不了解"
                continue
            answers[unit.code] = _answer(rng, quality[unit.code], leniency, numeric)
            if unit.code in weak and rng.random() < 0.12:
                comments[unit.code] = rng.choice(COMMENTS["bad"])
            elif rng.random() < 0.01:
                comments[unit.code] = rng.choice(COMMENTS["good"])
        at = start + timedelta(minutes=97 * i + rng.randint(0, 60))
        ballots.append(_ballot(f"ls-{i + 1:04d}", token, at, answers, comments))
    # A re-submission: seat 7 changes its mind two days later; the later ballot wins.
    first = next(b for b in ballots if b["token"] == seats[7][0])
    again = dict(first, id="ls-resubmit-0008", answers=dict(first["answers"]))
    again["submitted_at"] = (
        datetime.fromisoformat(first["submitted_at"]) + timedelta(days=2)
    ).isoformat()
    for code in list(again["answers"])[:10]:
        again["answers"][code] = "满意"
    ballots.append(again)
    # A forwarded link: a token that is no seat of the round is rejected and kept.
    ballots.append(_ballot("ls-9001", "forwarded-link-token", start, {units[0].code: "满意"}, {}))
    # A late ballot, after the window closed.
    late = datetime(2026, 11, 2, 10, 0, tzinfo=TZ)
    ballots.append(_ballot("ls-9002", seats[24][0], late, {u.code: "满意" for u in units}, {}))
    return ballots


def _ballot(rid: str, token: str, at: datetime, answers: dict, comments: dict) -> dict:
    return {
        "id": rid,
        "token": token,
        "submitted_at": at.isoformat(),
        "answers": answers,
        "comments": comments,
    }


def run_demo(
    main: click.Command,
    output: Path,
    seed: int = 20261031,
    database_url: str | None = None,
    echo: Callable = print,
) -> list[Path]:
    """Run the month through ``main`` (the ``pingyi`` command); returns the files written."""
    output.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    if database_url is None:
        db_file = output / "demo.sqlite"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_file}{suffix}").unlink(missing_ok=True)
        database_url = f"sqlite:///{db_file}"
    config = output / "pingyi.toml"
    config.write_text(CONFIG, encoding="utf-8")

    def pingyi(*args: str) -> None:
        echo(f"\n$ pingyi {' '.join(shlex.quote(a) for a in args)}")
        main(["--db", database_url, "--config", str(config), *args], standalone_mode=False)

    units = county_units()
    members = county_pool(rng, units)
    _write_csv(output / "units.csv", ["code", "name", "system", "kind"],
               [[u.code, u.name, u.system, u.kind] for u in units], "utf-8")  # fmt: skip
    # The pool comes from an office PC: GB18030 with Chinese headers, as Chinese Excel saves it.
    _write_csv(output / "pool.csv", ["编号", "姓名", "分组", "乡镇", "回避单位"],
               [[m.id, m.name, m.group, m.township, ";".join(m.conflicts)] for m in members],
               "gb18030")  # fmt: skip
    echo(f"{COUNTY}: {len(units)} units, {len(members)} pool members, a panel of {PANEL_SIZE}")

    pingyi("init")
    pingyi("import", "units", str(output / "units.csv"))
    pingyi("import", "pool", str(output / "pool.csv"))
    pingyi(
        "round",
        "create",
        ROUND,
        "--kind",
        "monthly",
        "--opens",
        "2026-10-20",
        "--closes",
        "2026-10-31",
    )
    # The draw ceremony (README): announce, wait for the lottery, draw, replace, verify.
    pingyi("draw", "announce", ROUND, "--seats", str(PANEL_SIZE), "--sources", LOTTERY_SOURCES)
    echo(f"\n$ pingyi draw {ROUND} --numbers '{LOTTERY_NUMBERS}'   (tokens go into panel.json)")
    _draw_panel(database_url)
    first = _active_seats(database_url)[0][1]
    pingyi("draw", "replace", ROUND, first, "--reason", "因病住院，无法参加本月评议")
    pingyi("draw", "verify", ROUND)
    by_id = {m.id: m for m in members}
    tokens = [(token, by_id[mid]) for token, mid in _active_seats(database_url)]
    (output / "panel.json").write_text(
        json.dumps({"round": ROUND, "seats": [{"evaluator": m.id, "token": t} for t, m in tokens]},
                   ensure_ascii=False, indent=1), encoding="utf-8")  # fmt: skip
    ballots = simulate_ballots(rng, units, tokens)
    ballot_file = output / "ballots.jsonl"
    ballot_file.write_text(
        "".join(json.dumps(b, ensure_ascii=False) + "\n" for b in ballots), encoding="utf-8"
    )
    pingyi("ingest", ROUND, str(ballot_file))
    vetoed = next(u for u in units if u.code == VETOED_UNIT)
    pingyi("veto", "add", ROUND, vetoed.code, "--reason",
           "10月12日发生一起民警违规处置警情、造成严重不良影响的事件，经县委政法委研究决定实行一票否决。",
           "--by", "县委政法委员会")  # fmt: skip
    pingyi("rank", ROUND)
    pdf, xlsx, data = (output / f"circular-{ROUND}.{ext}" for ext in ("pdf", "xlsx", "json"))
    pingyi("circular", ROUND, "-o", str(pdf), "--xlsx", str(xlsx), "--json", str(data))
    return [pdf, xlsx, data]


def _draw_panel(database_url: str) -> None:
    """``pingyi draw`` without printing 100 tokens to the terminal."""
    from jobs.draw.ceremony import draw
    from jobs.draw.method import seed_from_numbers
    from service.store.engine import make_engine, session_scope

    engine = make_engine(database_url)
    with session_scope(engine) as session:
        draw(session, ROUND, seed_from_numbers(LOTTERY_NUMBERS))
    engine.dispose()


def _active_seats(database_url: str) -> list[tuple[str, str]]:
    """(token, pool id) of the round's active seats, in seat order."""
    from service.store.engine import make_engine, session_scope
    from service.store.rounds import panel

    engine = make_engine(database_url)
    with session_scope(engine) as session:
        seats = [
            (seat.token, mid) for seat, mid in panel(session, ROUND) if seat.status == "active"
        ]
    engine.dispose()
    return seats


@click.command()
@click.option(
    "-o", "--output", type=click.Path(path_type=Path, file_okay=False), default="demo-out"
)
@click.option("--seed", default=20261031, show_default=True, help="Seed of the simulation.")
@common
def demo(state: State, output: Path, seed: int) -> None:
    """A realistic month on a fictional county, end to end; prints the files it wrote."""
    main = click.get_current_context().find_root().command
    paths = run_demo(main, output, seed=seed, database_url=state.db, echo=click.echo)
    click.echo("\nThe month's circular:")
    for path in paths:
        click.echo(f"  {path}")
