"""Fixtures for the emulator tests. Each emulator keeps its fixtures in its own section."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import requests

# ---- Stripe stand-in ---------------------------------------------------------------------------

STRIPE_SEED_CHARGES = 250


@pytest.fixture(scope="session")
def stripe_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """A stand-in seeded with 250 charges (and related objects). Tests must not change it."""
    from emulators.stripe.testing import start_stripe_stand_in

    server = start_stripe_stand_in(
        tmp_path_factory.mktemp("stripe_server"), charges=STRIPE_SEED_CHARGES
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def stripe_scratch_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """A small stand-in that tests in one module may change (keys, objects, limits)."""
    from emulators.stripe.testing import start_stripe_stand_in

    server = start_stripe_stand_in(tmp_path_factory.mktemp("stripe_scratch"), charges=40)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def stripe_limited_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """A stand-in started with ``--rate-limit 3`` (three requests per second per key)."""
    from emulators.stripe.testing import start_stripe_stand_in

    server = start_stripe_stand_in(
        tmp_path_factory.mktemp("stripe_limited"), charges=10, rate_limit=3
    )
    yield server
    server.stop()


StripeGet = Callable[..., requests.Response]


@pytest.fixture(scope="session")
def stripe_get(stripe_server) -> StripeGet:
    """``stripe_get("/v1/charges", {"created[gte]": 1})``: GET on the seeded stand-in.

    Uses the demo secret key unless ``key`` says otherwise (``key=None`` sends no key).
    """
    session = requests.Session()

    def get(
        path: str, params: dict | None = None, key: str | None = stripe_server.secret_key
    ) -> requests.Response:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return session.get(stripe_server.url + path, params=params, headers=headers, timeout=30)

    return get


@pytest.fixture(scope="session")
def stripe_list_all(stripe_get: StripeGet) -> Callable[..., list[dict]]:
    """Every object of a resource, newest first, paged with ``starting_after``."""

    def list_all(resource: str, params: dict | None = None, page_size: int = 100) -> list[dict]:
        items: list[dict] = []
        while True:
            query = {**(params or {}), "limit": page_size}
            if items:
                query["starting_after"] = items[-1]["id"]
            response = stripe_get(f"/v1/{resource}", query)
            assert response.status_code == 200, response.text
            page = response.json()
            items += page["data"]
            if not page["has_more"]:
                return items

    return list_all


# ---- AEP emulator ------------------------------------------------------------------------------

# A 15-minute schedule interval lasts one real second.
AEP_TIME_SCALE = 900


@pytest.fixture(scope="module")
def aep_server(tmp_path_factory: pytest.TempPathFactory, stripe_server) -> Iterator:
    """An AEP emulator per test module, reading Stripe from the shared (read-only) stand-in."""
    from emulators.aep.testing import start_aep_emulator

    server = start_aep_emulator(
        tmp_path_factory.mktemp("aep_server"), stripe_server.url, time_scale=AEP_TIME_SCALE
    )
    yield server
    server.stop()


@pytest.fixture
def aep(aep_server) -> Iterator:
    """A demo-org, prod-sandbox platform session on a freshly reset emulator."""
    from emulators.aep.testing import PlatformSession

    requests.post(f"{aep_server.url}/__emulator__/reset", timeout=10).raise_for_status()
    with PlatformSession(aep_server.url) as session:
        yield session


@pytest.fixture
def fake_stripe() -> Iterator:
    """A small Stripe-shaped server for the flow runner's tests (aep/fakes.py), empty at first."""
    from tests.emulators.aep.fakes import FakeStripe, serve

    with serve(FakeStripe()) as fake:
        yield fake
