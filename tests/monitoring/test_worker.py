"""Beat's tick through a real Celery worker: discovery and syncs travel as real task messages."""

from __future__ import annotations

import pytest

from monitoring.clients import client_for
from monitoring.models import Dataflow, Run
from monitoring.tasks import discover_flows, schedule_syncs
from tests.base import wait_for
from tests.emulator_world import add_flow, create_shared_parts, emulator_sandbox
from tests.monitoring.runs import aep_runs

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_beat_ticks_bring_aep_runs_into_the_database(
    celery_worker_thread, aep_emulator, stripe_stand_in, settings
):
    # Time-scaled like the emulator: ticks of a second, flows due again within a second.
    settings.MONITORING_TICK_SECONDS = 1
    settings.MONITORING_SYNC_MIN_SECONDS = settings.MONITORING_OPEN_RUN_SECONDS = 0.5
    settings.MONITORING_SYNC_MAX_SECONDS = 1
    sandbox = emulator_sandbox(aep_emulator.url, sandbox_name="dev")
    client = client_for(sandbox)
    parts = create_shared_parts(client, stripe_stand_in.secret_key)
    flow_ids = [add_flow(client, parts, path) for path in ("charges", "customers")]
    try:
        discover_flows.delay()
        wait_for(
            lambda: Dataflow.objects.filter(sandbox=sandbox, flow_id__in=flow_ids).count() == 2,
            "discovery through the worker",
        )
        wait_for(lambda: all(len(aep_runs(client, f)) >= 2 for f in flow_ids), "runs in AEP")

        def synced() -> bool:
            schedule_syncs()  # what beat sends every tick
            # A batch stores every flow's runs, then computes each flow's health.
            return all(
                Run.objects.filter(dataflow__flow_id=f, status="success").count() >= 2
                and Dataflow.objects.get(flow_id=f).last_synced_at is not None
                for f in flow_ids
            )

        wait_for(synced, "runs synced by the worker", timeout=40)
        # A sync stores the runs first and the flow's health right after: wait for both.
        flow = wait_for(
            lambda: Dataflow.objects.filter(
                flow_id=flow_ids[0], health=Dataflow.Health.HEALTHY
            ).first(),
            "the synced flow's health",
        )
        assert flow.last_synced_at is not None and flow.records_24h > 0
    finally:
        for flow_id in flow_ids:
            client.flowservice.disable_flow(flow_id)
