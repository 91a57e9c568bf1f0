from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses

from aep import AEPClient, AEPConfig, MemoryTokenCache
from tests.aep.fakes import add_token, make_config


@pytest.fixture
def config() -> AEPConfig:
    return make_config()


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def client(config: AEPConfig, mocked: responses.RequestsMock) -> AEPClient:
    """A client with its own token cache and an IMS that always hands out the test token."""
    add_token(mocked)
    return AEPClient(config, token_cache=MemoryTokenCache())
