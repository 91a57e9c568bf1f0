"""The Redis client of the health probes, the heartbeats and the metrics store.

One client per URL, with short timeouts: a load balancer's probe or a scrape must get an
answer rather than hang with Redis, and recording a metric must not hold up the work it counts.
"""

from __future__ import annotations

from functools import lru_cache

import redis
from django.conf import settings


@lru_cache(maxsize=4)
def redis_for(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def app_redis() -> redis.Redis:
    """The application's Redis (REDIS_URL)."""
    return redis_for(settings.REDIS_URL)
