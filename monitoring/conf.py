"""Knobs of the poller, with defaults; each may be overridden in Django settings."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

DEFAULTS = {
    # How often beat runs monitoring.schedule_syncs, and how many flows one tick may dispatch.
    "MONITORING_TICK_SECONDS": 30,
    "MONITORING_SYNC_BATCH": 500,
    # Between two syncs of a quiet flow: at least MIN, at most MAX; open runs are re-polled
    # every OPEN_RUN seconds until they end.
    "MONITORING_SYNC_MIN_SECONDS": 60,
    "MONITORING_SYNC_MAX_SECONDS": 600,
    "MONITORING_OPEN_RUN_SECONDS": 30,
    # A dispatched sync that never finished is dispatched again after this long.
    "MONITORING_SYNC_LEASE_SECONDS": 300,
    # Back-off after unexpected sync failures: BASE * 2**(failures - 1), capped.
    "MONITORING_BACKOFF_BASE_SECONDS": 30,
    "MONITORING_BACKOFF_MAX_SECONDS": 3600,
    # Pause after a 429 without Retry-After, doubled while throttling continues.
    "MONITORING_THROTTLE_SECONDS": 30,
    "MONITORING_RUNS_PAGE_SIZE": 100,
    "MONITORING_REDIS_PREFIX": "monitoring",
    # Webhook deliveries: attempts and the first retry delay (tripled each time).
    "MONITORING_WEBHOOK_ATTEMPTS": 5,
    "MONITORING_WEBHOOK_RETRY_SECONDS": 10,
    "MONITORING_WEBHOOK_TIMEOUT_SECONDS": 10,
}


def value(name: str):
    return getattr(settings, name, DEFAULTS[name])


def seconds(name: str) -> timedelta:
    return timedelta(seconds=value(name))
