from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from urllib.parse import parse_qs

import pytest
import redis
import requests
import responses

from aep import (
    AEPClient,
    AEPConnectionError,
    AEPTimeout,
    IMSAuthError,
    MemoryTokenCache,
    RedisTokenCache,
)
from aep.ims import AccessToken, cache_key
from tests.aep.fakes import FLOW, SECRET, TOKEN, TOKEN_URL, add_token, make_config


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr("aep.ims.time.time", fake)
    return fake


def token_fetches(rsps: responses.RequestsMock) -> int:
    return sum(1 for call in rsps.calls if call.request.url == TOKEN_URL)


def add_connections(rsps: responses.RequestsMock) -> None:
    rsps.add(responses.GET, f"{FLOW}/connections", json={"items": []})


def list_connections(client: AEPClient) -> None:
    list(client.flowservice.list_connections())


def test_it_posts_form_encoded_client_credentials(mocked, config):
    add_token(mocked)
    add_connections(mocked)
    list_connections(AEPClient(config, token_cache=MemoryTokenCache()))

    request = mocked.calls[0].request
    assert request.url == TOKEN_URL
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(request.body) == {
        "grant_type": ["client_credentials"],
        "client_id": ["client-123"],
        "client_secret": [SECRET],
        "scope": ["openid,AdobeID,read_organizations"],
    }
    assert mocked.calls[1].request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_it_reuses_a_cached_token(mocked, config):
    add_token(mocked)
    add_connections(mocked)
    client = AEPClient(config, token_cache=MemoryTokenCache())
    list_connections(client)
    list_connections(client)
    assert token_fetches(mocked) == 1


def test_it_refreshes_five_minutes_before_expiry(mocked, config, clock):
    add_token(mocked, expires_in=3600)
    add_connections(mocked)
    client = AEPClient(config, token_cache=MemoryTokenCache())
    list_connections(client)

    clock.now += 3600 - 300 - 1
    list_connections(client)
    assert token_fetches(mocked) == 1

    clock.now += 2
    list_connections(client)
    assert token_fetches(mocked) == 2


def test_short_lived_tokens_keep_ninety_percent_of_their_lifetime(clock):
    token = AccessToken.issued("t", lifetime=60)
    assert token.refresh_at == pytest.approx(clock.now + 54)
    assert token.expires_at == pytest.approx(clock.now + 60)


def test_a_millisecond_expires_in_is_read_as_milliseconds(mocked, config, clock):
    add_token(mocked, expires_in=86_399_992)
    add_connections(mocked)
    client = AEPClient(config, token_cache=MemoryTokenCache())
    list_connections(client)
    clock.now += 86_400 - 300 + 1
    list_connections(client)
    assert token_fetches(mocked) == 2


def test_the_default_cache_is_shared_by_clients_of_the_same_credential(mocked):
    config = make_config(client_id=f"shared-{uuid.uuid4().hex}")
    add_token(mocked)
    add_connections(mocked)
    list_connections(AEPClient(config))
    list_connections(AEPClient(config))
    assert token_fetches(mocked) == 1


def test_cache_keys_differ_per_credential_and_hide_the_secret():
    base = make_config()
    assert cache_key(base) != cache_key(make_config(client_id="other"))
    assert cache_key(base) != cache_key(make_config(scope="openid"))
    assert cache_key(base) != cache_key(make_config(ims_url="https://ims-stage.test"))
    assert SECRET not in cache_key(base)


def test_bad_credentials_raise_a_permanent_ims_error(mocked, config):
    mocked.add(
        responses.POST,
        TOKEN_URL,
        status=401,
        json={"error": "invalid_client", "error_description": "invalid client_secret parameter"},
    )
    with pytest.raises(IMSAuthError) as excinfo:
        list_connections(AEPClient(config, token_cache=MemoryTokenCache()))
    assert excinfo.value.code == "invalid_client"
    assert excinfo.value.status_code == 401
    assert excinfo.value.message == "invalid client_secret parameter"
    assert excinfo.value.retryable is False


def test_an_ims_outage_is_retryable(mocked, config):
    mocked.add(responses.POST, TOKEN_URL, status=503, body="upstream unavailable")
    with pytest.raises(IMSAuthError) as excinfo:
        list_connections(AEPClient(config, token_cache=MemoryTokenCache()))
    assert excinfo.value.retryable is True


def test_an_answer_without_a_token_is_an_ims_error(mocked, config):
    mocked.add(responses.POST, TOKEN_URL, json={"token_type": "bearer"})
    with pytest.raises(IMSAuthError):
        list_connections(AEPClient(config, token_cache=MemoryTokenCache()))


def test_an_unreachable_ims_is_a_connection_error(mocked, config):
    mocked.add(responses.POST, TOKEN_URL, body=requests.ConnectionError("refused"))
    with pytest.raises(AEPConnectionError):
        list_connections(AEPClient(config, token_cache=MemoryTokenCache()))


def test_neither_secret_nor_token_is_logged(mocked, config, caplog):
    caplog.set_level(logging.DEBUG)
    add_token(mocked)
    mocked.add(
        responses.GET,
        f"{FLOW}/connections",
        status=401,
        json={"error_code": "401013", "message": "Oauth token is not valid"},
    )
    add_connections(mocked)
    list_connections(AEPClient(config, token_cache=MemoryTokenCache()))
    assert caplog.records, "expected the client to log something"
    assert SECRET not in caplog.text
    assert TOKEN not in caplog.text


def test_reprs_hide_the_secret_and_the_token(config):
    assert SECRET not in repr(config)
    assert TOKEN not in repr(AccessToken.issued(TOKEN, 3600))


# Shared Redis cache ------------------------------------------------------------------------


@pytest.fixture
def redis_client() -> redis.Redis:
    return redis.Redis(host="127.0.0.1", port=6379)


@pytest.fixture
def prefix(redis_client: redis.Redis) -> Iterator[str]:
    value = f"test:aep:{uuid.uuid4().hex}:"
    yield value
    keys = list(redis_client.scan_iter(f"{value}*"))
    if keys:
        redis_client.delete(*keys)


def slow_ims(rsps: responses.RequestsMock, delay: float = 0.3) -> list[int]:
    """IMS that takes `delay` seconds and hands out token-1, token-2, …"""
    served: list[int] = []
    lock = threading.Lock()

    def answer(request):
        time.sleep(delay)
        with lock:
            served.append(len(served) + 1)
            number = len(served)
        return 200, {}, json.dumps({"access_token": f"token-{number}", "expires_in": 86399})

    rsps.add_callback(responses.POST, TOKEN_URL, callback=answer)
    return served


@pytest.mark.integration
def test_two_clients_share_one_token_through_redis(mocked, config, redis_client, prefix):
    served = slow_ims(mocked, delay=0)
    add_connections(mocked)
    first = AEPClient(config, token_cache=RedisTokenCache(redis_client, prefix))
    second = AEPClient(config, token_cache=RedisTokenCache(redis.Redis(), prefix))
    list_connections(first)
    list_connections(second)

    assert served == [1]
    assert mocked.calls[-1].request.headers["Authorization"] == "Bearer token-1"
    ttl_ms = redis_client.pttl(f"{prefix}token:{cache_key(config)}")
    assert (86399 - 300 - 5) * 1000 < ttl_ms <= (86399 - 300) * 1000


@pytest.mark.integration
def test_eight_threads_asking_at_once_cause_exactly_one_fetch(mocked, config, prefix):
    served = slow_ims(mocked)
    clients = [
        AEPClient(config, token_cache=RedisTokenCache(redis.Redis(), prefix)) for _ in range(8)
    ]
    barrier = threading.Barrier(len(clients))
    tokens: list[str] = []

    def ask(client: AEPClient) -> None:
        barrier.wait()
        tokens.append(client.tokens.token())

    threads = [threading.Thread(target=ask, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert served == [1]
    assert tokens == ["token-1"] * 8


@pytest.mark.integration
def test_a_rejected_token_is_dropped_for_every_sharer(mocked, config, redis_client, prefix):
    served = slow_ims(mocked, delay=0)
    first = AEPClient(config, token_cache=RedisTokenCache(redis_client, prefix))
    second = AEPClient(config, token_cache=RedisTokenCache(redis_client, prefix))
    assert first.tokens.token() == "token-1"

    first.tokens.invalidate("token-1")
    assert second.tokens.token() == "token-2"
    # A late invalidation of the old token must not drop the new one.
    first.tokens.invalidate("token-1")
    assert first.tokens.token() == "token-2"
    assert served == [1, 2]


@pytest.mark.integration
def test_waiters_read_the_token_the_lock_holder_stores(config, redis_client, prefix):
    cache = RedisTokenCache(redis_client, prefix)
    key = cache_key(config)
    redis_client.set(f"{prefix}lock:{key}", "someone-else", px=5000)

    def holder_finishes() -> None:
        time.sleep(0.2)
        token = AccessToken.issued("from-holder", 3600)
        redis_client.set(f"{prefix}token:{key}", token.to_json(), px=60_000)

    threading.Thread(target=holder_finishes).start()
    fetched: list[int] = []
    token = cache.get_or_fetch(key, lambda: fetched.append(1) or AccessToken.issued("mine", 3600))
    assert token.value == "from-holder"
    assert fetched == []


@pytest.mark.integration
def test_waiters_give_up_when_the_lock_holder_never_answers(config, redis_client, prefix):
    cache = RedisTokenCache(redis_client, prefix, wait_seconds=0.3)
    key = cache_key(config)
    redis_client.set(f"{prefix}lock:{key}", "stuck", px=60_000)
    with pytest.raises(AEPTimeout):
        cache.get_or_fetch(key, lambda: AccessToken.issued("never", 3600))


@pytest.mark.integration
def test_a_failed_fetch_releases_the_lock(config, redis_client, prefix):
    cache = RedisTokenCache(redis_client, prefix)
    key = cache_key(config)

    def failing() -> AccessToken:
        raise IMSAuthError("nope", 401)

    with pytest.raises(IMSAuthError):
        cache.get_or_fetch(key, failing)
    assert redis_client.get(f"{prefix}lock:{key}") is None
    assert cache.get_or_fetch(key, lambda: AccessToken.issued("second", 60)).value == "second"


def test_one_credentials_slow_fetch_does_not_block_another():
    cache = MemoryTokenCache()
    release = threading.Event()
    started = threading.Event()

    def slow() -> AccessToken:
        started.set()
        release.wait(5)
        return AccessToken.issued("slow", 3600)

    worker = threading.Thread(target=cache.get_or_fetch, args=("slow-key", slow))
    worker.start()
    started.wait(5)
    try:
        assert (
            cache.get_or_fetch("fast-key", lambda: AccessToken.issued("fast", 3600)).value == "fast"
        )
    finally:
        release.set()
        worker.join(5)
    assert cache.get_or_fetch("slow-key", lambda: AccessToken.issued("again", 3600)).value == "slow"
