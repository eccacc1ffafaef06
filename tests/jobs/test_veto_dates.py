"""A veto carries the date it was decided (issue #14): ``veto add --date``, default today in the
body's time zone; the circular prints that date, never the moment it was typed in; and a
circular is not published dated before a veto it prints (docs/circulars.md, "Veto dates")."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig

from service.models.rounds import Round, Veto
from service.store.engine import MIGRATIONS, make_engine, migrate, session_scope
from tests.jobs.circular_document import pdftotext, without_spaces
from tests.jobs.evaluation import Evaluation
from tests.jobs.paper_round import GROUP, SMALL

UNITS = {"A": "法院", "B": "法院", "C": "公安局", "D": "公安局"}
MEMBERS = {f"P{i}": GROUP for i in range(1, 7)}
REASON = "发生一起严重违纪事件"


@pytest.fixture
def october(migrated_db_url: str, tmp_path: Path) -> Evaluation:
    ev = Evaluation(migrated_db_url, tmp_path, UNITS, MEMBERS, rules=SMALL)
    ev.ingest([ev.ballot(f"P{i}", dict.fromkeys(UNITS, "满意")) for i in range(1, 6)])
    return ev


def _publish(ev: Evaluation, tmp_path: Path, issued: str, ok: bool | None = True) -> str:
    pdf, data = tmp_path / f"c-{issued}.pdf", tmp_path / f"c-{issued}.json"
    return ev.cli("circular", ev.round, "-o", str(pdf), "--json", str(data), "--date", issued,
                  ok=ok)  # fmt: skip


def test_the_circular_prints_the_decision_date_not_the_recording_time(
    october: Evaluation, tmp_path: Path
) -> None:
    out = october.cli("veto", "add", october.round, "C", "--reason", REASON, "--by",
                      "县委政法委员会", "--date", "2026-10-28")  # fmt: skip
    assert "vetoed on 2026-10-28" in out
    _publish(october, tmp_path, "2026-11-03")
    text = without_spaces(pdftotext(tmp_path / "c-2026-11-03.pdf"))
    assert "（县委政法委员会，2026年10月28日决定）" in text
    data = json.loads((tmp_path / "c-2026-11-03.json").read_text(encoding="utf-8"))
    assert [(v["unit"], v["at"]) for v in data["vetoes"]] == [("C", "2026-10-28")]


def test_a_veto_dated_after_the_circular_stops_it_until_the_dates_agree(
    october: Evaluation, tmp_path: Path
) -> None:
    october.cli("veto", "add", october.round, "C", "--reason", REASON, "--date", "2026-11-20")
    refused = _publish(october, tmp_path, "2026-11-03", ok=False)
    assert "veto of C" in refused and "2026-11-20" in refused and "2026-11-03" in refused
    assert "--date 2026-11-20 or later" in refused
    assert not (tmp_path / "c-2026-11-03.pdf").exists()
    _publish(october, tmp_path, "2026-11-20")  # the decision's own day is fine
    text = without_spaces(pdftotext(tmp_path / "c-2026-11-20.pdf"))
    assert "2026年11月20日决定" in text


def test_the_date_defaults_to_today_in_the_body_time_zone_and_cannot_be_ahead(
    october: Evaluation,
) -> None:
    future = october.cli("veto", "add", october.round, "C", "--reason", REASON, "--date",
                         "2099-01-01", ok=False)  # fmt: skip
    assert "2099-01-01, after today" in future
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    assert f"vetoed on {today}" in october.cli(
        "veto", "add", october.round, "C", "--reason", REASON
    )
    with session_scope(make_engine(october.db_url)) as s:
        [veto] = s.scalars(sa.select(Veto)).all()
        assert veto.decided_on.isoformat() == today


@pytest.mark.parametrize(("zone", "expected"), [("Asia/Shanghai", 31), ("UTC", 30)])
def test_the_migration_dates_existing_vetoes_in_the_body_time_zone(
    db_url: str, zone: str, expected: int
) -> None:
    """A veto recorded at 2026-10-30 17:00 UTC was recorded on the 31st in Beijing."""
    engine = make_engine(db_url)
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0008")
    recorded = datetime(2026, 10, 30, 17, 0, tzinfo=UTC)
    with session_scope(engine) as s:
        s.add(Round(id="2026-10", kind="monthly", parts=[], status="open", created_at=recorded))
    vetoes = sa.table("vetoes", *(sa.column(c) for c in ("round_id", "unit_code", "reason", "by")),
                      sa.column("at", sa.DateTime(timezone=True)))  # fmt: skip
    value = recorded.replace(tzinfo=None) if engine.dialect.name == "sqlite" else recorded
    with engine.begin() as conn:
        conn.execute(vetoes.insert().values(round_id="2026-10", unit_code="C", reason=REASON,
                                            by=None, at=value))  # fmt: skip
    migrate(engine, zone)
    with session_scope(engine) as s:
        [veto] = s.scalars(sa.select(Veto)).all()
        assert veto.decided_on == date(2026, 10, expected) and veto.at == recorded
