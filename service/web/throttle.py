"""The login throttle: at most ``login_limit`` refused logins per client address within
``login_window_seconds`` (docs/service.md, "Staff access and tokens").

The web runs several gunicorn processes, so the count must be shared: it is a sliding-window log
in Redis (a sorted set per address) when ``REDIS_URL`` is set and Redis answers, and rows of
``login_failures`` in the database otherwise. Each attempt is counted *before* the token is
checked, so a flood of concurrent guesses is counted as it arrives; an attempt that succeeds, or
that the throttle refuses, is taken off the count again. So only refused tokens use up the
allowance, and someone refused 429 does not push their own wait further out.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from service.context import Context
from service.store.sessions import add_attempt, attempts_since, forget_attempt, prune_attempts

logger = logging.getLogger(__name__)


def address_key(address: str | None) -> str:
    """The throttled key for a client address: IPv6 per /64 (one host commonly holds a whole
    /64, so per address would not slow it down), IPv4 per address."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return f"addr:{(address or 'unknown')[:80]}"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return f"addr:{ip.ipv4_mapped}"
        return f"addr:{ipaddress.ip_network(f'{ip}/64', strict=False)}"
    return f"addr:{ip}"


@dataclass
class Attempt:
    """One login attempt as the throttle counted it."""

    allowed: bool
    retry_after: int = 0
    # Where it is counted, to take it off again: ("redis", key, member) or ("db", row id).
    handle: tuple = ()


class LoginThrottle:
    """Counts login attempts per key in Redis, or in the database when Redis is unavailable."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.limit = context.config.auth.login_limit
        self.window = context.config.auth.login_window_seconds

    def begin(self, key: str) -> Attempt:
        """Count an attempt; ``allowed`` is False when ``key`` already used up its allowance."""
        if not self.context.queue.inline:
            try:
                return self._redis_begin(key)
            except Exception as exc:  # Redis down: the database still counts
                logger.warning("login throttle: Redis unavailable (%s)", exc.__class__.__name__)
        return self._db_begin(key)

    def succeeded(self, attempt: Attempt) -> None:
        """A right token: the attempt no longer counts against the address."""
        self._forget(attempt.handle)

    def _forget(self, handle: tuple) -> None:
        if not handle:
            return
        if handle[0] == "redis":
            try:
                self.context.queue.redis.zrem(handle[1], handle[2])
            except Exception as exc:
                logger.warning("login throttle: Redis unavailable (%s)", exc.__class__.__name__)
            return
        with self.context.session() as session:
            forget_attempt(session, handle[1])

    def _redis_begin(self, key: str) -> Attempt:
        redis = self.context.queue.redis
        now = time.time()
        name = f"pingyi:login:{key}"
        member = f"{now:.6f}-{secrets.token_hex(4)}"
        pipe = redis.pipeline(transaction=True)
        pipe.zremrangebyscore(name, "-inf", now - self.window)
        pipe.zadd(name, {member: now})
        pipe.zcard(name)
        pipe.zrange(name, 0, 0, withscores=True)
        pipe.expire(name, self.window + 1)
        _, _, count, oldest, _ = pipe.execute()
        attempt = Attempt(True, handle=("redis", name, member))
        if count > self.limit:
            self._forget(attempt.handle)
            return Attempt(False, self._wait(oldest[0][1] if oldest else now, now))
        return attempt

    def _db_begin(self, key: str) -> Attempt:
        now = datetime.now(UTC)
        since = now - timedelta(seconds=self.window)
        with self.context.session() as session:
            prune_attempts(session, since)
            attempt_id = add_attempt(session, key, now)
            count, oldest = attempts_since(session, key, since)
            if count > self.limit:
                forget_attempt(session, attempt_id)
                oldest_ts = oldest.timestamp() if oldest else now.timestamp()
                return Attempt(False, self._wait(oldest_ts, now.timestamp()))
        return Attempt(True, handle=("db", attempt_id))

    def _wait(self, oldest: float, now: float) -> int:
        """Seconds until the oldest counted attempt leaves the window (at least 1)."""
        return max(1, math.ceil(oldest + self.window - now))
