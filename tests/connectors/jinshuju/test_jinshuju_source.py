"""Adding a 金数据 source: the form's schema read and checked against the round, refusals naming
the rows and options at fault, the push address printed, links in the platform's form. Each test
runs against the stand-in over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
from pathlib import Path

from connectors.jinshuju.hooks import hook_key
from tests.connectors.jinshuju.conftest import MAP, add_source
from tests.connectors.jinshuju.stand_in import FORM, SCHEMA, SECRET, StandIn, matrix_field
from tests.fake_limesurvey import ROUND, setup_round


def test_source_add_reads_the_form_maps_titles_and_prints_the_push_address(
    cli, tmp_path: Path, jinshuju, site: StandIn
) -> None:
    setup_round(cli, tmp_path)
    out = add_source(cli, tmp_path, site.url)
    assert "source js added: jinshuju for round 2026-11" in out
    assert f"form {FORM}: 5 units in 1 矩阵单选" in out
    path = f"/hooks/js/{hook_key(SECRET, 'js')}"
    assert f"金数据 数据推送 address: https://<this server>{path}" in out
    assert "senders POST to" not in out  # the generic line would name a URL without the key
    assert "note: the form has no 数据推送 address yet" in out
    assert site.count("form") == 1
    [row] = cli.json("source", "list")
    assert {k: row["config"][k] for k in ("form", "url", "key_env", "secret_env")} == {
        "form": FORM, "url": site.url, "key_env": "JS_KEY", "secret_env": "JS_SECRET",
    }  # fmt: skip
    assert row["secrets_set"] == {"JS_KEY": True, "JS_SECRET": True} and row["polled"]
    assert row["described"].startswith(f"form {FORM} at {site.url}")
    assert row["hook"] == "/hooks/js/<key>"  # not /hooks/js, which answers no 金数据 push
    listing = cli("source", "list") + cli("source", "list", "--json")
    assert "POST /hooks/js/<key>" in listing
    assert SECRET not in listing and hook_key(SECRET, "js") not in listing


def test_rows_that_are_no_unit_and_options_off_the_scale_are_refused_by_name(
    cli, tmp_path: Path, jinshuju
) -> None:
    setup_round(cli, tmp_path)
    schema = copy.deepcopy(SCHEMA)
    matrix_field(schema)["statements"].append({"name": "县档案局", "value": "Qz9z"})
    matrix_field(schema)["choices"].append({"name": "很好", "value": "cXX"})
    with StandIn(schema=schema) as site:
        refused = add_source(cli, tmp_path, site.url, ok=False, map_text=None)
        for named in (
            "field_1 「对各单位的评价」 row '县城市管理局' (Qe5v) is not a unit of the round",
            "field_1 「对各单位的评价」 row '县档案局' (Qz9z) is not a unit of the round",
            "field_1 「对各单位的评价」 option '一般' is not on the scale",
            "field_1 「对各单位的评价」 option '很好' is not on the scale",
        ):
            assert named in refused
        # The map file places 县城市管理局 and 一般; what it does not place is still refused.
        still = add_source(cli, tmp_path, site.url, ok=False)
        assert "'县档案局' (Qz9z) is not a unit" in still and "'很好' is not on the scale" in still
        assert "'县城市管理局'" not in still and "'一般'" not in still
        unknown = add_source(cli, tmp_path, site.url, ok=False, map_text=MAP + '"问题7" = "U01"\n')
        assert "map file [comments] '问题7' is no field of the form" in unknown
        no_unit = add_source(cli, tmp_path, site.url, ok=False, map_text='[units]\n"x" = "U99"\n')
        assert "map file [units].x: 'U99' is not a unit of the round" in no_unit
    assert cli.json("source", "list") == []


def test_a_form_without_a_matrix_and_a_refused_key_pair_are_named(
    cli, tmp_path: Path, jinshuju, monkeypatch
) -> None:
    setup_round(cli, tmp_path)
    schema = {**SCHEMA, "fields": [f for f in SCHEMA["fields"] if "field_1" not in f]}
    with StandIn(schema=schema) as site:
        flat = add_source(cli, tmp_path, site.url, ok=False, map_text=None)
        assert f"form {FORM} has no 矩阵单选 question" in flat
        monkeypatch.setenv("JS_SECRET", "not-the-secret")
        refused = add_source(cli, tmp_path, site.url, ok=False, map_text=None)
        assert (
            "金数据 refused the API key and secret (HTTP 401) (from $JS_KEY and $JS_SECRET)"
            in refused
        )
        assert "not-the-secret" not in refused
        monkeypatch.delenv("JS_KEY")
        unset = add_source(cli, tmp_path, site.url, ok=False, map_text=None)
        assert "environment variable JS_KEY is not set (it holds the key)" in unset
    assert cli.json("source", "list") == []


def test_links_carry_the_seat_token_in_x_field_1(cli, tmp_path: Path, jinshuju, site) -> None:
    tokens = setup_round(cli, tmp_path)
    add_source(cli, tmp_path, site.url)
    out = tmp_path / "links.csv"
    assert "5 links" in cli("panel", "links", ROUND, "--source", "js", "-o", str(out))
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    links = sorted(line.split(",")[3] for line in lines[1:])
    assert links == sorted(f"{site.url}/f/{FORM}?x_field_1={t}" for t in tokens)


def test_the_api_adds_a_source_with_the_map_files_text_and_answers_no_key(
    cli, tmp_path: Path, jinshuju, site
) -> None:
    from service.config import Config
    from service.web.app import create_app
    from tests.connectors.jinshuju.conftest import ENV

    setup_round(cli, tmp_path)
    client = create_app(Config(database_url=cli.db, environ=ENV)).test_client()
    admin = {"Authorization": "Bearer " + cli("token", "create", "--role", "admin").split()[0]}
    options = {"form": FORM, "key_env": "JS_KEY", "secret_env": "JS_SECRET", "url": site.url}
    body = {"name": "js", "kind": "jinshuju", "round": ROUND, "options": options}
    refused = client.post("/api/v1/sources", json=body, headers=admin)
    assert refused.status_code == 400 and "'县城市管理局' (Qe5v)" in refused.get_json()["message"]
    body["options"]["map"] = MAP  # the API takes the file's text
    added = client.post("/api/v1/sources", json=body, headers=admin)
    assert added.status_code == 201, added.get_json()
    got = added.get_json()
    assert (got["form"], got["units"], got["matrices"], got["hook"]) == (
        FORM, 5, ["field_1"], "/hooks/js/<key>",
    )  # fmt: skip
    assert hook_key(SECRET, "js") not in added.get_data(as_text=True)
    assert SECRET not in added.get_data(as_text=True)
