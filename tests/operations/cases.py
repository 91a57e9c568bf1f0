"""Base classes that several operations test files share, apart from the pages (pages.py)."""

from __future__ import annotations

import uuid

import pytest
import responses
from django.test import override_settings

from tests.base import BaseTestCase, make_sandbox
from tests.emulator_world import AEPWorld
from tests.operations.factories import TOKEN_URL, make_account, make_dataflow


class FakeAEPTestCase(BaseTestCase):
    """A sandbox, account and dataflow, with AEP answered by `responses` (IMS token given)."""

    def setUp(self) -> None:
        super().setUp()
        # A client id of its own keeps this test's token out of the shared Redis cache.
        self.sandbox = make_sandbox(client_id=f"client-{uuid.uuid4().hex}")
        self.account = make_account(self.sandbox)
        self.flow = make_dataflow(self.account)
        responses.start()
        responses.post(TOKEN_URL, json={"access_token": "t", "expires_in": 86399})

    def tearDown(self) -> None:
        responses.stop()
        responses.reset()
        super().tearDown()


@pytest.mark.integration
class EmulatorOpsTestCase(BaseTestCase):
    """An account in the real AEP emulator, whose Stripe is the stand-in."""

    @pytest.fixture(autouse=True)
    def _emulator(self, aep_emulator, stripe_stand_in):
        self.emulator_url = aep_emulator.url
        with override_settings(STRIPE_API_BASE=stripe_stand_in.url):
            yield

    def setUp(self) -> None:
        super().setUp()
        self.world = AEPWorld(self.emulator_url)
        self.account = self.world.account()
