"""In-process token buckets: login and token attempts per (account, address), per address and
per account, sign-ups per address, and proxied requests per verified client. 429 + ``Retry-After`` when a bucket is empty.

Buckets live in this process (a replica limits on its own; with N replicas behind a balancer the
effective limit is up to N times higher — acceptable for brute-force protection, documented in
docs/DECISIONS.md).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable

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

    def level(self, key: str) -> float:
        """The tokens left in ``key``'s bucket now (``capacity`` for a key never seen)."""
        entry = self._buckets.get(key)
        if entry is None:
            return self.capacity
        tokens, stamp = entry
        return min(self.capacity, tokens + (self.monotonic() - stamp) * self.rate)

    def _evict(self) -> None:
        while len(self._buckets) > MAX_BUCKETS:
            self._buckets.popitem(last=False)


class AuthLimiter:
    """Login and token endpoints (SPEC §14: failed logins never lock out the rightful owner).

    - every request counts against its client address (``ADDRESS_FACTOR`` × ``limit`` per window);
    - every failure counts against the address (``ADDRESS_FAILURES`` × ``limit``) and against the
      pair (account or client named, address) (``limit``): a guesser locks out only itself;
    - failures against an account from everywhere are counted too (``ACCOUNT_FAILURES`` ×
      ``limit``); while that bucket is empty (a distributed guess), only the addresses that have
      themselves failed for that account are refused — a client with a clean record still gets in;
    - a failure that names no known account or client (e.g. a refresh with an unknown token)
      counts against the address only.
    The rightful owner's correct credentials from an address that has not been failing are
    therefore never refused because someone else failed.
    """

    ADDRESS_FACTOR = 5
    ADDRESS_FAILURES = 3
    ACCOUNT_FAILURES = 10

    def __init__(self, *, limit: int, window_seconds: float) -> None:
        rate = limit / window_seconds if window_seconds > 0 else 0
        self.limit = limit
        self.per_address = TokenBuckets(capacity=limit * self.ADDRESS_FACTOR, rate=rate * self.ADDRESS_FACTOR)
        self.address_failures = TokenBuckets(capacity=limit * self.ADDRESS_FAILURES, rate=rate * self.ADDRESS_FAILURES)
        self.pair_failures = TokenBuckets(capacity=limit, rate=rate)
        self.account_failures = TokenBuckets(capacity=limit * self.ACCOUNT_FAILURES, rate=rate * self.ACCOUNT_FAILURES)

    def check(self, *, address: str | None, account: str | None) -> int:
        """0 when allowed, else Retry-After seconds."""
        addr = f"addr:{address or '?'}"
        wait = self.per_address.take(addr)
        wait = max(wait, self.address_failures.take(addr, consume=False))
        if account:
            pair = self._pair(account, address)
            wait = max(wait, self.pair_failures.take(pair, consume=False))
            if self.pair_failures.level(pair) < self.pair_failures.capacity:  # this address has failed for it
                wait = max(wait, self.account_failures.take(self._key(account), consume=False))
        return math.ceil(wait) if wait > 0 else 0

    def failed(self, account: str | None, address: str | None = None) -> None:
        self.address_failures.take(f"addr:{address or '?'}")
        if account:
            self.pair_failures.take(self._pair(account, address))
            self.account_failures.take(self._key(account))

    @staticmethod
    def _key(account: str) -> str:
        return f"acct:{account.lower()[:200]}"

    @classmethod
    def _pair(cls, account: str, address: str | None) -> str:
        return f"{cls._key(account)}@{address or '?'}"


class SignUpLimiter:
    """Sign-ups per client address (``CUSTODY_SIGNUP_RATE_LIMIT`` per window)."""

    def __init__(self, *, limit: int, window_seconds: float) -> None:
        rate = limit / window_seconds if window_seconds > 0 else 0
        self.buckets = TokenBuckets(capacity=limit, rate=rate)

    def check(self, address: str) -> int:
        wait = self.buckets.take(f"addr:{address}")
        return math.ceil(wait) if wait > 0 else 0
