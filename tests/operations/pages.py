"""The set-up the tests of the operations pages share."""

from __future__ import annotations

from unittest.mock import patch

from tests.base import BaseTestCase, make_sandbox
from tests.operations.factories import make_account, make_dataflow


class AccountPageTestCase(BaseTestCase):
    """An account with a prices dataflow; sam (Support) is logged in. `post` runs the on-commit
    callbacks and returns the response with the patched `delay_on_commit` of `task`."""

    def setUp(self) -> None:
        super().setUp()
        self.account = make_account(make_sandbox())
        self.flow = make_dataflow(self.account, "prices")
        self.login(self.sam)

    def post(self, url: str, data: dict, task: str = "execute_operation"):
        with (
            patch(f"operations.tasks.{task}.delay_on_commit") as delay,
            self.captureOnCommitCallbacks(execute=True),
        ):
            response = self.client.post(url, data)
        return response, delay
