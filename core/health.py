"""/healthz: is the database, Redis, a Celery worker and Celery beat alive?

Workers prove they are alive by running the `core.heartbeat` task that beat sends every
HEARTBEAT_SECONDS; beat proves it by publishing (see core/tasks.py). Both store a timestamp in
Redis; either is unhealthy once older than two heartbeat periods. The answer names no host,
URL or error text: it is served without login.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from functools import lru_cache

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)

OK, FAILING, UNKNOWN = "ok", "failing", "unknown"


@dataclass
class Check:
    status: str
    # Seconds since the component last proved alive; 0 for those checked during this request.
    age_seconds: float | None = None
    detail: str = ""


# --- the heartbeat store -------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _redis_for(url: str) -> redis.Redis:
    # Short timeouts: a load balancer's probe must get an answer, not hang with Redis.
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def _redis() -> redis.Redis:
    return _redis_for(settings.REDIS_URL)


def heartbeat_key(component: str) -> str:
    return f"{settings.HEARTBEAT_REDIS_PREFIX}{component}"


def beat(component: str, at: float | None = None) -> None:
    """Record that `component` ("worker" or "beat") is alive now."""
    ttl = max(60, settings.HEARTBEAT_SECONDS * 10)
    _redis().set(heartbeat_key(component), repr(time.time() if at is None else at), ex=ttl)


def last_beat(component: str) -> float | None:
    value = _redis().get(heartbeat_key(component))
    return float(value) if value is not None else None


# --- checks --------------------------------------------------------------------------------------


def check_database() -> Check:
    try:
        _select_one()
    except DatabaseError:
        # A kept-alive connection may have been closed under us (a database restart); only a
        # fresh connection that fails too means the database is down. (Inside a transaction,
        # as in tests, the connection is not ours to close.)
        if not connection.in_atomic_block:
            connection.close()
        try:
            _select_one()
        except DatabaseError:
            logger.exception("health check: database unreachable")
            return Check(FAILING, detail="unreachable")
    return Check(OK, age_seconds=0.0)


def _select_one() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_redis() -> Check:
    try:
        _redis().ping()
    except redis.RedisError:
        logger.exception("health check: Redis unreachable")
        return Check(FAILING, detail="unreachable")
    return Check(OK, age_seconds=0.0)


def check_heartbeat(component: str, redis_ok: bool) -> Check:
    if not redis_ok:
        return Check(UNKNOWN, detail="Redis unreachable")
    try:
        at = last_beat(component)
    except (redis.RedisError, ValueError):
        logger.exception("health check: cannot read the %s heartbeat", component)
        return Check(UNKNOWN, detail="heartbeat unreadable")
    if at is None:
        return Check(FAILING, detail="no heartbeat yet")
    age = max(0.0, time.time() - at)
    limit = 2 * settings.HEARTBEAT_SECONDS
    if age > limit:
        return Check(FAILING, round(age, 1), f"no heartbeat for more than {limit} seconds")
    return Check(OK, round(age, 1))


def run_checks() -> dict[str, Check]:
    redis_check = check_redis()
    redis_ok = redis_check.status == OK
    return {
        "database": check_database(),
        "redis": redis_check,
        "worker": check_heartbeat("worker", redis_ok),
        "beat": check_heartbeat("beat", redis_ok),
    }


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = run_checks()
    healthy = all(check.status == OK for check in checks.values())
    body = {
        "status": OK if healthy else FAILING,
        "heartbeat_seconds": settings.HEARTBEAT_SECONDS,
        "checks": {
            name: {k: v for k, v in asdict(check).items() if v != ""}
            for name, check in checks.items()
        },
    }
    return JsonResponse(body, status=200 if healthy else 503)
