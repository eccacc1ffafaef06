"""Adding a 问卷星 source from the command line and the API: what is refused (by name), what is
stored, and that the push key's value shows up nowhere. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from sqlalchemy import select

from service.models.audit import AuditEntry
from service.models.inbox import InboxDelivery
from service.store.engine import make_engine, session_scope
from tests.connectors.wenjuanxing.wjx import (
    ACTIVITY,
    KEY,
    VAR,
    add_source,
    post,
    push_body,
    structure,
    web,
)
from tests.fake_limesurvey import ROUND, setup_round


def bearer(cli, role: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + cli("token", "create", "--role", role).split()[0]}


def test_a_survey_that_cannot_work_is_refused_naming_its_rows_and_options(cli, tmp_path: Path):
    setup_round(cli, tmp_path)
    bad = structure(rows=["财政局", "卫健局", "老干部局", "统计局", "U05"], labels=["满意", "一般"])
    (tmp_path / "bad.json").write_text(json.dumps(bad, ensure_ascii=False), encoding="utf-8")
    out = cli(
        "source", "add", "wjx", "--kind", "wenjuanxing", "--round", ROUND, "--activity", ACTIVITY,
        "--secret-env", VAR, "--structure", str(tmp_path / "bad.json"), ok=False,
    )  # fmt: skip
    assert "row '老干部局' (q2_3) is not a unit of the round" in out
    assert "option '一般' (q2_1#2) is not on the scale" in out
    no_structure = cli(
        "source", "add", "wjx", "--kind", "wenjuanxing", "--round", ROUND, "--activity", ACTIVITY,
        "--secret-env", VAR, ok=False,
    )  # fmt: skip
    assert "pushes carry row keys and option positions, not titles" in no_structure
    (tmp_path / "m.toml").write_text('[units]\n"q2_1" = "U09"\n', encoding="utf-8")
    unknown = cli(
        "source", "add", "wjx", "--kind", "wenjuanxing", "--round", ROUND, "--activity", ACTIVITY,
        "--secret-env", VAR, "--map", str(tmp_path / "m.toml"), ok=False,
    )  # fmt: skip
    assert "map file [units].q2_1: 'U09' is not a unit of the round" in unknown
    wrong = cli(
        "source", "add", "wjx", "--kind", "wenjuanxing", "--round", ROUND, "--activity", "vm/abc",
        "--secret-env", VAR, ok=False,
    )  # fmt: skip
    assert "--activity: not a 问卷星 survey id (digits)" in wrong
    assert cli.json("source", "list") == []


def test_the_stored_source_and_the_api_show_variable_names_never_the_key(
    cli, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tokens = setup_round(cli, tmp_path)
    seen = [add_source(cli, tmp_path), add_source(cli, tmp_path, "wjx", "--replace", "--json")]
    [row] = cli.json("source", "list")
    assert row["config"]["activity"] == ACTIVITY and row["secrets"]["secret"] == VAR
    assert row["secrets_set"][VAR] is True and row["hook"] == "/hooks/wjx"
    assert "survey_map" not in row["config"]  # the mapping lives in sources.mapping only
    client, admin = web(cli), bearer(cli, "admin")
    kinds = client.get("/api/v1/source-kinds", headers=admin).get_json()
    wjx = next(k for k in kinds["kinds"] if k["kind"] == "wenjuanxing")
    assert (wjx["webhooks"], wjx["export"], wjx["links"]) == (True, True, True)
    assert {o["name"]: o["secret"] for o in wjx["options"]}["secret_env"] == "secret"
    assert "wenjuanxing" in kinds["formats"]
    text = json.dumps(structure(), ensure_ascii=False)
    body = {"name": "w2", "kind": "wenjuanxing", "round": ROUND,
            "options": {"activity": ACTIVITY, "secret_env": VAR, "structure": text}}  # fmt: skip
    added = client.post("/api/v1/sources", json=body, headers=admin)
    assert added.status_code == 201, added.get_json()
    assert added.get_json()["units"] == 5
    seen.append(added.get_data(as_text=True))
    assert post(client, push_body(1, tokens[0], [1] * 5)).status_code == 202
    seen += [cli("source", "list"), cli("source", "list", "--json")]
    with session_scope(make_engine(cli.db)) as s:
        seen += [json.dumps(a.detail, ensure_ascii=False) for a in s.scalars(select(AuditEntry))]
        seen += [json.dumps(d.headers) + d.body.decode() for d in s.scalars(select(InboxDelivery))]
    assert VAR in "".join(seen) and not [t for t in seen if KEY in t]
    assert KEY not in caplog.text and tokens[0] not in caplog.text
