"""The one place that turns a Sandbox row into an AEP client for the workers."""

from __future__ import annotations

from functools import cache

import redis
from django.conf import settings

from aep import AEPClient, AEPConfig
from aep.ims import RedisTokenCache
from monitoring.models import Sandbox


@cache
def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


def config_for(sandbox: Sandbox) -> AEPConfig:
    return AEPConfig(
        platform_url=sandbox.platform_url,
        ims_url=sandbox.ims_url,
        client_id=sandbox.client_id,
        client_secret=sandbox.client_secret.reveal(),
        org_id=sandbox.org_id,
        sandbox_name=sandbox.sandbox_name,
        scope=sandbox.scope,
        timeout=(5, settings.AEP_TIMEOUT_SECONDS),
    )


def client_for(sandbox: Sandbox) -> AEPClient:
    """A client whose IMS token is shared by every worker process through Redis."""
    return AEPClient(config_for(sandbox), token_cache=RedisTokenCache(_redis(), prefix="aep-token"))
