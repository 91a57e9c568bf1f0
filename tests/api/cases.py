"""Base classes of the API tests: one token per role, and calls with it."""

from __future__ import annotations

import json

from django.test import override_settings

from api.tokens import issue
from tests.base import BaseTestCase


# Far above what a test sends; test_problems checks the limit with a low one.
@override_settings(API_RATE_PER_MINUTE=100_000)
class ApiTestCase(BaseTestCase):
    """mina, alex, sam and nora as in BaseTestCase, each with a token named "ci"."""

    def setUp(self) -> None:
        super().setUp()
        self.tokens = {
            user.username: issue(user, "ci")[1]
            for user in (self.mina, self.alex, self.sam, self.nora)
        }

    def api(self, user, method: str, path: str, body=None, token: str | None = None, **headers):
        raw = token if token is not None else self.tokens[user.username]
        call = getattr(self.client, method.lower())
        extra = {"HTTP_AUTHORIZATION": f"Bearer {raw}"} if raw else {}
        extra.update({f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()})
        if body is not None:
            return call(
                f"/api/v1/{path}", json.dumps(body), content_type="application/json", **extra
            )
        return call(f"/api/v1/{path}", **extra)
