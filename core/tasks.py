"""Heartbeats for /healthz/background, and task timings for /metrics.

Celery imports this module in every worker and in beat (task autodiscovery), so the signal
handlers below are connected in exactly the processes that publish or run tasks.
"""

from __future__ import annotations

import logging
import threading
import time

import redis
from celery import shared_task, signals

from config import queues
from core import healthz, metrics

logger = logging.getLogger(__name__)


@shared_task(name="core.heartbeat", ignore_result=True)
def heartbeat(queue: str = queues.DEFAULT) -> None:
    """Sent by beat into each queue every HEARTBEAT_SECONDS: whichever worker runs it proves
    that `queue` has live workers that keep up with it."""
    healthz.beat(healthz.worker_component(queue))


# --- beat liveness -------------------------------------------------------------------------------

_in_beat = threading.Event()


@signals.beat_init.connect(weak=False)
def _beat_started(**kwargs) -> None:
    _in_beat.set()
    _record_beat_tick()


@signals.before_task_publish.connect(weak=False)
def _beat_published(**kwargs) -> None:
    # Every process publishes tasks; only beat's publishes say beat is alive. Beat publishes
    # core.heartbeat every HEARTBEAT_SECONDS, so its tick is at least that fresh.
    if _in_beat.is_set():
        _record_beat_tick()


def _record_beat_tick() -> None:
    try:
        healthz.beat("beat")
    except redis.RedisError as exc:
        logger.warning("beat tick not recorded: Redis error %s", type(exc).__name__)


def leave_beat_mode() -> None:
    """Stop recording beat ticks in this process (for an embedded beat that has stopped)."""
    _in_beat.clear()


# --- task timings --------------------------------------------------------------------------------

_started: dict[str, float] = {}


@signals.task_prerun.connect(weak=False)
def _task_started(task_id: str | None = None, **kwargs) -> None:
    if task_id:
        _started[task_id] = time.perf_counter()


@signals.task_postrun.connect(weak=False)
def _task_finished(task_id: str | None = None, task=None, state: str | None = None, **kw) -> None:
    started = _started.pop(task_id or "", None)
    if started is None or task is None:
        return
    name = task.name or "unknown"
    metrics.observe(metrics.TASK_DURATION, time.perf_counter() - started, {"task": name})
    metrics.incr(metrics.TASKS, {"task": name, "state": state or "UNKNOWN"})
