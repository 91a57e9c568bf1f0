"""Health probes, served without login. Answers name no host, URL or error text.

- ``/healthz/live``: the process answers; no dependencies, always 200.
- ``/healthz/ready`` (and ``/healthz``): the database and Redis answer. Load balancers and the
  compose healthcheck probe it; it stays 200 while beat or a worker is down, so a dead beat does
  not take every web instance out of rotation.
- ``/healthz/background``: beat's tick, each queue's worker heartbeat and each queue's depth,
  and how many stored secrets the current FIELD_ENCRYPTION_KEY cannot read, for alerting; 503
  when any check fails.

Beat sends ``core.heartbeat`` into every queue each HEARTBEAT_SECONDS (config/settings.py); the
worker that runs it records ``worker:<queue>``, and beat records its own tick as it publishes
(core/tasks.py). Both timestamps live in Redis; each fails once older than two heartbeat
periods. A heartbeat waits in line behind its queue's tasks and expires there, so a queue whose
workers fall behind fails too, not only one without workers.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kombu.transport import redis as redis_transport

from config import queues
from core import crypto
from core.redis_client import app_redis, redis_for

logger = logging.getLogger(__name__)

OK, FAILING, UNKNOWN = "ok", "failing", "unknown"


@dataclass
class Check:
    status: str
    # Seconds since the component last proved alive; 0 for those checked during this request.
    age_seconds: float | None = None
    detail: str = ""


# --- the heartbeat store -------------------------------------------------------------------------


def heartbeat_key(component: str) -> str:
    return f"{settings.HEARTBEAT_REDIS_PREFIX}{component}"


def worker_component(queue: str) -> str:
    """The heartbeat of the workers of `queue` (interactive, sync, default)."""
    return f"worker:{queue}"


def beat(component: str, at: float | None = None) -> None:
    """Record that `component` ("beat", or a queue's workers) is alive now."""
    ttl = max(60, settings.HEARTBEAT_SECONDS * 10)
    app_redis().set(heartbeat_key(component), repr(time.time() if at is None else at), ex=ttl)


def last_beat(component: str) -> float | None:
    value = app_redis().get(heartbeat_key(component))
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
        app_redis().ping()
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


def queue_depth(queue: str, redis_ok: bool) -> int | None:
    """Messages waiting in `queue` on the Redis broker; None when Redis cannot say.

    Kombu keeps a queue as one Redis list per priority step. Retries and syncs sent with a
    countdown are not counted: a worker holds them until they are due.
    """
    if not redis_ok:
        return None
    name = queues.broker_name(queue)
    keys = [name] + [
        f"{name}{redis_transport.Channel.sep}{step}"
        for step in redis_transport.Channel.priority_steps
        if step
    ]
    try:
        with redis_for(settings.CELERY_BROKER_URL).pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.llen(key)
            return sum(pipe.execute())
    except redis.RedisError:
        logger.exception("health check: cannot read the depth of queue %s", queue)
        return None


def check_secrets() -> Check:
    """Every stored secret reads with the current keys (an old key dropped too early, a backup
    restored under another key, fail here before the action that needs the secret does)."""
    try:
        unreadable = crypto.count_unreadable()
    except DatabaseError:
        logger.exception("health check: cannot count unreadable secrets")
        return Check(UNKNOWN, detail="database unreachable")
    if unreadable:
        return Check(
            FAILING,
            detail=f"{unreadable} stored secret(s) cannot be read with FIELD_ENCRYPTION_KEY",
        )
    return Check(OK, age_seconds=0.0)


def ready_checks() -> dict[str, Check]:
    return {"database": check_database(), "redis": check_redis()}


def background_checks(redis_ok: bool) -> dict[str, Check]:
    checks = {"beat": check_heartbeat("beat", redis_ok)}
    for queue in queues.QUEUES:
        component = worker_component(queue)
        checks[component] = check_heartbeat(component, redis_ok)
    return checks


def _checks_body(checks: dict[str, Check]) -> dict:
    return {
        name: {k: v for k, v in asdict(check).items() if v != ""} for name, check in checks.items()
    }


def _answer(checks: dict[str, Check], **extra) -> JsonResponse:
    healthy = all(check.status == OK for check in checks.values())
    body = {"status": OK if healthy else FAILING, **extra, "checks": _checks_body(checks)}
    return JsonResponse(body, status=200 if healthy else 503)


@never_cache
@require_GET
def live(request: HttpRequest) -> JsonResponse:
    """The process serves requests; nothing else is checked, so nothing else can fail it."""
    return JsonResponse({"status": OK})


@never_cache
@require_GET
def ready(request: HttpRequest) -> JsonResponse:
    """What a load balancer asks: can this instance serve pages (database and Redis)?"""
    return _answer(ready_checks())


@never_cache
@require_GET
def background(request: HttpRequest) -> JsonResponse:
    """What alerting asks: are beat and the workers of every queue alive and keeping up?"""
    redis_ok = check_redis().status == OK
    depths = {queue: queue_depth(queue, redis_ok) for queue in queues.QUEUES}
    return _answer(
        {**background_checks(redis_ok), "secrets": check_secrets()},
        heartbeat_seconds=settings.HEARTBEAT_SECONDS,
        queue_depth=depths,
    )
