"""In-process stand-ins for the monitoring tests.

`FakeFlowService` / `FakeClient`: FlowServiceClient's run and flow listing in memory, recording
each request.

`fake_dns`: DNS for webhook tests, where chosen names resolve to chosen addresses. Names not in
the table (IP literals, localhost) go to the real resolver, so a local HTTP server is still
reachable; a name mapped to no address does not resolve. The table may be changed while the
patch is active, as DNS changes between saving a rule and sending to it.

`Receiver`: a webhook endpoint on 127.0.0.1 that answers queued statuses and records what it got.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from unittest.mock import _patch, patch

from aep import errors
from aep.types import Connection, Flow, Run, SourceConnection, TargetConnection


@dataclass
class FakeFlowService:
    """Runs are AEP-shaped dicts. `fail_with` raises on the next calls (one per call)."""

    runs: list[dict[str, Any]] = field(default_factory=list)
    flows: list[dict[str, Any]] = field(default_factory=list)
    sources: list[dict[str, Any]] = field(default_factory=list)
    targets: list[dict[str, Any]] = field(default_factory=list)
    connections: list[dict[str, Any]] = field(default_factory=list)
    page_size: int = 100
    calls: list[dict[str, Any]] = field(default_factory=list)
    fail_with: list[Exception] = field(default_factory=list)
    # Raise after this many pages of one listing (a fault in the middle of paging).
    fail_after_pages: int | None = None
    # Seconds each page takes to arrive (a slow AEP, for the races).
    page_delay: float = 0.0

    def _request(self, **call: Any) -> None:
        self.calls.append(call)
        if self.fail_with:
            raise self.fail_with.pop(0)

    def list_runs(
        self,
        flow_id: str | Sequence[str] | None = None,
        *,
        properties: Sequence[str] = (),
        orderby: str | None = None,
        limit: int | None = None,
    ) -> Iterator[Run]:
        ids = [flow_id] if isinstance(flow_id, str) else list(flow_id or ())
        flow_id = ",".join(ids) or None  # recorded as the filter's value
        items = [r for r in self.runs if not ids or r["flowId"] in ids]
        for prop in properties:
            items = [r for r in items if _matches(r, prop)]
        items.sort(key=lambda r: (r["createdAt"], r["id"]), reverse=orderby == "-createdAt")
        size = limit or self.page_size
        pages = [items[i : i + size] for i in range(0, len(items), size)] or [[]]
        for number, page in enumerate(pages):
            if self.fail_after_pages is not None and number >= self.fail_after_pages:
                self.fail_after_pages = None
                raise errors.ServerError("injected", 500)
            time.sleep(self.page_delay)
            self._request(path="/runs", flow_id=flow_id, properties=list(properties), page=number)
            yield from (Run.from_api(r) for r in page)

    def list_flows(self, *, properties: Sequence[str] = (), **_: Any) -> Iterator[Flow]:
        self._request(path="/flows", properties=list(properties))
        yield from (Flow.from_api(f) for f in self.flows)

    def list_source_connections(self, *, properties: Sequence[str] = (), **_: Any):
        self._request(path="/sourceConnections", properties=list(properties))
        yield from (SourceConnection.from_api(s) for s in self.sources)

    def list_target_connections(self, *, properties: Sequence[str] = (), **_: Any):
        self._request(path="/targetConnections", properties=list(properties))
        yield from (TargetConnection.from_api(t) for t in self.targets)

    def list_connections(self, *, properties: Sequence[str] = (), **_: Any):
        self._request(path="/connections", properties=list(properties))
        yield from (Connection.from_api(c) for c in self.connections)

    def get_flow(self, flow_id: str) -> Flow:
        self._request(path=f"/flows/{flow_id}")
        for flow in self.flows:
            if flow["id"] == flow_id:
                return Flow.from_api(flow)
        raise errors.NotFoundError("The requested flows resource is not found.", 404)


def _matches(run: dict[str, Any], prop: str) -> bool:
    for op in (">=", "=="):
        if op in prop:
            name, value = prop.split(op, 1)
            break
    else:
        raise AssertionError(f"unexpected filter {prop}")
    if name == "createdAt":
        return run["createdAt"] >= int(value)
    if name == "id":
        return run["id"] in value.split(",")
    raise AssertionError(f"unexpected filter {prop}")


class FakeClient:
    def __init__(self, flowservice: FakeFlowService) -> None:
        self.flowservice = flowservice


# -- DNS -------------------------------------------------------------------------------------------

REAL_GETADDRINFO = socket.getaddrinfo
# What example.com resolved to when these tests were written: any public address will do.
PUBLIC_ADDRESS = "93.184.215.14"


def fake_dns(answers: dict[str, list[str]]) -> _patch:
    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> list[tuple]:
        if host not in answers:
            return REAL_GETADDRINFO(host, port, *args, **kwargs)
        if not answers[host]:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [_info(address, port) for address in answers[host]]

    return patch("monitoring.webhook_targets.socket.getaddrinfo", side_effect=getaddrinfo)


def _info(address: str, port: int) -> tuple:
    if ":" in address:
        return (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))
    return (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))


class Receiver:
    """A local webhook endpoint answering the queued statuses, then 200.

    It counts connections as well as requests: a refused delivery must not even connect.
    """

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.requests: list[tuple[dict, bytes]] = []
        self.paths: list[str] = []
        self.connections = 0
        self.statuses = list(statuses or [])
        self.location = ""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.answer(self.rfile.read(int(self.headers["Content-Length"])))

            def do_GET(self):
                self.answer(b"")

            def answer(self, body: bytes) -> None:
                receiver.requests.append((dict(self.headers), body))
                receiver.paths.append(f"{self.command} {self.path}")
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", receiver.location)
                self.end_headers()

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            def process_request(self, request, client_address):
                receiver.connections += 1  # before a byte is read: a TLS hello counts too
                super().process_request(request, client_address)

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class EndlessReceiver:
    """A webhook endpoint that answers 200 and then sends body bytes until the client leaves:
    `chunk` bytes every `pause` seconds (a flood, or a trickle)."""

    def __init__(self, chunk: int, pause: float) -> None:
        self.sent = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                self.send_response(200)
                self.end_headers()
                try:
                    while True:
                        self.wfile.write(b"x" * chunk)
                        self.wfile.flush()
                        receiver.sent += chunk
                        time.sleep(pause)
                except OSError:
                    pass  # the client stopped reading

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
