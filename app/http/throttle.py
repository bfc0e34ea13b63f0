"""Failed authentication: counted in /metrics by door (api, console), and slowed per client
address by a token bucket in this process. Each failure takes a token; with none left the
address gets 429 at that door until one has come back, whatever it sends (a right key too).
Several instances each keep their own buckets: behind a load balancer spreading an address
over N instances, it gets N times the burst and rate (still hours per thousand guesses)."""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.kit.clock import Clock
from app.kit.metrics import Metrics

AUTH_FAILURES = "credit_ledger_auth_failures_total"
REFILL_SECONDS = 1.0  # then one failure a second: 500 wrong keys take 8 minutes, not 2 s
MAX_ADDRESSES = 10_000  # memory is bounded: the least recently failing address is forgotten


@dataclass
class _Bucket:
    tokens: float
    at: float


class FailureThrottle:
    def __init__(self, metrics: Metrics, clock: Clock, burst: int) -> None:
        self.metrics = metrics
        self.clock = clock
        # Failures an address may make at once (AUTH_FAILURE_BURST, default 20): a person
        # mistyping a key never meets the limit.
        self.burst = float(burst)
        self._buckets: OrderedDict[tuple[str, str], _Bucket] = OrderedDict()

    def retry_after(self, door: str, address: str) -> int | None:
        """Seconds until `address` may try `door` again, or None when it may now."""
        bucket = self._bucket(door, address, create=False)
        if bucket is None or bucket.tokens >= 1:
            return None
        return max(1, math.ceil((1 - bucket.tokens) * REFILL_SECONDS))

    def failed(self, door: str, address: str) -> None:
        self.metrics.inc(AUTH_FAILURES, door=door)
        bucket = self._bucket(door, address, create=True)
        assert bucket is not None
        bucket.tokens = max(bucket.tokens - 1, 0.0)

    def _bucket(self, door: str, address: str, *, create: bool) -> _Bucket | None:
        key = (door, address)
        bucket = self._buckets.get(key)
        if bucket is None and not create:
            return None  # the common case costs one dict look-up
        now = self.clock.now().timestamp()
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(self.burst, now)
            while len(self._buckets) > MAX_ADDRESSES:
                self._buckets.popitem(last=False)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) / REFILL_SECONDS)
        bucket.at = now
        if create:
            self._buckets.move_to_end(key)
        return bucket


def client_address(scope: Mapping[str, Any]) -> str:
    """The caller's address as the server saw it (uvicorn puts the proxy's client there when
    FORWARDED_ALLOW_IPS trusts it)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"
