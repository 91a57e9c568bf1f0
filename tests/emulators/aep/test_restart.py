"""State survives a restart; a run cut off by a stopped emulator is failed, not left running."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from emulators.aep.testing import (
    FLOW_SERVICE,
    PlatformSession,
    build_stripe_pipeline,
    create_flow,
    expect,
    run_status,
    start_aep_emulator,
)


@pytest.fixture
def silent_stripe() -> Iterator[str]:
    """A port that accepts connections and never answers: every Stripe call hangs."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()


def _runs(aep: PlatformSession, flow_id: str) -> list[dict]:
    return expect(aep.get(f"{FLOW_SERVICE}/runs", params={"property": f"flowId=={flow_id}"}), 200)[
        "items"
    ]


def test_an_interrupted_run_is_failed_at_the_next_start(tmp_path, silent_stripe):
    server = start_aep_emulator(tmp_path, silent_stripe)
    try:
        with PlatformSession(server.url) as aep:
            pipeline = build_stripe_pipeline(aep, "sk_test_any_key_000000000000")
            flow_id = create_flow(aep, pipeline)
            deadline = time.monotonic() + 10
            while not _runs(aep, flow_id) and time.monotonic() < deadline:
                time.sleep(0.1)
            [running] = _runs(aep, flow_id)
            assert run_status(running) in ("queued", "inProgress")
    finally:
        server.process.kill()
        server.process.wait()

    restarted = start_aep_emulator(tmp_path, silent_stripe)
    try:
        with PlatformSession(restarted.url) as aep:
            [run] = _runs(aep, flow_id)
            flow = expect(aep.get(f"{FLOW_SERVICE}/flows/{flow_id}"), 200)["items"][0]
    finally:
        restarted.stop()

    assert run["id"] == running["id"]
    assert run_status(run) == "failed"
    assert "interrupted" in run["metrics"]["statusSummary"]["errors"][0]["message"]
    assert flow["lastRunDetails"]["state"] == "failed"
    assert flow["name"] == "Stripe charges flow"


def test_sigterm_stops_the_emulator_promptly_even_with_a_hanging_run(tmp_path, silent_stripe):
    server = start_aep_emulator(tmp_path, silent_stripe)
    with PlatformSession(server.url) as aep:
        pipeline = build_stripe_pipeline(aep, "sk_test_any_key_000000000000")
        create_flow(aep, pipeline)
        time.sleep(0.5)

    started = time.monotonic()
    server.stop(timeout=5)

    assert time.monotonic() - started < 4
    assert server.process.returncode == 0
