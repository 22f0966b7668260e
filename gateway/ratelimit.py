"""In-process token buckets: login and token attempts per account and per client address, and
proxied requests per client. 429 + ``Retry-After`` when a bucket is empty.

Buckets live in this process (a replica limits on its own; with N replicas behind a balancer the
effective limit is up to N times higher — acceptable for brute-force protection, documented in
docs/DECISIONS.md).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from typing import Callable

MAX_BUCKETS = 100_000


class TokenBuckets:
    """``capacity`` requests at once, refilled at ``rate`` per second, per key."""

    def __init__(self, *, capacity: float, rate: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(capacity)
        self.rate = float(rate)
        self.monotonic = monotonic
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self.capacity > 0 and self.rate > 0

    def take(self, key: str, cost: float = 1.0, *, consume: bool = True) -> float:
        """0 when allowed; otherwise the seconds to wait before a retry may succeed. With
        ``consume=False`` only looks."""
        if not self.enabled:
            return 0.0
        now = self.monotonic()
        tokens, stamp = self._buckets.pop(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - stamp) * self.rate)
        if tokens >= cost:
            if not consume:
                self._buckets[key] = (tokens, now)
                return 0.0
            self._buckets[key] = (tokens - cost, now)
            self._evict()
            return 0.0
        self._buckets[key] = (tokens, now)
        return (cost - tokens) / self.rate

    def _evict(self) -> None:
        while len(self._buckets) > MAX_BUCKETS:
            self._buckets.popitem(last=False)


class AuthLimiter:
    """Login and token endpoints: every request counts against its client address (five times
    ``limit`` per window); failed attempts count against the account or client they name
    (``limit`` per window), so guessing a password or secret locks the guesser out while a client
    that authenticates correctly is never slowed by its own traffic."""

    ADDRESS_FACTOR = 5

    def __init__(self, *, limit: int, window_seconds: float) -> None:
        rate = limit / window_seconds if window_seconds > 0 else 0
        self.per_account = TokenBuckets(capacity=limit, rate=rate)
        self.per_address = TokenBuckets(capacity=limit * self.ADDRESS_FACTOR, rate=rate * self.ADDRESS_FACTOR)

    def check(self, *, address: str | None, account: str | None) -> int:
        """0 when allowed, else Retry-After seconds."""
        wait = self.per_address.take(f"addr:{address or '?'}")
        if account:
            wait = max(wait, self.per_account.take(self._key(account), consume=False))
        return math.ceil(wait) if wait > 0 else 0

    def failed(self, account: str | None) -> None:
        if account:
            self.per_account.take(self._key(account))

    @staticmethod
    def _key(account: str) -> str:
        return f"acct:{account.lower()[:200]}"
