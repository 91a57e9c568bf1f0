"""The set-up the tests of the wizard's pages share."""

from __future__ import annotations

from unittest.mock import patch

from tests.base import BaseTestCase, make_sandbox

TYPED_KEY = "rk_test_demo_readonly_0001"  # the key typed into the form


class AccountStepTestCase(BaseTestCase):
    """Step 1 on a lone sandbox; `post_new` posts the form for a new draft with a new key,
    with the probe task patched, and returns the response and the patched `delay_on_commit`."""

    def setUp(self) -> None:
        super().setUp()
        self.sandbox = make_sandbox()
        self.url = "/wizard/new/"

    def post_new(self, **overrides):
        data = {
            "sandbox": self.sandbox.pk,
            "account_mode": "new",
            "account_name": "Acme EU",
            "account_description": "",
            "access_token": TYPED_KEY,
            **overrides,
        }
        with (
            patch("onboarding.tasks.probe_stripe_key.delay_on_commit") as delay,
            self.captureOnCommitCallbacks(execute=True),
        ):
            response = self.client.post(self.url, data)
        return response, delay
