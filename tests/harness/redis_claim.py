"""A Redis database of the test run's own, so that runs on one machine never meet.

Without ``PINGYI_TEST_REDIS``, each test process claims one of ``SPARE_DBS``: the claim is a key
in database ``CLAIMS_DB`` (which no test flushes), set only if absent and expiring unless
refreshed, so a killed run's claim lapses by itself. A database that holds keys without a claim
is in use by something that does not claim (a developer's ``make serve``, a benchmark) and is
passed over, unless its keys carry the tests' own mark (a killed run's leftovers).
"""

from __future__ import annotations

import os
import secrets

from redis import Redis

from tests.harness.needed import missing

# Databases given by hand, comma-separated, one per test process (pytest-xdist's gw0, gw1, …).
FIXED_URLS = [u.strip() for u in os.environ.get("PINGYI_TEST_REDIS", "").split(",") if u.strip()]
SERVER = os.environ.get("PINGYI_TEST_REDIS_SERVER", "redis://127.0.0.1:6379")
SPARE_DBS = (14, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1)  # 0: make serve; 13: benchmarks
CLAIMS_DB = 15
TTL = 1800  # seconds; refreshed by every test that uses Redis, so only a dead run's claim lapses
MARK = "pingyi:test-run"  # set in the claimed database after each flush: "tests write here"


class RedisClaim:
    """This test process's Redis database: ``url``; ``release`` gives it back."""

    def __init__(self) -> None:
        self.owner = f"{os.getpid()}-{secrets.token_hex(4)}"
        self.key: str | None = None
        self.claims: Redis | None = None
        if FIXED_URLS:
            self.url = self._given(FIXED_URLS)
            return
        self.claims = Redis.from_url(f"{SERVER}/{CLAIMS_DB}", socket_connect_timeout=2)
        for db in SPARE_DBS:
            key = f"pingyi:test-redis-db:{db}"
            if not self.claims.set(key, self.owner, nx=True, ex=TTL):
                continue
            if self._in_use_by_others(db):
                self.claims.delete(key)
                continue
            self.key, self.url = key, f"{SERVER}/{db}"
            return
        raise RuntimeError(
            f"every spare Redis database {SPARE_DBS} is claimed or in use; "
            "set PINGYI_TEST_REDIS=redis://host:port/<db> to name one"
        )

    @staticmethod
    def _given(urls: list[str]) -> str:
        """This process's database among those PINGYI_TEST_REDIS names: two test processes
        sharing one would flush each other's queues."""
        worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
        index = int(worker.removeprefix("gw"))
        if index >= len(urls):
            raise RuntimeError(
                f"PINGYI_TEST_REDIS names {len(urls)} database(s) for more test processes: "
                "name one per process, comma-separated, or run with TEST_WORKERS=0"
            )
        return urls[index]

    @staticmethod
    def _in_use_by_others(db: int) -> bool:
        client = Redis.from_url(f"{SERVER}/{db}", socket_connect_timeout=2)
        try:
            return client.dbsize() > 0 and not client.exists(MARK)
        finally:
            client.close()

    def flush(self) -> None:
        """Empty the claimed database (FLUSHDB: this database only, never FLUSHALL)."""
        client = Redis.from_url(self.url, socket_connect_timeout=2)
        try:
            client.flushdb()
            client.set(MARK, self.owner)
        finally:
            client.close()

    def refresh(self) -> None:
        if self.claims is not None and self.key is not None:
            self.claims.expire(self.key, TTL)

    def release(self) -> None:
        """Empty a claimed database and give it back (only if the claim is still this run's);
        a database given by hand loses only the tests' mark."""
        client = Redis.from_url(self.url, socket_connect_timeout=2)
        try:
            if self.claims is None or self.key is None:
                client.delete(MARK)
            elif self.claims.get(self.key) == self.owner.encode():
                client.flushdb()
                self.claims.delete(self.key)
        finally:
            client.close()
            if self.claims is not None:
                self.claims.close()


def claim_redis() -> RedisClaim:
    """This test process's claim, or the test fails naming the server and why
    (tests/harness/needed.py): a run without Redis must not pass by skipping."""
    try:
        claim = RedisClaim()
        claim.refresh()
    except Exception as exc:
        where = ", ".join(FIXED_URLS) or SERVER
        missing("Redis", f"{where}: {exc}")
    return claim
