"""One small month of 问卷星 through the command line and the receiver, end to end.

The office adds the source, hands out personal links, evaluators answer; 问卷星 pushes (one push
lost, as when it gives up after 10 failures; one seat answering twice); the office then ingests
the survey's export with ``--source``, twice. Every answer counts once, and ``pingyi rank --json``
is exactly the ranking of the same ballots ingested as canonical ballots into another database.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from connectors.registry import source_kinds
from tests.conftest import Cli
from tests.connectors.wenjuanxing.wjx import (
    ACTIVITY,
    LABELS,
    UNITS,
    add_source,
    export_rows,
    post,
    push_body,
    web,
    write_xlsx,
)
from tests.fake_limesurvey import ROUND, setup_round

# (序号, seat, positions of U01..U05, Beijing time); seat 4 answers twice, the later one counts.
MONTH = [
    (1, 0, [1, 1, 2, 1, 1], "2026-11-03 09:00:00"),
    (2, 1, [2, 1, 3, 1, 4], "2026-11-03 09:30:00"),
    (3, 2, [1, 2, 2, 3, 1], "2026-11-04 14:10:05"),
    (4, 3, [3, 1, 1, 2, 2], "2026-11-05 20:00:00"),  # the push that never arrived
    (5, 4, [3, 3, 3, 3, 3], "2026-11-06 08:00:00"),
    (6, 4, [1, 1, 1, 2, 1], "2026-11-30 23:50:00"),  # late on the last day, Beijing time
]
LOST = {4}


def test_pushes_and_the_export_count_each_answer_once_and_rank_as_canonical_ballots(
    cli, tmp_path: Path, sqlite_template
) -> None:
    assert "wenjuanxing" in source_kinds()
    tokens = setup_round(cli, tmp_path)
    assert "5 units in rows" in add_source(cli, tmp_path)
    links = tmp_path / "links.csv"
    assert "5 links" in cli("panel", "links", ROUND, "--source", "wjx", "-o", str(links))
    written = [line.split(",")[-1] for line in links.read_text("utf-8-sig").splitlines()[1:]]
    assert {parse_qs(urlparse(u).query)["sojumpparm"][0] for u in written} == set(tokens)
    assert all(u.startswith(f"https://www.wjx.cn/vm/{ACTIVITY}.aspx?sojumpparm=") for u in written)

    client = web(cli)
    for index, seat, choices, when in MONTH:
        if index not in LOST:
            body = push_body(index, tokens[seat], choices, when=when)
            assert post(client, body).status_code == 202
    answers = [(i, tokens[s], c, w.replace("-", "/")) for i, s, c, w in MONTH]
    export = write_xlsx(tmp_path / "答卷数据.xlsx", export_rows(answers))
    first = cli.json("ingest", ROUND, str(export), "--format", "wenjuanxing", "--source", "wjx")
    assert (first["records"], first["new"], first["unchanged"], first["rejected"]) == (6, 1, 5, 0)
    again = cli.json("ingest", ROUND, str(export), "--format", "wenjuanxing", "--source", "wjx")
    assert (again["new"], again["updated"], again["unchanged"]) == (0, 0, 6)
    ranked = cli.json("rank", ROUND)

    # The same ballots, canonical, into a second database.
    other = Cli(sqlite_template.fresh(tmp_path / "canonical.sqlite"))
    (tmp_path / "second").mkdir()
    other_tokens = setup_round(other, tmp_path / "second")
    lines = [
        json.dumps({
            "id": str(index), "token": other_tokens[seat],
            "submitted_at": when.replace(" ", "T") + "+08:00",
            "answers": {u: LABELS[p - 1] for u, p in zip(UNITS, choices, strict=True)},
        }, ensure_ascii=False)
        for index, seat, choices, when in MONTH
    ]  # fmt: skip
    (tmp_path / "canonical.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    loaded = other.json("ingest", ROUND, str(tmp_path / "canonical.jsonl"))
    assert (loaded["new"], loaded["rejected"]) == (6, 0)
    assert ranked == other.json("rank", ROUND)
    # Five seats, six answers (one seat's earlier answer superseded), the lost push included.
    assert ranked["participation"] == {"seats": 5, "ballots": 5, "valid_ballots": 5}
    by_unit = {u["code"]: (u["votes"], u["score"]) for u in ranked["units"]}
    assert by_unit["U05"] == (4, 92.5)  # seat 1 said 不了解: no vote


def test_a_push_without_index_and_its_export_row_are_two_ballots_that_count_once(
    cli, tmp_path: Path
) -> None:
    """A push without ``index`` cannot be told apart from its export row by 序号: it is kept under
    ``joinid-…`` and the export adds the same answer under its 序号. Both are the seat's, with
    the same time: one is settled as superseded, so the answer still counts once."""
    tokens = setup_round(cli, tmp_path)
    add_source(cli, tmp_path)
    body = push_body(None, tokens[0], [1, 1, 1, 1, 1], joinid="101812480275")
    assert post(web(cli), body).status_code == 202
    export = write_xlsx(
        tmp_path / "e.xlsx", export_rows([(1, tokens[0], [1, 1, 1, 1, 1], "2026/11/20 10:00:00")])
    )
    got = cli.json("ingest", ROUND, str(export), "--format", "wenjuanxing", "--source", "wjx")
    assert (got["new"], got["superseded"]) == (1, 1)  # the pushed copy stays the one counted
    assert cli.json("rank", ROUND)["participation"]["ballots"] == 1
