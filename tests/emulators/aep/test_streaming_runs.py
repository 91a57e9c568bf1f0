"""Runs stream page by page into a staging area and only a run that does not fail is promoted to
the dataset: a Stripe 500 on page 3 leaves the dataset as it was, with nothing left staged."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from emulators.aep.testing import (
    DEMO_TENANT_ID,
    PlatformSession,
    StripePipeline,
    build_stripe_pipeline,
    create_flow,
    dataset_records,
    expect,
    start_aep_emulator,
)

pytestmark = pytest.mark.integration

DAY = 86_400


@dataclass
class FlakyStripe:
    """Passes requests on to the seeded stand-in, except that list request number ``fail_on``
    (1-based, counted from the last ``arm``) is answered with a Stripe 500."""

    upstream: str
    url: str = ""
    fail_on: int | None = None
    list_requests: list[str] = field(default_factory=list)

    def arm(self, fail_on: int | None) -> None:
        self.fail_on = fail_on
        self.list_requests.clear()


def _proxy_handler(flaky: FlakyStripe) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            flaky.list_requests.append(self.path)
            if flaky.fail_on == len(flaky.list_requests):
                error = {"error": {"type": "api_error", "message": "Something went wrong."}}
                self._send(500, json.dumps(error).encode())
                return
            upstream = requests.get(
                flaky.upstream + self.path,
                headers={"Authorization": self.headers.get("Authorization", "")},
                timeout=30,
            )
            self._send(upstream.status_code, upstream.content)

        def _send(self, status: int, data: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:
            pass

    return Handler


@pytest.fixture(scope="module")
def flaky_stripe(stripe_server) -> Iterator[FlakyStripe]:
    flaky = FlakyStripe(stripe_server.url)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _proxy_handler(flaky))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    flaky.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield flaky
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def aep_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("aep_streaming")


@pytest.fixture(scope="module")
def aep_streaming(aep_dir, flaky_stripe) -> Iterator:
    server = start_aep_emulator(aep_dir, flaky_stripe.url)
    yield server
    server.stop()


@pytest.fixture
def pipeline(aep_streaming, flaky_stripe, stripe_server) -> Iterator[StripePipeline]:
    flaky_stripe.arm(None)
    requests.post(f"{aep_streaming.url}/__emulator__/reset", timeout=10).raise_for_status()
    with PlatformSession(aep_streaming.url) as session:
        yield build_stripe_pipeline(session, stripe_server.secret_key)


def _flow(aep_url: str, pipeline: StripePipeline, start: float) -> str:
    """A daily flow that only run-now starts: its first window is a backfill up to ``start``."""
    with PlatformSession(aep_url) as session:
        schedule = {"startTime": str(int(start)), "frequency": "day", "interval": 1}
        return create_flow(session, pipeline, schedule, name="Streaming run")


def _run_now(aep_url: str, flow_id: str) -> dict:
    return expect(requests.post(f"{aep_url}/__emulator__/flows/{flow_id}/run-now", timeout=60), 201)


def _staged_rows(aep_dir: Path) -> int:
    with sqlite3.connect(aep_dir / "aep-emulator.sqlite3") as conn:
        return conn.execute("SELECT COUNT(*) FROM staged_records").fetchone()[0]


def _charge_ids(records: list[dict]) -> list[str]:
    return [r["record"][f"_{DEMO_TENANT_ID}"]["charges_data"]["id"] for r in records]


def test_a_run_over_several_pages_ingests_every_charge_in_stripe_order(
    aep_streaming, aep_dir, flaky_stripe, stripe_list_all, pipeline
):
    flow_id = _flow(aep_streaming.url, pipeline, time.time() + DAY)

    run = _run_now(aep_streaming.url, flow_id)

    charges = stripe_list_all("charges")
    assert len(flaky_stripe.list_requests) == -(-len(charges) // 100) >= 3
    assert run["metrics"]["statusSummary"]["status"] == "success"
    assert run["metrics"]["recordSummary"] == {
        "inputRecordCount": len(charges),
        "outputRecordCount": len(charges),
        "failedRecordCount": 0,
    }
    records = dataset_records(aep_streaming.url, pipeline.dataset_id)
    assert _charge_ids(records) == [c["id"] for c in charges]
    assert {r["runId"] for r in records} == {run["id"]}
    assert _staged_rows(aep_dir) == 0


def test_a_stripe_500_on_page_3_leaves_only_earlier_runs_in_the_dataset(
    aep_streaming, aep_dir, flaky_stripe, pipeline
):
    # First a backfill that succeeds, then one of a second flow into the same dataset whose
    # third Stripe page fails.
    first = _run_now(aep_streaming.url, _flow(aep_streaming.url, pipeline, time.time() + DAY))
    assert first["metrics"]["statusSummary"]["status"] == "success"
    kept = dataset_records(aep_streaming.url, pipeline.dataset_id)
    assert len(kept) == first["metrics"]["recordSummary"]["outputRecordCount"] > 200

    second_flow = _flow(aep_streaming.url, pipeline, time.time() + DAY)
    flaky_stripe.arm(fail_on=3)
    failed = _run_now(aep_streaming.url, second_flow)

    assert len(flaky_stripe.list_requests) == 3
    status = failed["metrics"]["statusSummary"]
    assert status["status"] == "failed"
    assert status["errors"] == [
        {
            "code": "CONNECTOR-2001-500",
            "message": "Stripe failed with HTTP 500: Something went wrong.",
        }
    ]
    assert failed["metrics"]["recordSummary"] == {
        "inputRecordCount": 0,
        "outputRecordCount": 0,
        "failedRecordCount": 0,
    }
    assert [a["id"] for a in failed["activities"]] == ["copyActivity"]
    # The two pages read before the failure were staged and dropped, never promoted.
    assert dataset_records(aep_streaming.url, pipeline.dataset_id) == kept
    assert _staged_rows(aep_dir) == 0
