"""State the poller shares between beat and every worker, in Redis.

* A pause per sandbox: after AEP answers 429 for a sandbox, nobody polls that sandbox until the
  pause ends (Retry-After when AEP sends it), and the pace slows down. Rate limiting is the
  platform telling the poller to go slower, so it never counts as a failure of the flows that
  happened to receive it. Other sandboxes (other organisations, other quotas) go on.
* A pace factor (1 = full speed, up to MAX_PACE): each tick dispatches batch/pace flows, spread
  over pace times the tick. It halves back towards 1 on every tick that saw no 429.
* A per-flow lock, so a redelivered or duplicated sync message never runs beside the first. A
  sync renews the locks it holds after every page, so a sync longer than the lock's TTL keeps it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from monitoring import conf
from monitoring.clients import redis_client as _redis

MAX_PACE = 16


def key(name: str) -> str:
    return f"{conf.value('MONITORING_REDIS_PREFIX')}:{name}"


def _pause_key(sandbox_pk: int | None) -> str:
    return key("paused-until" if sandbox_pk is None else f"paused-until:{sandbox_pk}")


def paused_until(sandbox_pk: int | None = None) -> float:
    """Epoch seconds until which polling of the sandbox is paused (0 when not paused)."""
    raw = _redis().get(_pause_key(sandbox_pk))
    return float(raw) if raw else 0.0


def is_paused(now: float | None = None, sandbox_pk: int | None = None) -> bool:
    return paused_until(sandbox_pk) > (now or time.time())


def paused_sandboxes(sandbox_pks: Iterable[int], now: float | None = None) -> dict[int, float]:
    """{sandbox pk: paused until} for those of the sandboxes paused now (one round trip)."""
    pks = list(sandbox_pks)
    if not pks:
        return {}
    values = _redis().mget([_pause_key(pk) for pk in pks])
    moment = now or time.time()
    return {pk: float(v) for pk, v in zip(pks, values, strict=True) if v and float(v) > moment}


def pace() -> float:
    raw = _redis().get(key("pace"))
    return float(raw) if raw else 1.0


def slow_down(retry_after: float | None, sandbox_pk: int | None = None) -> float:
    """Pause polling of the sandbox and halve the poller's speed; returns when polling of the
    sandbox may resume (epoch seconds)."""
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
    if until > paused_until(sandbox_pk):
        client.set(_pause_key(sandbox_pk), until, ex=int(pause) + 60)
    return max(until, paused_until(sandbox_pk))


def recover() -> float:
    """Called once per tick: speed back up unless a 429 was seen recently."""
    client = _redis()
    if client.exists(key("throttled")):
        return pace()
    new_pace = max(1.0, pace() / 2)
    client.set(key("pace"), new_pace)
    return new_pace


_RELEASE = """
local released = 0
for i, name in ipairs(KEYS) do
  if redis.call('get', name) == ARGV[1] then released = released + redis.call('del', name) end
end
return released
"""
_RENEW = """
local renewed = 0
for i, name in ipairs(KEYS) do
  if redis.call('get', name) == ARGV[1] then
    renewed = renewed + redis.call('expire', name, tonumber(ARGV[2]))
  end
end
return renewed
"""


@contextmanager
def flow_lock(dataflow_pk: int, ttl_seconds: int):
    """Hold the flow's sync lock, or yield False when another sync holds it."""
    with sync_slots([dataflow_pk], ttl_seconds) as (_paused, held, _renew):
        yield dataflow_pk in held


@contextmanager
def sync_slots(
    dataflow_pks: Iterable[int], ttl_seconds: int, sandbox_pk: int | None = None
) -> Iterator[tuple[float, set[int], Callable[[], None]]]:
    """Yield (paused_until, the flows whose lock this sync holds, renew): the sandbox's pause
    check and every flow's lock in one round trip.

    `renew()` extends the locks still held to a full TTL (one round trip; call it after each
    page). Locks are renewed and released only by their owner (compare-and-set), so a sync that
    outlived its TTL never touches the lock of the sync that followed it.
    """
    client = _redis()
    token = uuid.uuid4().hex
    names = {pk: key(f"sync-lock:{pk}") for pk in dataflow_pks}
    with client.pipeline(transaction=False) as pipe:
        pipe.get(_pause_key(sandbox_pk))
        for name in names.values():
            pipe.set(name, token, nx=True, ex=ttl_seconds)
        paused, *acquired = pipe.execute()
    held = {pk for pk, ok in zip(names, acquired, strict=True) if ok}
    held_names = [names[pk] for pk in held]

    def renew() -> None:
        if held_names:
            client.eval(_RENEW, len(held_names), *held_names, token, ttl_seconds)

    try:
        yield float(paused or 0), held, renew
    finally:
        if held_names:
            client.eval(_RELEASE, len(held_names), *held_names, token)
