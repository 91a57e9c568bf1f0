"""A per-token rate limit in Redis, shared by every web process: API_RATE_PER_MINUTE calls in
each clock minute, then 429 with Retry-After until the next minute."""

from __future__ import annotations

import logging
import time

import redis
from django.conf import settings
from rest_framework.throttling import BaseThrottle

from core.redis_client import app_redis

logger = logging.getLogger(__name__)
WINDOW = 60


class TokenRateThrottle(BaseThrottle):
    def allow_request(self, request, view) -> bool:
        token = request.auth
        if token is None:
            return True
        now = time.time()
        window = int(now // WINDOW)
        self.retry_after = WINDOW - (now % WINDOW)
        # By digest, not id: a test database starts its ids again, the shared Redis does not.
        key = f"api:rate:{token.digest[:24]}:{window}"
        try:
            pipe = app_redis().pipeline()
            pipe.incr(key)
            pipe.expire(key, WINDOW * 2)
            count = pipe.execute()[0]
        except redis.RedisError:
            # The limit protects the service; with Redis away the API itself still answers.
            logger.warning("API rate limit not checked: Redis unavailable")
            return True
        return int(count) <= settings.API_RATE_PER_MINUTE

    def wait(self) -> float:
        return max(1.0, float(int(self.retry_after) + 1))
