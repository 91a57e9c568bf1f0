"""Requests that get no HTTP answer: timeouts become AEPTimeout, everything else
AEPConnectionError, for Platform calls and IMS token fetches alike.

The real-socket tests use a local server that holds its answer back (read timeouts) and a
listening socket whose accept queue is full (connect timeouts).
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
import responses
from urllib3.exceptions import MaxRetryError, NewConnectionError, ReadTimeoutError

from aep import AEPClient, AEPConnectionError, AEPTimeout, MemoryTokenCache
from aep.http import build_session, transport_error
from emulators.process import free_port
from tests.aep.fakes import FLOW, make_config

FLOW_ID = "84c64142-1741-4b0b-95a9-65644eba0cf6"
READ_TIMEOUT = 0.3


class _Held(BaseHTTPRequestHandler):
    """Answers at once, except under `/slow-headers/…` and `/slow-body/…`, which hold back
    until released; POST answers a token (IMS), GET a flow (Platform)."""

    release: threading.Event

    def do_POST(self) -> None:
        if self.path.startswith("/slow-headers"):
            self.release.wait(10)
        self._answer({"access_token": "t", "expires_in": 86399})

    def do_GET(self) -> None:
        if self.path.startswith("/slow-headers"):
            self.release.wait(10)
            self._answer({"id": FLOW_ID})
        elif self.path.startswith("/slow-body"):
            payload = json.dumps({"items": [{"id": FLOW_ID}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.flush()
            self.release.wait(10)
            self.wfile.write(payload)
        else:
            self._answer({"items": [{"id": FLOW_ID}]})

    def _answer(self, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def slow_server() -> Iterator[str]:
    release = threading.Event()
    handler = type("Handler", (_Held,), {"release": release})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def black_hole() -> Iterator[str]:
    """A loopback address that accepts no more connections: connects hang until they time out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(16):
            filler = socket.socket()
            filler.settimeout(0.2)
            fillers.append(filler)
            try:
                filler.connect(("127.0.0.1", port))
            except TimeoutError:
                break  # the accept queue is full
        else:
            pytest.skip("this kernel answers every loopback connect")
        yield f"http://127.0.0.1:{port}"
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def make_client(platform_url: str, ims_url: str) -> AEPClient:
    config = make_config(
        platform_url=platform_url, ims_url=ims_url, timeout=(READ_TIMEOUT, READ_TIMEOUT)
    )
    # No connect retries: each test waits for one timeout only.
    return AEPClient(config, token_cache=MemoryTokenCache(), session=build_session(0))


def get_flow_at(client: AEPClient, path: str) -> object:
    """GET a flow from `path` on the server (through the client's own HTTP layer)."""
    return client.http.call("GET", client.config.platform_url + path)


def test_the_server_fixture_answers_quickly_when_not_holding_back(slow_server):
    client = make_client(slow_server, slow_server)
    assert get_flow_at(client, "/flows") == {"items": [{"id": FLOW_ID}]}


def test_a_real_read_timeout_waiting_for_headers_raises_aep_timeout(slow_server):
    client = make_client(slow_server, slow_server)
    with pytest.raises(AEPTimeout) as excinfo:
        get_flow_at(client, "/slow-headers/flow")
    assert excinfo.value.retryable
    assert "timed out" in excinfo.value.message


def test_a_real_read_timeout_in_the_middle_of_the_body_raises_aep_timeout(slow_server):
    client = make_client(slow_server, slow_server)
    with pytest.raises(AEPTimeout):
        get_flow_at(client, "/slow-body/flows")


def test_a_read_timeout_after_connect_retries_is_still_a_timeout(slow_server):
    # The production session keeps its connect retries; urllib3 then reports the read timeout
    # inside MaxRetryError, which requests raises as a plain ConnectionError.
    config = make_config(platform_url=slow_server, ims_url=slow_server, timeout=(1, READ_TIMEOUT))
    client = AEPClient(config, token_cache=MemoryTokenCache())
    with pytest.raises(AEPTimeout):
        get_flow_at(client, "/slow-headers/flow")


def test_a_real_connect_timeout_raises_aep_timeout(slow_server, black_hole):
    client = make_client(black_hole, slow_server)
    with pytest.raises(AEPTimeout):
        client.flowservice.get_flow(FLOW_ID)


def test_a_refused_connection_is_a_connection_error_not_a_timeout(slow_server):
    client = make_client(f"http://127.0.0.1:{free_port()}", slow_server)
    with pytest.raises(AEPConnectionError) as excinfo:
        client.flowservice.get_flow(FLOW_ID)
    assert not isinstance(excinfo.value, AEPTimeout)
    assert excinfo.value.retryable


def test_an_ims_connect_timeout_raises_aep_timeout(slow_server, black_hole):
    client = make_client(slow_server, black_hole)
    with pytest.raises(AEPTimeout) as excinfo:
        client.flowservice.get_flow(FLOW_ID)
    assert excinfo.value.message.startswith("IMS token request timed out")


def test_an_ims_read_timeout_raises_aep_timeout(slow_server):
    client = make_client(slow_server, f"{slow_server}/slow-headers")
    with pytest.raises(AEPTimeout) as excinfo:
        client.flowservice.get_flow(FLOW_ID)
    assert excinfo.value.message.startswith("IMS token request timed out")


def test_a_refused_ims_is_a_connection_error_not_a_timeout(slow_server):
    client = make_client(slow_server, f"http://127.0.0.1:{free_port()}")
    with pytest.raises(AEPConnectionError) as excinfo:
        client.flowservice.get_flow(FLOW_ID)
    assert not isinstance(excinfo.value, AEPTimeout)
    assert excinfo.value.message.startswith("IMS token request failed")


# Every shape requests and urllib3 are known to raise ------------------------------------------

POOL = None  # urllib3 accepts a missing pool in these exceptions' constructors
READ_TIMED_OUT = ReadTimeoutError(POOL, "/flows", "Read timed out.")
REFUSED = NewConnectionError(POOL, "Failed to establish a new connection: [Errno 111] refused")

TIMEOUTS = {
    "ReadTimeout": requests.exceptions.ReadTimeout("slow"),
    "ConnectTimeout": requests.exceptions.ConnectTimeout("slow connect"),
    "ConnectionError(ReadTimeoutError)": requests.ConnectionError(READ_TIMED_OUT),
    "ConnectionError(MaxRetryError(ReadTimeoutError))": requests.ConnectionError(
        MaxRetryError(POOL, "/flows", READ_TIMED_OUT)
    ),
    "ConnectionError(socket timeout)": requests.ConnectionError(TimeoutError("timed out")),
}
NOT_TIMEOUTS = {
    "ConnectionError(MaxRetryError(NewConnectionError))": requests.ConnectionError(
        MaxRetryError(POOL, "/flows", REFUSED)
    ),
    "ConnectionError(reset)": requests.ConnectionError(ConnectionResetError(104, "reset")),
    "ConnectionError(refused)": requests.ConnectionError(ConnectionRefusedError(111, "refused")),
}


@pytest.mark.parametrize("exc", TIMEOUTS.values(), ids=TIMEOUTS.keys())
def test_every_timeout_shape_maps_to_aep_timeout(exc):
    error = transport_error("GET /flows", exc)
    assert type(error) is AEPTimeout
    assert error.message.startswith("GET /flows timed out")


@pytest.mark.parametrize("exc", NOT_TIMEOUTS.values(), ids=NOT_TIMEOUTS.keys())
def test_refused_and_reset_map_to_connection_errors(exc):
    error = transport_error("GET /flows", exc)
    assert type(error) is AEPConnectionError
    assert error.message.startswith("GET /flows failed")


@pytest.mark.parametrize("exc", TIMEOUTS.values(), ids=TIMEOUTS.keys())
def test_the_client_raises_aep_timeout_for_every_timeout_shape(client, mocked, exc):
    mocked.add(responses.GET, f"{FLOW}/flows/{FLOW_ID}", body=exc)
    with pytest.raises(AEPTimeout):
        client.flowservice.get_flow(FLOW_ID)
