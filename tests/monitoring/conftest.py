"""Monitoring tests share Redis with everyone: give each test its own key prefix."""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture(autouse=True)
def _monitoring_redis_prefix(settings):
    settings.MONITORING_REDIS_PREFIX = f"test-monitoring-{uuid.uuid4().hex}"
