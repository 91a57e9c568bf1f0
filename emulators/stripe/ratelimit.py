"""Requests-per-second limit per API key (a token bucket, so short bursts up to the rate pass)."""

from __future__ import annotations

import threading
import time


class RateLimiter:
    def __init__(self, rps: float | None = None) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill)
        self.rps = rps

    def configure(self, rps: float | None) -> None:
        with self._lock:
            self.rps = rps if rps and rps > 0 else None
            self._buckets.clear()

    def allow(self, key: str) -> bool:
        with self._lock:
            rps = self.rps
            if rps is None:
                return True
            capacity = max(1.0, rps)
            now = time.monotonic()
            tokens, last = self._buckets.get(key, (capacity, now))
            tokens = min(capacity, tokens + (now - last) * rps)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                return False
            self._buckets[key] = (tokens - 1.0, now)
            return True
