"""Adobe IMS OAuth server-to-server tokens, fetched once and shared.

A token lives about 24 hours. Every Celery worker needs one, and IMS should not see one
request per worker per task, so tokens sit in a cache keyed by (IMS URL, client id, scope).
`RedisTokenCache` shares them between processes and uses a short Redis lock so that when the
token runs out only one process goes to IMS while the others wait for its result.

Neither the client secret nor the token is ever logged.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import requests

from aep import quirks
from aep.config import AEPConfig
from aep.errors import AEPTimeout, IMSAuthError
from aep.http import describe_error_body, json_or_none, transport_error

logger = logging.getLogger(__name__)

# Refresh this long before IMS says the token expires, so a token never dies mid-request...
REFRESH_MARGIN_SECONDS = 300.0
# ...but for short-lived tokens (tests, stage) keep 90% of the lifetime usable.
REFRESH_MARGIN_FRACTION = 0.1


@dataclass(frozen=True)
class AccessToken:
    value: str = field(repr=False)
    expires_at: float  # wall-clock epoch seconds; shared across processes, so not monotonic
    refresh_at: float

    def is_fresh(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) < self.refresh_at

    def to_json(self) -> str:
        return json.dumps(
            {"value": self.value, "expires_at": self.expires_at, "refresh_at": self.refresh_at}
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> AccessToken:
        data = json.loads(raw)
        return cls(data["value"], float(data["expires_at"]), float(data["refresh_at"]))

    @classmethod
    def issued(cls, value: str, lifetime: float, now: float | None = None) -> AccessToken:
        now = time.time() if now is None else now
        margin = min(REFRESH_MARGIN_SECONDS, lifetime * REFRESH_MARGIN_FRACTION)
        return cls(value=value, expires_at=now + lifetime, refresh_at=now + lifetime - margin)


Fetcher = Callable[[], AccessToken]


class TokenCache(Protocol):
    def get_or_fetch(self, key: str, fetch: Fetcher) -> AccessToken:
        """Return a fresh cached token, or call `fetch` (at most once across sharers)."""
        ...

    def invalidate(self, key: str, rejected: str) -> None:
        """Forget the token if it is still `rejected` (someone may have refreshed it since)."""
        ...


def cache_key(config: AEPConfig) -> str:
    """Stable, secret-free cache key for one credential."""
    material = f"{config.token_url}\n{config.client_id}\n{config.scope}".encode()
    return hashlib.sha256(material).hexdigest()


class MemoryTokenCache:
    """Per-process cache; a lock per key keeps threads from fetching the same token twice
    without making one credential's fetch wait for another's."""

    def __init__(self) -> None:
        self._tokens: dict[str, AccessToken] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def get_or_fetch(self, key: str, fetch: Fetcher) -> AccessToken:
        with self._lock(key):
            token = self._tokens.get(key)
            if token is None or not token.is_fresh():
                token = fetch()
                self._tokens[key] = token
            return token

    def invalidate(self, key: str, rejected: str) -> None:
        with self._lock(key):
            token = self._tokens.get(key)
            if token is not None and token.value == rejected:
                del self._tokens[key]


# Delete a key only if it still holds the value we expect: a lock we own, or the token that
# was rejected. Plain GET+DEL would race with another process writing in between.
_COMPARE_AND_DELETE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class Sealer(Protocol):
    """Encrypts what the cache puts in Redis; `open` raises ValueError on what it cannot read."""

    def seal(self, text: str) -> str: ...

    def open(self, sealed: str) -> str: ...


class RedisTokenCache:
    """Token cache shared by every process that talks to the same Redis.

    With a `sealer`, tokens are stored encrypted: whoever reads Redis (a backup, a shared
    instance) gets no bearer token. A stored value the sealer cannot open counts as missing.

    1. Read the token key; a fresh token is returned at once.
    2. Otherwise try `SET lock NX PX`. The winner reads again (a previous holder may just have
       written), fetches from IMS, stores the token with a TTL ending at its refresh time, and
       releases its lock.
    3. Losers poll the token key until it appears. If the lock disappears without a token (the
       winner failed), they compete for the lock again. A winner that dies mid-fetch loses the
       lock after `lock_ms`.
    """

    def __init__(
        self,
        redis_client: Any,
        prefix: str = "aep:ims:",
        *,
        lock_ms: int = 15_000,
        wait_seconds: float = 30.0,
        poll_seconds: float = 0.05,
        sealer: Sealer | None = None,
    ) -> None:
        self._redis = redis_client
        self._sealer = sealer
        self._prefix = prefix
        self._lock_ms = lock_ms
        self._wait_seconds = wait_seconds
        self._poll_seconds = poll_seconds
        self._compare_and_delete = redis_client.register_script(_COMPARE_AND_DELETE)

    def _token_key(self, key: str) -> str:
        return f"{self._prefix}token:{key}"

    def _lock_key(self, key: str) -> str:
        return f"{self._prefix}lock:{key}"

    def _read(self, key: str) -> AccessToken | None:
        token = self._decode(self._redis.get(self._token_key(key)))
        return token if token is not None and token.is_fresh() else None

    def _decode(self, raw: str | bytes | None) -> AccessToken | None:
        if raw is None:
            return None
        if self._sealer is None:
            return AccessToken.from_json(raw)
        text = raw.decode() if isinstance(raw, bytes) else raw
        try:
            return AccessToken.from_json(self._sealer.open(text))
        except ValueError:  # sealed with another key, or stored before sealing: fetch anew
            return None

    def _store(self, key: str, token: AccessToken) -> None:
        ttl_ms = int((token.refresh_at - time.time()) * 1000)
        if ttl_ms > 0:
            value = token.to_json()
            if self._sealer is not None:
                value = self._sealer.seal(value)
            self._redis.set(self._token_key(key), value, px=ttl_ms)

    def get_or_fetch(self, key: str, fetch: Fetcher) -> AccessToken:
        deadline = time.monotonic() + self._wait_seconds
        while True:
            token = self._read(key)
            if token is not None:
                return token
            owner = uuid.uuid4().hex
            if self._redis.set(self._lock_key(key), owner, nx=True, px=self._lock_ms):
                try:
                    return self._read(key) or self._fetch_and_store(key, fetch)
                finally:
                    self._compare_and_delete(keys=[self._lock_key(key)], args=[owner])
            if time.monotonic() > deadline:
                raise AEPTimeout("timed out waiting for another process to fetch an IMS token")
            time.sleep(self._poll_seconds)

    def _fetch_and_store(self, key: str, fetch: Fetcher) -> AccessToken:
        token = fetch()
        self._store(key, token)
        return token

    def invalidate(self, key: str, rejected: str) -> None:
        raw = self._redis.get(self._token_key(key))
        token = self._decode(raw)
        if token is not None and token.value == rejected:
            self._compare_and_delete(keys=[self._token_key(key)], args=[raw])


_process_cache = MemoryTokenCache()


def default_token_cache() -> MemoryTokenCache:
    """The process-wide cache used when a client is built without one.

    Celery tasks build a client per task; sharing the cache keeps that from costing a token
    fetch per task. Keys include the credential, so different sandboxes never mix.
    """
    return _process_cache


class IMSTokenProvider:
    """Fetches OAuth server-to-server tokens for one credential through a cache."""

    def __init__(self, config: AEPConfig, cache: TokenCache, session: requests.Session) -> None:
        self._config = config
        self._cache = cache
        self._session = session
        self._key = cache_key(config)

    def token(self) -> str:
        return self._cache.get_or_fetch(self._key, self._fetch).value

    def invalidate(self, rejected: str) -> None:
        self._cache.invalidate(self._key, rejected)

    def _fetch(self) -> AccessToken:
        """POST {ims}/ims/token/v3 (client_credentials)."""
        form = {
            "grant_type": "client_credentials",
            "client_id": self._config.client_id,
            "client_secret": self._config.client_secret,
            "scope": self._config.scope,
        }
        response = self._post(form)
        if not response.ok:
            raise _ims_error(response)
        data = json_or_none(response)
        if not isinstance(data, dict) or not data.get("access_token") or "expires_in" not in data:
            raise IMSAuthError("IMS answered without access_token/expires_in", response.status_code)
        lifetime = quirks.token_lifetime_seconds(data["expires_in"])
        logger.info("Fetched IMS token (key %s…, lifetime %.0fs)", self._key[:8], lifetime)
        return AccessToken.issued(data["access_token"], lifetime)

    def _post(self, form: dict[str, str]) -> requests.Response:
        try:
            return self._session.post(
                self._config.token_url, data=form, timeout=self._config.timeout
            )
        except requests.RequestException as exc:
            raise transport_error("IMS token request", exc) from exc


def _ims_error(response: requests.Response) -> IMSAuthError:
    """IMS speaks RFC 6749 (`error`, `error_description`); the body never echoes the secret."""
    data = json_or_none(response)
    message, code, _ = describe_error_body(data)
    return IMSAuthError(
        message or f"IMS token request failed with HTTP {response.status_code}",
        response.status_code,
        response.headers.get("x-request-id"),
        code,
        data if isinstance(data, dict) else None,
    )
