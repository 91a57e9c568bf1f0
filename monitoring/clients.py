"""The one place that turns a Sandbox row into an AEP client for the workers, and what the
workers of several apps read through it alike (the mapping set a flow uses)."""

from __future__ import annotations

import threading
from functools import cache

import redis
from django.conf import settings

from aep import AEPClient, AEPConfig
from aep.ims import AccessToken, Fetcher, RedisTokenCache, TokenCache
from aep.types import Flow, MappingSet
from core.crypto import FieldKeySealer, Secret
from core.explain import ExplainedError, no_mapping_set
from monitoring.models import Sandbox

_local = threading.local()


@cache
def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


def redis_client() -> redis.Redis:
    """The Redis connection the workers share (token cache, poller state)."""
    return _redis()


def _plain(secret: Secret | str) -> str:
    # A row created in this process still holds the str it was given until it is reloaded.
    return secret.reveal() if isinstance(secret, Secret) else str(secret)


def config_for(sandbox: Sandbox) -> AEPConfig:
    return AEPConfig(
        platform_url=sandbox.platform_url,
        ims_url=sandbox.ims_url,
        client_id=sandbox.client_id,
        client_secret=_plain(sandbox.client_secret),
        org_id=sandbox.org_id,
        sandbox_name=sandbox.sandbox_name,
        scope=sandbox.scope,
        timeout=(5, settings.AEP_TIMEOUT_SECONDS),
    )


def shared_token_cache() -> RedisTokenCache:
    """IMS tokens in Redis, encrypted with the field key (FIELD_ENCRYPTION_KEY)."""
    return RedisTokenCache(_redis(), prefix="aep-token", sealer=FieldKeySealer())


def client_for(sandbox: Sandbox) -> AEPClient:
    """A client whose IMS token is shared by every worker process through Redis."""
    return AEPClient(config_for(sandbox), token_cache=shared_token_cache())


class NearTokenCache:
    """The Redis-shared token, also remembered in this process until it is due for refresh.

    The poller sends one request per flow all day; without this each would first ask Redis for
    the token. A token AEP rejects is forgotten here and in Redis alike.
    """

    def __init__(self, shared: TokenCache) -> None:
        self._shared = shared
        self._tokens: dict[str, AccessToken] = {}

    def get_or_fetch(self, key: str, fetch: Fetcher) -> AccessToken:
        token = self._tokens.get(key)
        if token is None or not token.is_fresh():
            token = self._tokens[key] = self._shared.get_or_fetch(key, fetch)
        return token

    def invalidate(self, key: str, rejected: str) -> None:
        token = self._tokens.get(key)
        if token is not None and token.value == rejected:
            self._tokens.pop(key, None)
        self._shared.invalidate(key, rejected)


@cache
def _near_tokens() -> NearTokenCache:
    return NearTokenCache(shared_token_cache())


def pooled_client_for(sandbox: Sandbox) -> AEPClient:
    """A client kept per worker thread and sandbox, so polling reuses its HTTP connections.

    The sandbox's `updated` time and the timeout are part of the key: an edited credential or
    setting gets a fresh client.
    """
    clients: dict = getattr(_local, "clients", None) or {}
    _local.clients = clients
    key = (sandbox.pk, sandbox.updated, settings.AEP_TIMEOUT_SECONDS)
    client = clients.get(key)
    if client is None:
        for stale in [k for k in clients if k[0] == sandbox.pk]:
            clients.pop(stale).close()
        client = clients[key] = AEPClient(config_for(sandbox), token_cache=_near_tokens())
    return client


def cached_sandbox(sandbox_id: int, version) -> Sandbox:
    """The sandbox row, kept per worker thread until its `updated` time (`version`) changes."""
    sandboxes: dict = getattr(_local, "sandboxes", None) or {}
    _local.sandboxes = sandboxes
    entry = sandboxes.get(sandbox_id)
    if entry is None or entry[0] != version:
        entry = sandboxes[sandbox_id] = (version, Sandbox.objects.get(pk=sandbox_id))
    return entry[1]


class NoMappingSet(ExplainedError):
    """The flow has no mapping set in AEP (no Mapping transformation)."""

    def __init__(self) -> None:
        super().__init__(no_mapping_set())


def mapping_set_in_use(client: AEPClient, flow: Flow) -> MappingSet:
    """The mapping set `flow` uses, at the version it uses, read from Data Prep."""
    transformation = flow.mapping
    if transformation is None or not transformation.mapping_id:
        raise NoMappingSet
    return client.dataprep.get_mapping_set(
        transformation.mapping_id, version=transformation.mapping_version
    )
