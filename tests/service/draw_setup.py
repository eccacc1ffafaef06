"""What the draw CLI tests share (docs/draw.md; issue #3): the 11-member pool, the announced
seed and the panel it must give, and the steps the tests repeat.

The expected panels are not taken from the code under test: the hmac-sha256-v1 seats of the
pool below come from ``openssl`` (see ``tests/jobs/test_draw_order_vectors.py`` for the commands
and digests), the RFC 3797 ones from the RFC's published example.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.models.audit import AuditEntry
from service.models.ballots import Ballot
from service.models.rounds import Draw, Seat, SeatHolder
from service.store.engine import make_engine, session_scope
from tests.conftest import Cli

ROUND = "2026-10"
SOURCES = "快乐8 2026-10-20; 双色球 2026-10-20"
SEED = "9319./2.5.8.10.12./"  # two sources, as announced
K_HEX = "6c3660b34be72847d573c35ba6bd2655764e7997b8accf7c78c118e5651c5a92"  # openssl dgst -sha256
RFC_KEY = "9319./2.5.8.10.12./9.18.26.34.41.45./"
RFC_ORDER = [17, 7, 2, 16, 25, 23, 8, 24, 19, 13, 22, 5, 18, 9, 1, 4]
AT = "2026-10-28T09:12:00+08:00"

RD = "人大代表"
ZX = "政协委员"
XC = "乡村干部"

# id -> (name, group, conflicts, active)
MEMBERS: dict[str, tuple[str, str, str, bool]] = {
    **{f"RD0{i}": (f"人大{i}号", RD, "U1" if i == 6 else "", True) for i in range(1, 7)},
    **{f"ZX0{i}": (f"政协{i}号", ZX, "", True) for i in range(1, 6)},
}
# From the openssl positions (tests/jobs/test_draw_order_vectors.py): 5 seats → 人大代表 3, 政协委员 2.
SEATED = [("RD06", RD), ("RD01", RD), ("RD05", RD), ("ZX01", ZX), ("ZX02", ZX)]
RESERVE = {RD: ["RD03", "RD02", "RD04"], ZX: ["ZX05", "ZX04", "ZX03"]}


# ---- helpers ------------------------------------------------------------------------------------


def write_pool(tmp_path: Path, members: Mapping[str, tuple[str, str, str, bool]]) -> Path:
    path = tmp_path / "pool.csv"
    rows = "".join(
        f"{mid},{name},{group},{conflicts},{1 if active else 0}\n"
        for mid, (name, group, conflicts, active) in members.items()
    )
    path.write_text("id,name,group,conflicts,active\n" + rows, encoding="utf-8")
    return path


def setup_pool(
    cli: Cli,
    tmp_path: Path,
    members: Mapping[str, tuple[str, str, str, bool]] = MEMBERS,
    rounds: tuple[str, ...] = (ROUND,),
) -> None:
    units = tmp_path / "units.csv"
    units.write_text("code,name,system\nU1,立案庭,法院\nU2,城关派出所,公安局\n", encoding="utf-8")
    cli("import", "units", str(units))
    cli("import", "pool", str(write_pool(tmp_path, members)))
    for rid in rounds:
        cli("round", "create", rid, "--kind", "monthly", "--opens", "2026-10-01",
            "--closes", "2026-10-31")  # fmt: skip


def announce_and_draw(cli: Cli, tmp_path: Path) -> dict:
    setup_pool(cli, tmp_path)
    cli("draw", "announce", ROUND, "--seats", "5", "--sources", SOURCES)
    return cli.json("draw", ROUND, "--seed", SEED)


@contextmanager
def db(cli: Cli) -> Iterator[Session]:
    engine = make_engine(cli.db)
    try:
        with session_scope(engine) as session:
            yield session
    finally:
        engine.dispose()


def written(cli: Cli) -> dict[str, object]:
    """What the draw commands have written: draw rows by status, seats by status, audit actions."""
    with db(cli) as s:
        return {
            "draws": sorted(s.scalars(select(Draw.status)).all()),
            "seats": sorted(s.scalars(select(Seat.status)).all()),
            "holders": s.scalar(select(func.count()).select_from(SeatHolder)),
            "audit": [
                a
                for a in s.scalars(select(AuditEntry.action).order_by(AuditEntry.id))
                if a.startswith("draw.")
            ],
        }


def tokens_of(data: dict) -> dict[str, str]:
    return {s["evaluator"]: s["token"] for s in data["seats"]}


def token_bits(token: str) -> float:
    """Entropy of a token drawn uniformly from letters and digits (what the store issues)."""
    assert re.fullmatch(r"[0-9A-Za-z]+", token), token
    return len(token) * math.log2(62)


def ingest(cli: Cli, tmp_path: Path, ballots: dict[str, str]) -> str:
    """Ingest canonical ballots (response id -> token), each answering U1 and U2."""
    path = tmp_path / "ballots.jsonl"
    path.write_text(
        "".join(
            json.dumps(
                {
                    "id": rid,
                    "token": t,
                    "submitted_at": AT,
                    "answers": {"U1": "满意", "U2": "基本满意"},
                },
                ensure_ascii=False,
            )
            + "\n"
            for rid, t in ballots.items()
        ),
        encoding="utf-8",
    )
    return cli("ingest", ROUND, str(path))


def ballot_statuses(cli: Cli) -> dict[str, tuple[str, str | None]]:
    with db(cli) as s:
        return {b.response_id: (b.status, b.reason) for b in s.scalars(select(Ballot))}


def verify(cli: Cli, ok: bool) -> str:
    return cli("draw", "verify", ROUND, ok=ok)
