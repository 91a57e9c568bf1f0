from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses

from tests.contract.fakes import install


@pytest.fixture
def platform() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        install(rsps)
        yield rsps
