"""State the poller shares between beat and every worker, in Redis.

* A pause: after AEP answers 429, nobody polls until the pause ends, and the pace slows down.
  Rate limiting is the platform telling the whole poller to go slower, so it never counts as a
  failure of the flow that happened to receive it.
* A pace factor (1 = full speed, up to MAX_PACE): each tick dispatches batch/pace flows, spread
  over pace times the tick. It halves back towards 1 on every tick that saw no 429.
* A per-flow lock, so a redelivered or duplicated sync message never runs beside the first.
"""

from __future__ import annotations

import time
import uuid
from contextlib import contextmanager

from monitoring import conf
from monitoring.clients import redis_client as _redis

MAX_PACE = 16


def key(name: str) -> str:
    return f"{conf.value('MONITORING_REDIS_PREFIX')}:{name}"


def paused_until() -> float:
    """Epoch seconds until which polling is paused (0 when not paused)."""
    raw = _redis().get(key("paused-until"))
    return float(raw) if raw else 0.0


def is_paused(now: float | None = None) -> bool:
    return paused_until() > (now or time.time())


def pace() -> float:
    raw = _redis().get(key("pace"))
    return float(raw) if raw else 1.0


def slow_down(retry_after: float | None) -> float:
    """Pause the poller and halve its speed; returns when polling may resume (epoch seconds)."""
    client = _redis()
    current = pace()
    new_pace = min(MAX_PACE, current * 2)
    pause = retry_after if retry_after else conf.value("MONITORING_THROTTLE_SECONDS") * current
    until = time.time() + pause
    with client.pipeline() as pipe:
        pipe.set(key("pace"), new_pace)
        pipe.set(key("throttled"), 1, ex=max(1, int(conf.value("MONITORING_TICK_SECONDS") * 2)))
        pipe.execute()
    # Only ever extend a pause, never shorten one another worker set.
    if until > paused_until():
        client.set(key("paused-until"), until, ex=int(pause) + 60)
    return max(until, paused_until())


def recover() -> float:
    """Called once per tick: speed back up unless a 429 was seen recently."""
    client = _redis()
    if client.exists(key("throttled")):
        return pace()
    new_pace = max(1.0, pace() / 2)
    client.set(key("pace"), new_pace)
    return new_pace


_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


@contextmanager
def flow_lock(dataflow_pk: int, ttl_seconds: int):
    """Hold the flow's sync lock, or yield False when another sync holds it."""
    with sync_slot(dataflow_pk, ttl_seconds) as (_paused, acquired):
        yield acquired


@contextmanager
def sync_slot(dataflow_pk: int, ttl_seconds: int):
    """Yield (paused_until, lock acquired): the pause check and the lock in one round trip.

    The lock is released only by its owner (compare-and-delete), so a sync that outlived its
    TTL never removes the lock of the sync that followed it.
    """
    client = _redis()
    name = key(f"sync-lock:{dataflow_pk}")
    token = uuid.uuid4().hex
    with client.pipeline(transaction=False) as pipe:
        pipe.get(key("paused-until"))
        pipe.set(name, token, nx=True, ex=ttl_seconds)
        paused, acquired = pipe.execute()
    try:
        yield float(paused or 0), bool(acquired)
    finally:
        if acquired:
            client.eval(_RELEASE, 1, name, token)
