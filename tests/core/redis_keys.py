"""Unique Redis key prefixes for the metrics and heartbeat stores, removed after each test."""

from __future__ import annotations

import uuid

import redis
from django.conf import settings


def unique_prefixes() -> dict[str, str]:
    tag = uuid.uuid4().hex[:10]
    return {
        "METRICS_REDIS_PREFIX": f"test-{tag}:metrics:",
        "HEARTBEAT_REDIS_PREFIX": f"test-{tag}:heartbeat:",
    }


def delete_prefixed(prefixes: dict[str, str]) -> None:
    client = redis.Redis.from_url(settings.REDIS_URL)
    for prefix in prefixes.values():
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
