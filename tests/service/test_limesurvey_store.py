"""The store paths a 10,000-response LimeSurvey poll leans on, checked against the originals.

``store_records`` hashes records with a fast equivalent of ``canonical_text`` and ingest settles
with a lighter loader than the ranking's full ``load_round`` (``settle_round`` below): both must give exactly the same answers,
or a re-polled ballot would look changed, or statuses would flip between ``poll`` and ``rank``.
"""

from __future__ import annotations

import json
import random
from decimal import Decimal
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from connectors.canonical import canonical_text
from jobs.ranking import load_round
from jobs.scoring import settle_ballots
from service.config import load_config
from service.models.ballots import Ballot
from service.store.ballots import _canonical, set_statuses
from service.store.engine import make_engine, session_scope


def settle_round(session, round_id: str, rules) -> None:
    """The reference: settle from every vote, exactly as ranking loads the round."""
    data = load_round(session, round_id)
    _, status = settle_ballots(data.seats, data.ballots, (u.code for u in data.units), rules)
    set_statuses(session, round_id, {data.ballot_ids[k]: v for k, v in status.items()})


text = st.text(max_size=12)
scalar = st.one_of(
    text,
    st.integers(-(10**6), 10**6),
    st.decimals(allow_nan=False, allow_infinity=False, places=3),
)
answers = st.dictionaries(
    text, st.one_of(scalar, st.dictionaries(text, scalar, max_size=3)), max_size=6
)


@given(answers, st.dictionaries(text, text, max_size=3), text)
@settings(max_examples=300)
def test_the_fast_record_hash_text_is_exactly_canonical_text(ans, comments, token) -> None:
    basis = {
        "id": "r",
        "token": token,
        "submitted_at": "2026-11-26T07:53:45+08:00",
        "answers": ans,
        "comments": comments,
    }
    assert _canonical(basis) == canonical_text(basis)


def test_ingest_settles_exactly_as_ranking_does(cli, tmp_path: Path) -> None:
    units = [f"U{i}" for i in range(1, 9)]
    (tmp_path / "units.csv").write_text(
        "code,name,system\n"
        + "".join(f"{u},{u},{'法院' if i < 4 else '公安局'}\n" for i, u in enumerate(units)),
        encoding="utf-8",
    )
    pool = "".join(
        f"P{i},{i},{'人大代表' if i % 2 else '政协委员'},{'U1;U2' if i % 3 == 0 else ''}\n"
        for i in range(12)
    )
    (tmp_path / "pool.csv").write_text("id,name,group,conflicts\n" + pool, encoding="utf-8")
    (tmp_path / "panel.txt").write_text("".join(f"P{i}\n" for i in range(12)), encoding="utf-8")
    cli("import", "units", str(tmp_path / "units.csv"))
    cli("import", "pool", str(tmp_path / "pool.csv"))
    cli("round", "create", "2026-10", "--opens", "2026-10-01", "--closes", "2026-10-31")
    cli("panel", "set", "2026-10", str(tmp_path / "panel.txt"))
    tokens = [s["token"] for s in cli.json("panel", "show", "2026-10")["seats"]]
    rng = random.Random(4)
    records = []
    for n in range(40):  # re-submissions, equal times, thin ballots, recused units
        day = rng.choice([20, 21, 21])
        records.append(
            {
                "id": f"r{n}",
                "token": rng.choice(tokens),
                "submitted_at": f"2026-10-{day}T10:00:00+08:00",
                "answers": {
                    u: rng.choice(["满意", "不了解", "不了解", 80])
                    for u in rng.sample(units, rng.randint(1, 8))
                },
            }
        )
    path = tmp_path / "b.jsonl"
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8"
    )
    cli("ingest", "2026-10", str(path))
    engine = make_engine(cli.db)
    with session_scope(engine) as s:
        after_ingest = dict(s.execute(select(Ballot.id, Ballot.status)).all())
        settle_round(s, "2026-10", load_config({}).rules)
        s.flush()
        after_rank = dict(s.execute(select(Ballot.id, Ballot.status)).all())
    assert after_ingest == after_rank
    assert {"accepted", "superseded", "invalid"} <= set(after_ingest.values())


def test_decimal_answers_hash_as_written() -> None:
    assert (
        _canonical({"a": Decimal("87.50")})
        == '{"a":87.50}'
        == canonical_text({"a": Decimal("87.50")})
    )
