"""Run statuses as AEP reports them: a run waits `scheduled` (ad-hoc, re-trigger) or `queued`
before it starts, and GET /runs spells statuses both ways Adobe's documents do (`SCHEDULED`,
`IN_PROGRESS` in the Flow Service spec; `scheduled`, `inProgress` in the guides), unless the
emulator is started with `--without-variance runStatusSpellings`."""

from __future__ import annotations

import time

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

# Scheduler passes a minute apart: ad-hoc runs stay `scheduled` while the test looks at them.
SLOW_TICK = 60


def scheduled_run_spellings(url: str, stripe_key: str) -> list[str]:
    with PlatformSession(url) as aep:
        pipeline = build_stripe_pipeline(aep, stripe_key)
        later = {"startTime": str(int(time.time()) + 86400), "frequency": "day", "interval": 1}
        flow_id = create_flow(aep, pipeline, later)
        window = {"windowStartTime": "1790000000", "windowEndTime": "1790000001"}
        for _ in range(12):
            expect(
                aep.post(f"{FLOW_SERVICE}/runs", json={"flowId": flow_id, "params": window}), 201
            )
        runs = expect(
            aep.get(f"{FLOW_SERVICE}/runs", params={"property": f"flowId=={flow_id}"}), 200
        )
    assert [run_status(r) for r in runs["items"]] == ["scheduled"] * 12
    return [r["metrics"]["statusSummary"]["status"] for r in runs["items"]]


@pytest.mark.parametrize("variance", [True, False])
def test_runs_wait_scheduled_and_are_spelled_both_ways_unless_told_not_to(
    tmp_path, stripe_server, variance
):
    server = start_aep_emulator(
        tmp_path, stripe_server.url, scheduler_tick=SLOW_TICK, run_status_variance=variance
    )
    try:
        spellings = scheduled_run_spellings(server.url, stripe_server.secret_key)
    finally:
        server.stop()
    assert set(spellings) == ({"scheduled", "SCHEDULED"} if variance else {"scheduled"})
