"""AEP and Stripe faked at the HTTP layer (with `responses`), so the product's own clients run:
the IMS token exchange sends the real client secret, Stripe calls send the real keys.

Stripe's answers follow its real shapes, including its error messages, which show a key only
masked (prefix, stars, last four characters), as emulators.stripe does.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import responses
from django.conf import settings

from aep.payloads import STRIPE_CONNECTION_SPEC_ID
from emulators.stripe.accounts import redact as stripe_redact
from emulators.stripe.errors import invalid_key, missing_permission
from tests.monitoring.factories import run_doc
from tests.security.canaries import WEBHOOK_URL_TOKEN

AEP_URL = "http://aep.invalid"
# The receiver's token sits in the path, as in a Slack or Teams URL.
WEBHOOK_URL = f"https://hooks.example.invalid/stripe-sources/{WEBHOOK_URL_TOKEN}"
Reply = tuple[int, dict[str, str], str]


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Reply:
    return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(body)


class FakeStripe:
    """GET /v1/<resource>: restricted keys may not read `forbidden` paths; `refused` keys are
    rejected outright (rolled or revoked)."""

    forbidden = ("subscriptions", "balance_transactions")

    def __init__(self) -> None:
        self.refused: set[str] = set()
        self.keys_seen: list[str] = []

    def install(self, mock: responses.RequestsMock) -> None:
        base = re.escape(settings.STRIPE_API_BASE.rstrip("/"))
        mock.add_callback(responses.GET, re.compile(rf"{base}/v1/\w+.*"), callback=self.answer)

    def answer(self, request) -> Reply:
        key = (request.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
        self.keys_seen.append(key)
        resource = urlsplit(request.url).path.rsplit("/", 1)[-1]
        if key in self.refused:
            return _json(401, invalid_key(stripe_redact(key)).body())
        if key.startswith("rk_") and resource in self.forbidden:
            error = missing_permission(stripe_redact(key), "acct_1Leak", f"rak_{resource}_read")
            return _json(403, error.body())
        now = int(datetime.now(UTC).timestamp())
        objects = [
            {"id": f"{resource[:3]}_{i}", "object": resource.rstrip("s"), "created": now - i * 600}
            for i in range(3)
        ]
        return _json(200, {"object": "list", "data": objects, "has_more": False})


class FakeAEPHttp:
    """The few Platform and IMS endpoints the monitoring and operations tasks call.

    `failures` maps a (method, path regex) to the reply to send instead, once each.
    """

    def __init__(self, flows: dict[str, dict] | None = None) -> None:
        self.flows = flows or {}
        self.connections: dict[str, dict] = {}
        self.failures: list[tuple[str, re.Pattern[str], Reply]] = []
        self.requests: list[Any] = []

    def fail(self, method: str, path: str, status: int, body: dict) -> None:
        self.failures.append((method, re.compile(path), _json(status, body)))

    def install(self, mock: responses.RequestsMock) -> None:
        pattern = re.compile(rf"{re.escape(AEP_URL)}/.*")
        for method in (responses.GET, responses.POST, responses.PATCH, responses.DELETE):
            mock.add_callback(method, pattern, callback=self.answer)

    def answer(self, request) -> Reply:
        self.requests.append(request)
        path = urlsplit(request.url).path
        for index, (method, regex, reply) in enumerate(self.failures):
            if method == request.method and regex.search(path):
                del self.failures[index]
                return reply
        for method, regex, handler in self.routes():
            found = regex.fullmatch(path)
            if method == request.method and found:
                return handler(request, *found.groups())
        return _json(404, {"title": "Not found", "status": 404, "detail": path})

    def routes(self) -> list[tuple[str, re.Pattern[str], Callable[..., Reply]]]:
        fs = "/data/foundation/flowservice"
        return [
            ("POST", re.compile(r"/ims/token/v3"), self.token),
            ("GET", re.compile(rf"{fs}/connectionSpecs/([\w-]+)"), self.connection_spec),
            ("GET", re.compile(r"/data/foundation/schemaregistry/stats"), self.stats),
            ("GET", re.compile(rf"{fs}/runs"), self.runs),
            ("GET", re.compile(rf"{fs}/flows/([\w-]+)"), self.flow),
            ("GET", re.compile(rf"{fs}/connections/([\w-]+)"), self.get_connection),
            ("PATCH", re.compile(rf"{fs}/connections/([\w-]+)"), self.patch_connection),
        ]

    def token(self, request) -> Reply:
        return _json(200, {"access_token": f"tok-{uuid.uuid4().hex}", "expires_in": 86399})

    def connection_spec(self, request, spec_id: str) -> Reply:
        return _json(200, {"items": [{"id": STRIPE_CONNECTION_SPEC_ID, "name": "stripe"}]})

    def stats(self, request) -> Reply:
        return _json(200, {"imsOrg": "LEAK@AdobeOrg", "tenantId": "acme"})

    def runs(self, request) -> Reply:
        query = urlsplit(request.url).query
        flow_id = next((f for f in self.flows if f in query), None)
        if flow_id is None:
            return _json(200, {"items": [], "_links": {}})
        # Newer than the runs the world already stored: a sync asks only for those (`>=`).
        start = datetime.now(UTC) - timedelta(minutes=50)
        items = [
            run_doc(flow_id, created=start, run_id=f"{flow_id}-ok"),
            run_doc(
                flow_id,
                created=start + timedelta(minutes=30),
                status="failed",
                records=(10, 0, 10),
                errors=[{"code": "CONNECTOR-2001-500", "message": "Stripe answered 401"}],
                run_id=f"{flow_id}-failed",
            ),
        ]
        return _json(200, {"items": items, "_links": {}})

    def flow(self, request, flow_id: str) -> Reply:
        if flow_id not in self.flows:
            return _json(404, {"title": "Not found", "status": 404})
        return _json(200, {"items": [{"id": flow_id, "etag": '"flow-1"', **self.flows[flow_id]}]})

    def get_connection(self, request, connection_id: str) -> Reply:
        # What AEP holds is what the dashboard last wrote (tests.operations.factories).
        item = {
            "id": connection_id,
            "name": "Acme Stripe",
            "description": "Acme's live account",
            "etag": '"conn-1"',
        }
        return _json(200, {"items": [{**item, **self.connections.get(connection_id, {})}]})

    def patch_connection(self, request, connection_id: str) -> Reply:
        # AEP keeps the new key; only the etag comes back.
        self.connections[connection_id] = {"etag": '"conn-2"'}
        return _json(200, {"id": connection_id, "etag": '"conn-2"'})
