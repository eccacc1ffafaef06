"""``pingyi demo``: half a year of the fictional 清河县, end to end through the real commands.

The seed's practice is "一月一评议、一季一汇总、半年一总评". The demo writes the county's files
(units, pool, panels, ballots) into the output folder and drives the same ``pingyi`` commands a
user would run: six monthly rounds, each with its own drawn panel, ballots, ranking and circular
(October with the whole story: a replaced evaluator, 不了解, numeric answers, recusal, a
re-submission, a rejected and an invalid ballot, a veto); two quarterly summaries with the county
leaders' scores and rectification measures; and the half-year overall evaluation with its red
flags, accountability list and vetoed unit. Every circular is written as PDF, XLSX and JSON.
"""

from __future__ import annotations

import csv
import json
import random
import shlex
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import click

from service.cli.base import State, common
from service.cli.demo_county import COUNTY, DemoMember, county_pool, county_units
from service.cli.demo_month import (
    TZ,
    leaders_ballots,
    simulate_month,
    unit_quality,
)

MONTHS = ("2026-07", "2026-08", "2026-09", "2026-10", "2026-11", "2026-12")
ROUND = "2026-10"  # the month with the whole story
QUARTERS = {"2026-Q3": MONTHS[:3], "2026-Q4": MONTHS[3:]}
HALF = "2026-H2"
PANEL_SIZE = 100
# Fictional lottery results of ROUND: named in the announcement, then drawn "the day before".
LOTTERY_SOURCES = "快乐8 第2026283期（2026-10-19）; 双色球 第2026121期（2026-10-19）"
LOTTERY_NUMBERS = "3 7 12 18 21 25 30 33 39 41 47 52 55 60 63 66 70 72 75 79; 5 11 16 22 28 31 9"
# A well-scored police station vetoed for a serious incident: it must still be ranked last.
VETOED_UNIT = "GA-J02"
# The county leaders who score each quarter (the half year: the party secretary too).
LEADERS = (
    ("L001", "高建华", "县委书记"),
    ("L002", "周明远", "县委副书记"),
    ("L003", "林振国", "县委政法委书记"),
)
MEASURES = (
    ("群众反映窗口办事拖沓、多次往返，主要是办事指南与实际要求不一致，一次性告知制度落实不到位。",
     "修订办事指南并在窗口公示，落实首问负责和一次性告知，每月抽查回访不少于20件。"),
    ("值班值守制度执行不严，夜间电话无人接听。",
     "实行24小时值班和领导带班，值班电话转接到值班民警手机，纪检部门每周抽查。"),
    ("案件久拖不决，办案期限管理不严，未及时向当事人说明情况。",
     "建立超期案件预警台账，逐案明确责任人和办结时限，延长期限的一律书面告知当事人。"),
    ("执法态度生硬，规范执法培训不到位。",
     "开展执法规范化专题培训和案例警示教育，推行执法记录仪全程记录，群众评议纳入个人考核。"),
)  # fmt: skip
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
monthly_weight = 0.7

[circular]
body = "中共清河县委政法委员会"
doc_number = "清政法评〔{year}〕{seq}号"
title = "关于{period}全县政法系统民主评议结果的通报"
recipients = "县法院、县检察院、县公安局、县司法局，各乡镇政法委员："
cc = "县委办公室，县人大常委会办公室，县政府办公室，县政协办公室"

[circular.quarterly]
doc_number = "清政法评汇〔{year}〕{seq}号"
title = "关于{period}全县政法系统民主评议汇总情况的通报"

[circular.semiannual]
doc_number = "清政法评总〔{year}〕{seq}号"
title = "关于{period}全县政法系统民主评议总评结果的通报"

# Seats per group of the monthly panels; the county leaders (县领导) score only the quarter
# and the half year, so they are never drawn.
[draw]
quotas = { "人大代表" = 32, "政协委员" = 25, "乡镇政法委员" = 6, "乡村干部" = 23, "市场主体代表" = 14 }
"""


def _write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str) -> None:
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


def _next_month(month: str) -> tuple[int, int]:
    year, number = map(int, month.split("-"))
    return (year + 1, 1) if number == 12 else (year, number + 1)


def _lottery(rng: random.Random, month: str) -> tuple[str, str]:
    """The named lottery draws of a month's panel and their (fictional) results."""
    if month == ROUND:
        return LOTTERY_SOURCES, LOTTERY_NUMBERS
    day = f"{month}-19"
    sources = f"快乐8 第{month.replace('-', '')}19期（{day}）; 双色球 第{month.replace('-', '')}2期（{day}）"
    kl8 = " ".join(map(str, sorted(rng.sample(range(1, 81), 20))))
    ssq = " ".join(map(str, [*sorted(rng.sample(range(1, 34), 6)), rng.randint(1, 16)]))
    return sources, f"{kl8}; {ssq}"


class Demo:
    """One run: the county, its database, and ``pingyi`` as the user types it."""

    def __init__(self, main: click.Command, output: Path, seed: int, database_url: str | None,
                 echo: Callable) -> None:  # fmt: skip
        self.output, self.echo, self.main = output, echo, main
        self.rng = random.Random(seed)
        if database_url is None:
            db_file = output / "demo.sqlite"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db_file}{suffix}").unlink(missing_ok=True)
            database_url = f"sqlite:///{db_file}"
        self.db = database_url
        self.config = output / "pingyi.toml"
        self.config.write_text(CONFIG, encoding="utf-8")
        self.units = county_units()
        self.members = county_pool(self.rng, self.units)
        self.by_id: dict[str, DemoMember] = {m.id: m for m in self.members}
        self.quality = dict(
            zip(MONTHS, unit_quality(self.rng, self.units, len(MONTHS)), strict=True)
        )
        self.written: list[Path] = []
        self.measured: list[str] = []  # units given a measure, in order

    def pingyi(self, *args: str) -> None:
        self.echo(f"\n$ pingyi {' '.join(shlex.quote(a) for a in args)}")
        self.main(["--db", self.db, "--config", str(self.config), *args], standalone_mode=False)

    def setup(self) -> None:
        out = self.output
        _write_csv(out / "units.csv", ["code", "name", "system", "kind"],
                   [[u.code, u.name, u.system, u.kind] for u in self.units], "utf-8")  # fmt: skip
        # The pool comes from an office PC: GB18030 with Chinese headers, as Chinese Excel saves it.
        rows = [[m.id, m.name, m.group, m.township, ";".join(m.conflicts)] for m in self.members]
        rows += [[code, name, "县领导", "县直", ""] for code, name, _ in LEADERS]
        _write_csv(out / "pool.csv", ["编号", "姓名", "分组", "乡镇", "回避单位"], rows, "gb18030")
        self.echo(f"{COUNTY}: {len(self.units)} units, {len(self.members)} pool members and "
                  f"{len(LEADERS)} county leaders; a panel of {PANEL_SIZE} a month")  # fmt: skip
        self.pingyi("init")
        self.pingyi("import", "units", str(out / "units.csv"))
        self.pingyi("import", "pool", str(out / "pool.csv"))

    def publish(self, round_id: str, issued: str) -> None:
        """Close the round and write its circular as PDF, XLSX and JSON."""
        self.pingyi("round", "close", round_id)
        paths = [self.output / f"circular-{round_id}.{ext}" for ext in ("pdf", "xlsx", "json")]
        pdf, xlsx, data = (str(p) for p in paths)
        self.pingyi(
            "circular", round_id, "-o", pdf, "--xlsx", xlsx, "--json", data, "--date", issued
        )
        self.written += paths

    def month(self, month: str) -> None:
        """A monthly round: the draw ceremony, the ballots, (October: a veto), the circular."""
        year, number = map(int, month.split("-"))
        nxt = _next_month(month)
        closes = (datetime(*nxt, 1) - timedelta(days=1)).date().isoformat()
        self.pingyi("round", "create", month, "--kind", "monthly", "--opens", f"{month}-20",
                    "--closes", closes)  # fmt: skip
        sources, numbers = _lottery(self.rng, month)
        self.pingyi("draw", "announce", month, "--seats", str(PANEL_SIZE), "--sources", sources)
        self.echo(
            f"\n$ pingyi draw {month} --numbers '{numbers}'   (tokens go into the panel file)"
        )
        _draw_panel(self.db, month, numbers)
        story = month == ROUND
        if story:
            first = _active_seats(self.db, month)[0][1]
            self.pingyi("draw", "replace", month, first, "--reason", "因病住院，无法参加本月评议")
        self.pingyi("draw", "verify", month)
        tokens = [(t, self.by_id[mid]) for t, mid in _active_seats(self.db, month)]
        panel = {"round": month, "seats": [{"evaluator": m.id, "token": t} for t, m in tokens]}
        name = "panel.json" if story else f"panel-{month}.json"
        (self.output / name).write_text(json.dumps(panel, ensure_ascii=False, indent=1),
                                        encoding="utf-8")  # fmt: skip
        start = datetime(year, number, 20, 9, 0, tzinfo=TZ)
        ballots = simulate_month(self.rng, self.units, tokens, self.quality[month], start, story)
        ballot_file = self.output / ("ballots.jsonl" if story else f"ballots-{month}.jsonl")
        ballot_file.write_text(
            "".join(json.dumps(b, ensure_ascii=False) + "\n" for b in ballots), encoding="utf-8"
        )
        self.pingyi("ingest", month, str(ballot_file))
        if story:
            self.pingyi("veto", "add", month, VETOED_UNIT, "--reason",
                        "10月12日发生一起民警违规处置警情、造成严重不良影响的事件，经县委政法委研究"
                        "决定实行一票否决。", "--by", "县委政法委员会", "--date",
                        f"{month}-28")  # fmt: skip
        self.publish(month, f"{nxt[0]}-{nxt[1]:02d}-03")

    def summary(self, round_id: str, kind: str, parts: tuple[str, ...], leaders: tuple[str, ...],
                window: tuple[str, str], issued: str) -> None:  # fmt: skip
        """A quarter or the half year: the leaders' panel and scores, measures, the circular."""
        self.pingyi("round", "create", round_id, "--kind", kind, "--of", ",".join(parts),
                    "--opens", window[0], "--closes", window[1])  # fmt: skip
        panel = self.output / f"leaders-{round_id}.txt"
        panel.write_text("".join(f"{code}\n" for code in leaders), encoding="utf-8")
        self.pingyi("panel", "set", round_id, str(panel))
        tokens = [t for t, _ in _active_seats(self.db, round_id)]
        latest = self.quality[MONTHS[-1] if kind == "semiannual" else parts[-1]]
        at = datetime.fromisoformat(window[0]).replace(hour=10, tzinfo=TZ) + timedelta(days=1)
        ballot_file = self.output / f"ballots-{round_id}.jsonl"
        ballot_file.write_text(
            "".join(json.dumps(b, ensure_ascii=False) + "\n"
                    for b in leaders_ballots(self.rng, self.units, tokens, latest, at)),
            encoding="utf-8",
        )  # fmt: skip
        self.pingyi("ingest", round_id, str(ballot_file))
        if kind == "quarterly":
            self.pingyi("rank", round_id)
            self._measures(round_id, window[1])
        self.publish(round_id, issued)

    def _measures(self, round_id: str, closes: str) -> None:
        """Staff record causes and measures for the quarter's bottom units; a measure from the
        quarter before that is now done is closed."""
        from service.store.engine import make_engine, session_scope
        from service.store.results import latest_snapshot

        engine = make_engine(self.db)
        with session_scope(engine) as session:
            result = latest_snapshot(session, round_id).result
        engine.dispose()
        if round_id != "2026-Q3":
            self.pingyi("measure", "done", round_id, self.measured[0], "--note",
                        "办事指南已修订公示，回访满意率明显提升。", "--by", "县委政法委督查室")  # fmt: skip
        bottom = [c for c in result["bottom"] if c not in result["vetoed"]][:3]
        due = (datetime.fromisoformat(closes) + timedelta(days=75)).date().isoformat()
        for n, code in enumerate([*result["vetoed"], *bottom]):
            cause, measure = MEASURES[n % len(MEASURES)]
            self.pingyi("measure", "add", round_id, code, "--cause", cause, "--measure", measure,
                        "--due", due, "--by", "县委政法委督查室")  # fmt: skip
            self.measured.append(code)


def run_demo(
    main: click.Command,
    output: Path,
    seed: int = 20261031,
    database_url: str | None = None,
    echo: Callable = print,
) -> list[Path]:
    """Run the half year through ``main`` (the ``pingyi`` command); returns the files written."""
    output.mkdir(parents=True, exist_ok=True)
    demo = Demo(main, output, seed, database_url, echo)
    demo.setup()
    leaders = tuple(code for code, _, _ in LEADERS)
    for month in MONTHS[:3]:
        demo.month(month)
    demo.summary("2026-Q3", "quarterly", QUARTERS["2026-Q3"], leaders[1:],
                 ("2026-10-08", "2026-10-12"), "2026-10-15")  # fmt: skip
    for month in MONTHS[3:]:
        demo.month(month)
    demo.summary("2026-Q4", "quarterly", QUARTERS["2026-Q4"], leaders[1:],
                 ("2027-01-06", "2027-01-10"), "2027-01-12")  # fmt: skip
    demo.summary(HALF, "semiannual", tuple(QUARTERS), leaders,
                 ("2027-01-13", "2027-01-18"), "2027-01-20")  # fmt: skip
    return demo.written


def _draw_panel(database_url: str, round_id: str, numbers: str) -> None:
    """``pingyi draw`` without printing 100 tokens to the terminal."""
    from jobs.draw.ceremony import draw
    from jobs.draw.method import seed_from_numbers
    from service.store.engine import make_engine, session_scope

    engine = make_engine(database_url)
    with session_scope(engine) as session:
        draw(session, round_id, seed_from_numbers(numbers))
    engine.dispose()


def _active_seats(database_url: str, round_id: str) -> list[tuple[str, str]]:
    """(token, pool id) of the round's active seats, in seat order."""
    from service.store.engine import make_engine, session_scope
    from service.store.rounds import panel

    engine = make_engine(database_url)
    with session_scope(engine) as session:
        seats = [
            (seat.token, mid) for seat, mid in panel(session, round_id) if seat.status == "active"
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
    """Half a year on a fictional county, end to end; prints the files it wrote."""
    main = click.get_current_context().find_root().command
    paths = run_demo(main, output, seed=seed, database_url=state.db, echo=click.echo)
    click.echo("\nThe circulars:")
    for path in paths:
        click.echo(f"  {path}")
