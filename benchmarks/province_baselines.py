"""The province benchmark's baselines (benchmarks/province.py), each run as its own process.

- ``numpy FILE``: the limit. Parse the ballots (JSON lines), turn every answer into points, then
  per unit with numpy: count, sum, min and max over its votes, the trimmed mean (one highest and
  one lowest dropped from 7 votes), ranks in its system and overall.
- ``pandas FILE``: the peer, what an analyst would write: a long table of (unit, points), then
  groupby aggregates and ranks.
- ``loader FILE URL``: the floor for ingest: parse each line and COPY its vote rows into a
  PostgreSQL table. It parses with the standard library's ``json``, the decoder ``pingyi
  ingest`` uses (``connectors.canonical.decode_json``), so the ratio of the two is not a ratio
  of parsers.
"""

from __future__ import annotations

import json
import sys

POINTS = {"满意": 100.0, "基本满意": 70.0, "不满意": 30.0}
SYSTEMS = ["法院", "检察院", "公安局", "司法局"]


def _long(path: str) -> tuple[list[int], list[float]]:
    units, points = [], []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            for code, answer in json.loads(line)["answers"].items():
                p = POINTS.get(answer)
                if p is not None:
                    units.append(int(code[1:]))
                    points.append(p)
    return units, points


def limit(path: str) -> None:
    import numpy as np

    units, points = _long(path)
    u = np.asarray(units)
    p = np.asarray(points)
    n = np.bincount(u, minlength=2000)
    total = np.bincount(u, weights=p, minlength=2000)
    hi = np.full(2000, -np.inf)
    lo = np.full(2000, np.inf)
    np.maximum.at(hi, u, p)
    np.minimum.at(lo, u, p)
    trims = n >= 7
    score = np.where(trims, (total - hi - lo) / np.maximum(n - 2, 1), total / np.maximum(n, 1))
    overall = (-score).argsort().argsort() + 1
    system = np.arange(2000) % 4
    ranks = np.empty(2000)
    for s in range(4):
        cols = system == s
        ranks[cols] = (-score[cols]).argsort().argsort() + 1
    print(float(score.sum()), int(overall[0]), int(ranks[0]))


def peer(path: str) -> None:
    import pandas as pd

    units, points = _long(path)
    df = pd.DataFrame({"unit": units, "points": points})
    g = df.groupby("unit")["points"].agg(["count", "sum", "min", "max"])
    g["score"] = (g["sum"] - g["max"] - g["min"]).where(g["count"] >= 7, g["sum"]) / (
        g["count"] - 2
    ).where(g["count"] >= 7, g["count"])
    g["system"] = g.index % 4
    g["overall"] = g["score"].rank(ascending=False, method="min")
    g["in_system"] = g.groupby("system")["score"].rank(ascending=False, method="min")
    print(float(g["score"].sum()))


def loader(path: str, url: str) -> None:
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    schema = dsn.split("search_path%3D")[1] if "search_path%3D" in dsn else "public"
    dsn = dsn.split("?")[0]
    with psycopg.connect(dsn, options=f"-c search_path={schema}") as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS votes_floor (ballot text, unit text, label text, points text)"
        )
        with (
            conn.cursor() as cur,
            cur.copy("COPY votes_floor FROM STDIN") as copy,
            open(path, encoding="utf-8") as fh,
        ):
            for line in fh:
                ballot = json.loads(line)
                for code, answer in ballot["answers"].items():
                    p = POINTS.get(answer)
                    copy.write_row((ballot["id"], code, answer, None if p is None else str(p)))
        conn.commit()


if __name__ == "__main__":
    what = sys.argv[1]
    if what == "numpy":
        limit(sys.argv[2])
    elif what == "pandas":
        peer(sys.argv[2])
    else:
        loader(sys.argv[2], sys.argv[3])
