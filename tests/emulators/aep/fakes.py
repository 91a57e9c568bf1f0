"""A small Stripe-shaped server for the flow runner's tests, and one run of the runner over it.

`FakeStripe` serves `GET /v1/<resource>` lists of `charge(n)` objects with Stripe's paging,
`created` filter and errors, and records each request; `serve(fake)` runs it on a free port
(the `fake_stripe` fixture). `run(fake, **overrides)` executes one run over it with a
charges mapping (`MAPPINGS`) into `SCHEMA`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from emulators.aep.runner import RunOutcome, execute_run
from emulators.process import free_port

KEY = "sk_test_runner_0001"
WINDOW_START, WINDOW_END = 1_700_000_000, 1_700_100_000


def charge(number: int, **overrides) -> dict:
    obj = {
        "id": f"ch_{number:04d}",
        "object": "charge",
        "amount": 100 + number,
        "currency": "usd",
        "created": WINDOW_START + number * 60,
        "status": "succeeded",
        "metadata": {},
    }
    return {**obj, **overrides}


@dataclass
class FakeStripe:
    """Serves ``GET /v1/<resource>`` lists with Stripe's paging, ``created`` filter and errors."""

    objects: list[dict] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)
    # (status, body) to answer instead of the list, from request number ``fail_from`` on.
    failure: tuple[int, object] | None = None
    fail_from: int = 0
    delay: float = 0.0
    url: str = ""

    def page(self, query: dict[str, str]) -> dict:
        newest_first = sorted(self.objects, key=lambda o: (-o["created"], o["id"]))
        matching = [
            o
            for o in newest_first
            if o["created"] >= int(query.get("created[gte]", -(2**62)))
            and o["created"] < int(query.get("created[lt]", 2**62))
        ]
        if "starting_after" in query:
            ids = [o["id"] for o in matching]
            matching = matching[ids.index(query["starting_after"]) + 1 :]
        limit = int(query.get("limit", 10))
        return {
            "object": "list",
            "data": matching[:limit],
            "has_more": len(matching) > limit,
            "url": "/v1/charges",
        }


def _handler(fake: FakeStripe) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            fake.requests.append(
                {"path": parts.path, "query": query, "auth": self.headers.get("Authorization")}
            )
            if fake.delay:
                time.sleep(fake.delay)
            if fake.failure and len(fake.requests) > fake.fail_from:
                status, body = fake.failure
                self._send(status, body if isinstance(body, str) else json.dumps(body))
            else:
                self._send(200, json.dumps(fake.page(query)))

        def _send(self, status: int, text: str) -> None:
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:
            pass

    return Handler


@contextmanager
def serve(fake: FakeStripe) -> Iterator[FakeStripe]:
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _handler(fake))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


MAPPINGS = [
    {
        "sourceType": "ATTRIBUTE",
        "source": f"data.{name}",
        "destination": f"_acme.charges_data.{name}",
    }
    for name in ("id", "amount", "currency", "created")
]
SCHEMA = {
    "type": "object",
    "properties": {
        "_id": {"type": "string"},
        "_acme": {
            "type": "object",
            "properties": {
                "charges_data": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string"},
                        "amount": {"type": "integer"},
                        "currency": {"type": "string"},
                        "created": {"type": "integer"},
                        "captured_at": {"type": "string", "format": "date-time"},
                    },
                }
            },
        },
    },
}


def run(fake: FakeStripe, **overrides) -> RunOutcome:
    arguments = {
        "stripe_api_base": fake.url,
        "access_token": KEY,
        "resource_path": "charges",
        "window_start": WINDOW_START,
        "window_end": WINDOW_END,
        "mappings": MAPPINGS,
        "target_schema": SCHEMA,
        "timeout": 5,
    }
    return execute_run(**{**arguments, **overrides})
