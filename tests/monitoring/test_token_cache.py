"""IMS tokens shared through Redis are encrypted with the field key (#12)."""

from __future__ import annotations

import uuid

import pytest
from cryptography.fernet import Fernet
from django.test import override_settings

from aep.ims import AccessToken
from monitoring.clients import redis_client, shared_token_cache

pytestmark = pytest.mark.integration  # a real Redis

TOKEN = "eyJhbGciOiJSUzI1NiJ9.IMSTOKENCANARYpayload0123.signature0123456789"


@pytest.fixture
def key():
    name = f"test-{uuid.uuid4().hex}"
    yield name
    redis_client().delete(f"aep-tokentoken:{name}", f"aep-tokenlock:{name}")


def stored(key: str) -> bytes:
    keys = redis_client().keys(f"aep-token*{key}")
    values = [redis_client().get(k) for k in keys if b"lock" not in k]
    assert len(values) == 1, keys
    return values[0]


def test_the_token_in_redis_is_encrypted_and_reads_back(key):
    fetches = []

    def fetch() -> AccessToken:
        fetches.append(1)
        return AccessToken.issued(TOKEN, 3600)

    assert shared_token_cache().get_or_fetch(key, fetch).value == TOKEN
    raw = stored(key)
    assert b"IMSTOKENCANARY" not in raw and raw.startswith(b"gAAAAA")
    assert shared_token_cache().get_or_fetch(key, fetch).value == TOKEN
    assert len(fetches) == 1


def test_a_token_sealed_with_another_key_is_fetched_anew(key):
    shared_token_cache().get_or_fetch(key, lambda: AccessToken.issued(TOKEN, 3600))
    with override_settings(FIELD_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]):
        token = shared_token_cache().get_or_fetch(
            key, lambda: AccessToken.issued(TOKEN + "new", 3600)
        )
    assert token.value == TOKEN + "new"
