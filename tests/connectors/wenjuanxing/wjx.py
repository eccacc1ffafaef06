"""What the 问卷星 tests share: a survey fitting the test round, signed pushes as 问卷星 sends them,
exports written as 问卷星 writes them, and the source added through the real command line.

The survey (activity 5657754) asks who answers (q1, no unit: ignored), then a matrix q2 whose
rows are the round's units U01..U05 titled by name (and one by code), columns 满意, 基本满意,
不满意, 不了解 (positions 1..4), then a free-text q3 mapped to U01's comments by the map file.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from connectors.wenjuanxing.push import sign
from service.config import Config
from service.web.app import create_app
from tests.fake_limesurvey import ROUND

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "wenjuanxing"
ACTIVITY = "5657754"
KEY = "wjx-push-key-7Qm2-never-shown"
VAR = "WJX_PUSH_KEY"
LABELS = ["满意", "基本满意", "不满意", "不了解"]
# Row titles of the matrix q2, in row order: names of U01..U04 and U05 by its code.
ROWS = ["财政局", "卫健局", "税务局", "统计局", "U05"]
UNITS = ["U01", "U02", "U03", "U04", "U05"]


def structure(rows: list[str] | None = None, labels: list[str] | None = None) -> dict[str, str]:
    """The survey's structure JSON as ``IllustrateApi.ashx?…&JSON=1`` gives it (flat keys)."""
    data = {"q1": "您的身份", "q1#1": "人大代表", "q1#2": "政协委员", "q2": "请评价以下单位"}
    for r, title in enumerate(rows or ROWS, start=1):
        data[f"q2_{r}"] = title
        for p, label in enumerate(labels or LABELS, start=1):
            data[f"q2_{r}#{p}"] = label
    data["q3"] = "意见建议"
    return data


MAP = '[comments]\n"q3" = "U01"\n'


def write_setup_files(tmp_path: Path, **kwargs: Any) -> tuple[Path, Path]:
    (tmp_path / "structure.json").write_text(
        json.dumps(structure(**kwargs), ensure_ascii=False), encoding="utf-8"
    )
    (tmp_path / "map.toml").write_text(MAP, encoding="utf-8")
    return tmp_path / "structure.json", tmp_path / "map.toml"


def add_source(cli, tmp_path: Path, name: str = "wjx", *extra: str, ok: bool = True) -> str:
    """``pingyi source add`` as the office types it."""
    survey, mapping = write_setup_files(tmp_path)
    return cli(
        "source", "add", name, "--kind", "wenjuanxing", "--round", ROUND,
        "--activity", ACTIVITY, "--secret-env", VAR, "--structure", str(survey),
        "--map", str(mapping), *extra, ok=ok,
    )  # fmt: skip


def push_body(
    index: int | None,
    token: str,
    choices: list[int],
    when: str = "2026-11-20 10:00:00",
    joinid: str | None = None,
    key: str = KEY,
    comment: str | None = None,
    activity: str = ACTIVITY,
) -> dict[str, str]:
    """A push as 问卷星 sends it: every value a string, matrix rows as q2_<row> = position."""
    body = {
        "activity": activity, "name": "2026年11月民主评议", "timetaken": "95",
        "submittime": when, "sojumpparm": token, "q1": "1",
        "joinid": joinid or f"1018124{index or 0:05d}", "totalvalue": "0",
    }  # fmt: skip
    if index is not None:
        body["index"] = str(index)
    for row, position in enumerate(choices, start=1):
        if position:
            body[f"q2_{row}"] = str(position)
    if comment is not None:
        body["q3"] = comment
    signed_by = body.get("index") or body["joinid"]
    body["sign"] = sign(activity, signed_by, key)
    return body


def web(cli, environ: dict[str, str] | None = None):
    """The real app (receiver in front, inbox job inline) on the test's database."""
    env = {VAR: KEY} if environ is None else environ
    return create_app(Config(database_url=cli.db, environ=env)).test_client()


def post(client, body: dict[str, str] | bytes, path: str = "/hooks/wjx"):
    data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    return client.post(path, data=data, headers={"Content-Type": "application/json"})


HEAD = ["序号", "提交答卷时间", "所用时间", "来源", "来源详情", "来自IP", "1、您的身份"]


def export_rows(
    answers: list[tuple[int, str, list[int], str]], by_text: bool = True
) -> list[list[Any]]:
    """An export (header first): (序号, token, positions of q2's rows, time) per answer, cells as
    option texts (按选项文本) or positions (按选项序号), matrix rows as ``第2题(row title)``."""
    header = [*HEAD, *(f"第2题({t})" for t in ROWS), "3、意见建议"]
    rows: list[list[Any]] = [header]
    for index, token, choices, when in answers:
        cells = [(LABELS[p - 1] if by_text else str(p)) if p else "" for p in choices]
        identity = "人大代表" if by_text else "1"
        rows.append(
            [str(index), when, "95秒", "链接", token, "1.2.3.4(北京)", identity, *cells, ""]
        )
    return rows


def write_csv(
    path: Path, rows: list[list[Any]], encoding: str = "utf-8-sig", sep: str = ","
) -> Path:
    out = io.StringIO()
    csv.writer(out, delimiter=sep).writerows(rows)
    path.write_bytes(out.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path, rows: list[list[Any]]) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path
