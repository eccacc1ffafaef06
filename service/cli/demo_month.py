"""The simulated evaluators of the demo county: their answers, comments and leaders' scores.

Units have a lasting quality with a small drift month to month (and two with a trend: one
improving after its rectification, one slipping), so ranks move the way real ones do and the
rank-over-months charts have something to show. Everything is drawn from one seeded generator:
the same seed gives the same county, the same ballots and the same circulars.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from service.cli.demo_county import DemoMember, DemoUnit

TZ = ZoneInfo("Asia/Shanghai")
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
    "leaders": (
        "班子抓队伍建设力度不够，群众反映的问题整改不彻底。",
        "执法规范化建设有待加强。",
        "服务群众意识不强，需进一步转变作风。",
    ),
}


def unit_quality(rng: random.Random, units: list[DemoUnit], months: int) -> list[dict[str, float]]:
    """Each unit's quality (0.3–0.95) in each month: a lasting level, a drift, two trends."""
    base = {u.code: min(0.95, max(0.3, rng.gauss(0.72, 0.1))) for u in units}
    # Three clearly weak units; the rest of the bottom list comes from the ordinary spread, where
    # a unit's place at the cut is partly chance (the reliability section says which).
    for code in rng.sample(list(base), 3):
        base[code] = rng.uniform(0.34, 0.46)
    weak = sorted(base, key=base.get)
    rising, falling = weak[0], rng.choice(sorted(base, key=base.get, reverse=True)[10:30])
    months_q = []
    for m in range(months):
        q = {c: min(0.95, max(0.3, b + rng.gauss(0, 0.05))) for c, b in base.items()}
        q[rising] = min(0.95, base[rising] + 0.07 * m)  # rectified, month by month
        q[falling] = max(0.3, base[falling] - 0.06 * m)  # slipping
        months_q.append(q)
    return months_q


def _answer(rng: random.Random, quality: float, leniency: float, numeric: bool) -> object:
    if numeric:
        return round(min(100.0, max(0.0, rng.gauss(quality * 100 + leniency * 40, 8))) * 2) / 2
    p = quality + leniency + rng.gauss(0, 0.15)
    if p > 0.8:
        return "满意"
    return "基本满意" if p > 0.45 else "不满意"


def ballot(rid: str, token: str, at: datetime, answers: dict, comments: dict) -> dict:
    return {
        "id": rid,
        "token": token,
        "submitted_at": at.isoformat(),
        "answers": answers,
        "comments": comments,
    }


def simulate_month(
    rng: random.Random,
    units: list[DemoUnit],
    seats: list[tuple[str, DemoMember]],
    quality: dict[str, float],
    start: datetime,
    story: bool,
) -> list[dict]:
    """A month's ballots: most seats answer once, a few not at all. With ``story``, also one
    re-submission, one with too few answers (invalid), a forwarded link and a late ballot."""
    weak = sorted(quality, key=quality.get)[:8]
    ballots = []
    for i, (token, _member) in enumerate(seats):
        if i % 25 == 24 or (not story and rng.random() < 0.03):  # some seats never answer
            continue
        leniency = rng.gauss(0, 0.08)
        numeric = i % 10 == 3
        known = 0.08 if story and i in (5, 61) else rng.uniform(0.65, 0.95)
        answers, comments = {}, {}
        for unit in units:
            if rng.random() > known:
                answers[unit.code] = "不了解"
                continue
            answers[unit.code] = _answer(rng, quality[unit.code], leniency, numeric)
            if unit.code in weak and rng.random() < 0.12:
                comments[unit.code] = rng.choice(COMMENTS["bad"])
            elif rng.random() < 0.004:
                comments[unit.code] = rng.choice(COMMENTS["good"])
        at = start + timedelta(minutes=97 * i + rng.randint(0, 60))
        ballots.append(ballot(f"ls-{i + 1:04d}", token, at, answers, comments))
    if not story:
        return ballots
    # Careless or worse, and never voided (the reliability section counts them): seat 10 answers
    # 满意 to every unit, and seat 41 submits seat 40's answers as its own.
    tokens = {b["token"]: b for b in ballots}
    if seats[10][0] in tokens:
        tokens[seats[10][0]]["answers"] = {u.code: "满意" for u in units}
    if seats[40][0] in tokens and seats[41][0] in tokens:
        tokens[seats[41][0]]["answers"] = dict(tokens[seats[40][0]]["answers"])
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
    ballots.append(ballot("ls-9001", "forwarded-link-token", start, {units[0].code: "满意"}, {}))
    # A late ballot, after the window closed.
    late = start + timedelta(days=13)
    ballots.append(ballot("ls-9002", seats[24][0], late, {u.code: "满意" for u in units}, {}))
    return ballots


def leaders_ballots(
    rng: random.Random, units: list[DemoUnit], tokens: list[str], quality: dict, at: datetime
) -> list[dict]:
    """The county leaders' scores: every unit, numbers on 0–100, a little kinder than the panel,
    with a remark on the weakest."""
    weak = sorted(quality, key=quality.get)[:4]
    ballots = []
    for n, token in enumerate(tokens):
        leniency = rng.gauss(0.04, 0.03)
        answers = {u.code: _answer(rng, quality[u.code], leniency, True) for u in units}
        comments = {code: rng.choice(COMMENTS["leaders"]) for code in weak if rng.random() < 0.5}
        ballots.append(ballot(f"ld-{n + 1:02d}", token, at + timedelta(hours=n), answers, comments))
    return ballots
