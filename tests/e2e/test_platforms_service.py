"""One small month on each Chinese platform through the RUNNING service (issue #11): gunicorn, an
RQ worker and the scheduler, as the Procfile runs them, on one PostgreSQL database and the run's
Redis, against each platform's stand-in over real HTTP.

Three rounds with the same window and panel, one per platform, share the running service:

- 问卷星 (no app key, so never polled): signed pushes to ``/hooks/wjx``, one lost; then the
  office ingests the survey's export with ``--source``, which brings the lost answer and finds
  the pushed ones unchanged.
- 金数据: three entries pushed to ``/hooks/js/<key>`` and re-read through the stand-in's API,
  then five more that 金数据 never pushed, found by a poll (the scheduler's, or the close's).
- 腾讯问卷: four answers by webhook to ``/hooks/twj/<key>``, re-read through the API, one of them
  also polled; two more and a stranger's only on the platform, found by a poll.

Each round is closed through the API, and its ``GET …/ranking`` must be the ranking that the
same ballots give when ingested as canonical ballots into a second database (SQLite), where every
answer is stored exactly once, whichever ways it came.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from connectors.tencent_wj.answers import read_time
from connectors.tencent_wj.hooks import hook_key
from tests.connectors.jinshuju import stand_in as js
from tests.connectors.jinshuju.conftest import MAP as JS_MAP
from tests.connectors.jinshuju.test_jinshuju_month import CHOICES, LABEL, UNIT, times
from tests.connectors.jinshuju.test_jinshuju_push import KEY as JS_HOOK_KEY
from tests.connectors.jinshuju.test_jinshuju_push import push_body as js_push
from tests.connectors.tencent_wj import stand_in as twj
from tests.connectors.tencent_wj.test_month import NAMES, rows
from tests.connectors.wenjuanxing import wjx
from tests.fake_limesurvey import POOL, UNITS
from tests.harness.command_line import Cli
from tests.harness.processes import BIN, wait_for

WINDOW = ("--opens", "2026-11-01", "--closes", "2026-11-30")
RULES = "[rules]\nmin_votes = 3\ntop = 2\nbottom = 1\n"  # a small month still ranks
ENV = {
    wjx.VAR: wjx.KEY,
    "JS_KEY": js.KEY,
    "JS_SECRET": js.SECRET,
    "TWJ_SECRET": twj.SECRET,
}
# Reliability figures (docs/reliability.md) are drawn afresh per database: compared apart.
RELIABILITY = ("bottom_confidence", "tied_with", "icc", "bootstrap")

# 问卷星: (序号, seat, positions of U01..U05, Beijing time); seat 4 answers twice.
WJX_MONTH = [
    (1, 0, [1, 1, 2, 1, 1], "2026-11-03 09:00:00"),
    (2, 1, [2, 1, 3, 1, 4], "2026-11-03 09:30:00"),
    (3, 2, [1, 2, 2, 3, 1], "2026-11-04 14:10:05"),
    (4, 3, [3, 1, 1, 2, 2], "2026-11-05 20:00:00"),  # 问卷星 gave up pushing this one
    (5, 4, [3, 3, 3, 3, 3], "2026-11-06 08:00:00"),
    (6, 4, [1, 1, 1, 2, 1], "2026-11-28 23:50:00"),
]
WJX_LOST = {4}
# 腾讯问卷: (answer id, seat, Beijing time, labels of U01..U05); seat 0 answers twice.
TWJ_MONTH = [
    (1, 0, "2026-11-03 09:00:00", "满意 满意 基本满意 不满意 满意"),
    (2, 1, "2026-11-04 21:30:00", "基本满意 满意 满意 满意 不了解"),
    (3, 2, "2026-11-05 08:15:00", "满意 不满意 满意 基本满意 满意"),
    (4, 3, "2026-11-06 12:00:00", "不满意 满意 基本满意 满意 满意"),
    (5, 4, "2026-11-27 23:10:00", "满意 基本满意 不满意 满意 基本满意"),
    (6, 0, "2026-11-07 10:00:00", "基本满意 满意 满意 满意 不满意"),
]
TWJ_PUSHED = {1, 2, 3, 6}  # 3 is also on the platform when it is polled; 4, 5 only polled


def _setup(cli: Cli, tmp: Path) -> dict[str, list[str]]:
    """Units U01..U05, pool P1..P5, and a round per platform with the five as its panel."""
    (tmp / "units.csv").write_text(UNITS, encoding="utf-8")
    (tmp / "pool.csv").write_text(POOL, encoding="utf-8")
    (tmp / "panel.txt").write_text("P1\nP2\nP3\nP4\nP5\n", encoding="utf-8")
    cli("import", "units", str(tmp / "units.csv"))
    cli("import", "pool", str(tmp / "pool.csv"))
    tokens = {}
    for name in ("wjx", "js", "twj"):
        cli("round", "create", f"{name}-2026-11", *WINDOW)
        cli("panel", "set", f"{name}-2026-11", str(tmp / "panel.txt"))
        tokens[name] = [s["token"] for s in cli.json("panel", "show", f"{name}-2026-11")["seats"]]
    return tokens


def _canonical(tokens: dict[str, list[str]]) -> dict[str, list[dict[str, Any]]]:
    """Each platform's month as canonical ballots: unit codes and the rules' labels, the same
    times and seats (tokens of the second database's own panel)."""
    labels = wjx.LABELS
    out: dict[str, list[dict[str, Any]]] = {"wjx": [], "js": [], "twj": []}
    for index, seat, positions, at in WJX_MONTH:
        answers = {u: labels[p - 1] for u, p in zip(wjx.UNITS, positions, strict=True)}
        out["wjx"].append({"id": str(index), "token": tokens["wjx"][seat],
                           "submitted_at": at.replace(" ", "T") + "+08:00", "answers": answers})  # fmt: skip
    for serial, (seat, chosen) in enumerate([*enumerate(CHOICES), (0, CHOICES[4])], start=1):
        answers = {UNIT[r]: LABEL.get(c, c) for r, c in chosen.items()}
        out["js"].append({"id": str(serial), "token": tokens["js"][seat],
                          "submitted_at": times(serial).replace(".000Z", "+00:00"),
                          "answers": answers})  # fmt: skip
    for aid, seat, at, said in TWJ_MONTH:
        answers = dict(zip(NAMES, said.split(), strict=True))
        out["twj"].append({"id": str(aid), "token": tokens["twj"][seat],
                           "submitted_at": read_time(at).isoformat(), "answers": answers})  # fmt: skip
    return out


def _add_sources(cli: Cli, tmp: Path, js_url: str, twj_url: str) -> None:
    """``pingyi source add`` for each platform, as the office types it (docs/platforms/)."""
    structure, wjx_map = wjx.write_setup_files(tmp)
    (tmp / "js-map.toml").write_text(JS_MAP, encoding="utf-8")
    commands = [
        ("wjx", "wenjuanxing", "--activity", wjx.ACTIVITY, "--secret-env", wjx.VAR,
         "--structure", str(structure), "--map", str(wjx_map)),
        ("js", "jinshuju", "--form", js.FORM, "--key-env", "JS_KEY", "--secret-env", "JS_SECRET",
         "--url", js_url, "--map", str(tmp / "js-map.toml")),
        ("twj", "tencent-wj", "--survey", str(twj.SURVEY), "--appid", twj.APPID,
         "--secret-env", "TWJ_SECRET", "--url", twj_url),
    ]  # fmt: skip
    for name, kind, *options in commands:
        cli("source", "add", name, "--kind", kind, "--round", f"{name}-2026-11", *options, env=ENV)


def _without_reliability(ranking: dict[str, Any]) -> dict[str, Any]:
    units = [{k: v for k, v in u.items() if k != "uncertainty"} for u in ranking["units"]]
    return {**{k: v for k, v in ranking.items() if k not in RELIABILITY}, "units": units}


def test_a_month_on_each_platform_through_the_service_ranks_as_canonical_ballots(
    service, tmp_path: Path, sqlite_template
) -> None:
    rules = tmp_path / "pingyi.toml"
    rules.write_text(RULES, encoding="utf-8")
    cli = Cli(service.db_url, rules)
    tokens = _setup(cli, tmp_path)
    with ExitStack() as stack:
        js_site = stack.enter_context(js.StandIn(page_size=2))
        twj_site = stack.enter_context(twj.StandIn())
        _add_sources(cli, tmp_path, js_site.url, twj_site.url)
        service.env.update(ENV, PINGYI_CONFIG=str(rules))
        web = service.start_web(workers=1)
        # RQ's SimpleWorker over every queue (as the harness's burst worker): the production
        # jobs, each module imported once rather than per forked job.
        worker, worker_log = service.start_process(
            service.worker_args(burst=False, forking=False), "worker"
        )
        scheduler, scheduler_log = service.start_process(
            [str(BIN / "pingyi"), "scheduler", "--interval", "0.5"], "scheduler"
        )

        def logs() -> str:
            return "\n".join(p.read_text(errors="replace")[-2500:] for p in (
                worker_log, scheduler_log, web.log))  # fmt: skip

        def counted(source: str, n: int) -> Callable[[], bool]:
            return lambda: len(service.ballot_counts(source)) >= n

        # The scheduler polls a source never polled at once. Let those first polls finish
        # (nothing on the platforms yet) before the month begins, so that the reconciling poll
        # is the close's own (the next routine poll is 300 s away, and one that runs after
        # POST …/close does nothing: jobs.poll.poll_source_job).
        polled = "select count(*) from sources where last_poll_at is not null and name <> 'wjx'"
        wait_for(lambda: service.scalar(polled) == 2, 30, what=f"the first polls\n{logs()}")

        # -- pushes, over HTTP to the running web process --------------------------------------
        t = tokens
        for index, seat, positions, at in WJX_MONTH:
            if index not in WJX_LOST:
                body = wjx.push_body(index, t["wjx"][seat], positions, when=at)
                sent = web.post("/hooks/wjx", json=body)
                assert sent.status_code == 202, sent.text
        entries = [
            js.make_entry(n + 1, t["js"][n], chosen, at=times(n + 1))
            for n, chosen in enumerate(CHOICES)
        ]
        entries.append(js.make_entry(6, t["js"][0], CHOICES[4], at=times(6)))  # seat 1 again
        entries.append(js.make_entry(7, None, CHOICES[0], at=times(7)))  # opened without a link
        for entry in entries[:3]:  # 金数据 holds an entry before it pushes it
            js_site.entries.append(entry)
            sent = web.post(f"/hooks/js/{JS_HOOK_KEY}", data=js_push(entry))
            assert sent.status_code == 202, sent.text
        answers = {
            a: twj.make_answer(a, t["twj"][s], at, rows(said)) for a, s, at, said in TWJ_MONTH
        }
        answers[7] = twj.make_answer(7, "nobody", "2026-11-08 10:00:00", {"县志办": "满意"})
        twj_hook = f"/hooks/twj/{hook_key(twj.SECRET, 'twj')}"
        for aid in sorted(TWJ_PUSHED):
            twj_site.answers.append(answers[aid])
            sent = web.post(twj_hook, data=twj.event("answer.create", aid))
            assert sent.status_code == 202, sent.text
        # -- what the platforms hold but never pushed -----------------------------------------
        js_site.entries += entries[3:]
        twj_site.answers += [answers[4], answers[5], answers[7]]
        wait_for(counted("wjx", 5), 30, what=f"问卷星 pushes ingested\n{logs()}")
        wait_for(counted("js", 3), 30, what=f"金数据 pushes ingested\n{logs()}")
        wait_for(counted("twj", 4), 30, what=f"腾讯问卷 webhooks ingested\n{logs()}")
        # 问卷星 has no API here: the office reconciles from the export, by the source's mapping.
        export = [(i, t["wjx"][s], p, at.replace("-", "/")) for i, s, p, at in WJX_MONTH]
        written = wjx.write_xlsx(tmp_path / "答卷数据.xlsx", wjx.export_rows(export))
        fmt = ("--format", "wenjuanxing", "--source", "wjx")
        first = cli.json("ingest", "wjx-2026-11", str(written), *fmt)
        assert (first["records"], first["new"], first["unchanged"]) == (6, 1, 5), first

        # -- close each round through the API; the close polls 金数据 and 腾讯问卷 once more -----
        admin, viewer = service.token("admin"), service.token("viewer")
        jobs = {}
        for name in ("wjx", "js", "twj"):
            closed = web.post(f"/api/v1/rounds/{name}-2026-11/close", token=admin)
            assert closed.status_code == 202, closed.text
            jobs[name] = closed.json()["job"]

        def finished(job: str) -> Callable[[], dict | None]:
            def check() -> dict | None:
                got = web.get(job, token=viewer).json()
                return got if got["status"] in ("finished", "failed") else None

            return check

        for name, job in jobs.items():
            done = wait_for(finished(job), 60, interval=0.2, what=f"{name}'s close\n{logs()}")
            assert done["status"] == "finished", logs()
        rankings = {
            name: web.get(f"/api/v1/rounds/{name}-2026-11/ranking", token=viewer) for name in jobs
        }
        assert worker.poll() is None and scheduler.poll() is None, logs()
        # No secret, URL key or seat token in any process's log.
        written = "".join(
            p.read_text(errors="replace") for p in (worker_log, scheduler_log, web.log)
        )
        assert "poll" in written  # the logs were written (the worker names its jobs)
        keys = [JS_HOOK_KEY, twj_hook.rsplit("/", 1)[1]]
        hidden = [*ENV.values(), *keys, *t["wjx"], *t["js"], *t["twj"]]
        assert [x for x in hidden if x in written] == []
        assert js_site.count("entry") == 3  # each push re-read once; the poll needed no re-read
        assert twj_site.count("get_answer") == len(TWJ_PUSHED)
        assert js_site.count("entries") >= 1 and twj_site.count("list_answers") >= 1

    # Every answer stored once, whichever ways it came (pushed, polled, exported, or several).
    assert service.ballot_counts("wjx") == {str(i): 1 for i in range(1, 7)}
    assert service.ballot_counts("js") == {str(i): 1 for i in range(1, 8)}
    assert service.ballot_counts("twj") == {str(i): 1 for i in range(1, 8)}
    settled = service.rows("select source || ':' || response_id, status, reason from ballots")
    statuses = {key: status for key, status, _ in settled}
    why = {key: reason for key, status, reason in settled if status != "accepted"}
    assert statuses["js:1"] == statuses["twj:1"] == statuses["wjx:5"] == "superseded", why
    assert statuses["js:7"] == statuses["twj:7"] == "rejected", why  # no seat: kept, not counted
    assert sorted(statuses.values()).count("accepted") == 15, why

    # The same ballots, canonical, into a second database: the same rankings.
    second = Cli(sqlite_template.fresh(tmp_path / "canonical.sqlite"), rules)
    (tmp_path / "second").mkdir()
    canonical = _canonical(_setup(second, tmp_path / "second"))
    for name, ballots in canonical.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(ballots, ensure_ascii=False), encoding="utf-8")
        loaded = second.json("ingest", f"{name}-2026-11", str(path))
        assert (loaded["accepted"], loaded["superseded"], loaded["rejected"]) == (5, 1, 0)
        expected = second.json("rank", f"{name}-2026-11")
        got = rankings[name]
        assert got.status_code == 200, got.text
        assert _without_reliability(got.json()) == _without_reliability(expected), name
        assert expected["participation"]["valid_ballots"] == 5
        assert {u["rank_overall"] for u in expected["units"]} - {None}, name  # units are ranked
