"""The batched run sync against the real emulator: many flows per request, each flow's own
cursor, and no run lost or stored twice when AEP misbehaves or the worker dies mid-page."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest.mock import patch
from urllib.parse import unquote, urlsplit

import pytest
import requests
from django.conf import settings as django_settings
from django.db import connection
from django.test import override_settings

from aep import BadRequestError, NotFoundError, quirks
from monitoring import throttle
from monitoring.clients import client_for
from monitoring.discovery import discover
from monitoring.models import Dataflow, Run
from monitoring.sync import RUNS_QUERY_BUDGET, plan_batches, run_syncs, runs_query
from tests.base import BaseTestCase, make_sandbox, wait_for
from tests.emulator_world import (
    add_flow,
    clear_faults,
    create_shared_parts,
    emulator_sandbox,
    every_minutes,
    inject,
)
from tests.monitoring.factories import make_dataflow
from tests.monitoring.runs import aep_runs, stored_runs, totals_match_buckets

pytestmark = pytest.mark.integration
RUNS_PATH = "/data/foundation/flowservice/runs*"
ROOT = Path(__file__).resolve().parents[2]


class Requests:
    """Every request the product sends, by URL (the HTTP layer, under the AEP client)."""

    def __init__(self) -> None:
        self.urls: list[str] = []
        real_send = requests.Session.send
        urls = self.urls

        def send(session, request, **kwargs):
            urls.append(request.url)
            return real_send(session, request, **kwargs)

        self._patch = patch.object(requests.Session, "send", send)

    def __enter__(self) -> Requests:
        self._patch.start()
        return self

    def __exit__(self, *exc) -> None:
        self._patch.stop()

    def runs(self) -> list[str]:
        return [u for u in self.urls if urlsplit(u).path.endswith("/flowservice/runs")]


def settled(client, flows: list[Dataflow]) -> bool:
    """One more batched sync, then: does every stored run equal AEP's, all of them ended?"""
    run_syncs([f.pk for f in flows], client_for)
    for dataflow in flows:
        stored = stored_runs(dataflow)
        if stored != aep_runs(client, dataflow.flow_id):
            return False
        if not all(quirks.run_is_finished(s[0]) for s in stored.values()):
            return False
    return True


class BatchPlanTestCase(BaseTestCase):
    def test_batches_hold_one_sandbox_and_stay_within_the_query_budget(self):
        sandboxes = [make_sandbox(), make_sandbox(display_name="Other", sandbox_name="other")]
        cursor = datetime.now(UTC) - timedelta(hours=1)
        flows = [make_dataflow(sandboxes[n % 2], sync_cursor=cursor) for n in range(300)]
        batches = plan_batches(flows)
        assert sorted(f.pk for b in batches for f in b) == sorted(f.pk for f in flows)
        for batch in batches:
            assert len({f.sandbox_id for f in batch}) == 1
            params = runs_query([f.flow_id for f in batch], cursor, 100)
            assert len(requests.models.RequestEncodingMixin._encode_params(params)) <= (
                RUNS_QUERY_BUDGET
            )
        # 150 flows per sandbox at about 74 per request: three requests each, not 150.
        assert len(batches) == 6

    def test_far_apart_cursors_never_share_a_request_nor_does_a_failing_flow(self):
        sandbox = make_sandbox()
        now = datetime.now(UTC)
        recent = [make_dataflow(sandbox, sync_cursor=now - timedelta(minutes=m)) for m in (1, 9)]
        old = make_dataflow(sandbox, sync_cursor=now - timedelta(days=3))
        new = make_dataflow(sandbox)
        failing = make_dataflow(sandbox, sync_cursor=now, sync_failures=2)
        batches = {
            tuple(sorted(f.pk for f in b)) for b in plan_batches([*recent, old, new, failing])
        }
        assert batches == {
            tuple(sorted(f.pk for f in recent)),
            (old.pk,),
            (new.pk,),
            (failing.pk,),
        }


class BatchedSyncEmulatorTestCase(BaseTestCase):
    @pytest.fixture(autouse=True)
    def _servers(self, aep_emulator, stripe_stand_in):
        self.aep = aep_emulator
        self.stripe = stripe_stand_in

    def setUp(self) -> None:
        super().setUp()
        self.sandbox = emulator_sandbox(self.aep.url, sandbox_name="dev")
        self.client_aep = client_for(self.sandbox)
        self.parts = create_shared_parts(self.client_aep, self.stripe.secret_key)

    def tearDown(self) -> None:
        clear_faults(self.aep.url)
        for dataflow in Dataflow.objects.filter(sandbox=self.sandbox):
            self.disable(dataflow.flow_id)
        super().tearDown()

    def disable(self, flow_id: str) -> None:
        with contextlib.suppress(BadRequestError, NotFoundError):
            self.client_aep.flowservice.disable_flow(flow_id)

    def discovered(self, flow_ids: list[str]) -> list[Dataflow]:
        discover(self.sandbox, self.client_aep)
        return [Dataflow.objects.get(sandbox=self.sandbox, flow_id=f) for f in flow_ids]

    def test_a_quiet_cycle_of_many_flows_costs_one_request(self):
        # Each flow's newest run comes back (`>=`): 30 runs, one page of the default 100.
        daily = every_minutes(24 * 60)  # one backfill run each, then nothing for 144 s
        flow_ids = [
            add_flow(self.client_aep, self.parts, "prices", schedule=daily) for _ in range(30)
        ]
        flows = self.discovered(flow_ids)
        wait_for(lambda: settled(self.client_aep, flows), "the first runs, synced")
        with Requests() as sent:
            outcomes = run_syncs([f.pk for f in flows], client_for)
        assert {o.status for o in outcomes.values()} == {"synced"}
        assert len(sent.runs()) == 1
        # One request names every flow, in whatever order (comma-separated OR).
        query = unquote(sent.runs()[0])
        assert all(flow_id in query for flow_id in flow_ids)
        for dataflow in flows:
            assert Run.objects.filter(dataflow=dataflow).count() == 1

    @override_settings(MONITORING_RUNS_PAGE_SIZE=3)
    def test_each_flow_takes_its_runs_from_its_own_cursor_and_pages_stay_under_8_kb(self):
        # Flows synced at different times: their cursors differ, the request starts at the
        # oldest, and no flow stores a run twice or misses one.
        flow_ids = [add_flow(self.client_aep, self.parts, "charges") for _ in range(3)]
        flows = self.discovered(flow_ids)
        wait_for(lambda: all(len(aep_runs(self.client_aep, f)) >= 2 for f in flow_ids), "runs")
        run_syncs([flows[0].pk], client_for)
        wait_for(lambda: len(aep_runs(self.client_aep, flow_ids[0])) >= 4, "more runs")
        with Requests() as sent:
            for dataflow in flows:
                self.disable(dataflow.flow_id)
            wait_for(lambda: settled(self.client_aep, flows), "every run, synced")
        assert all(len(urlsplit(u).query) < 8192 for u in sent.urls)
        assert any("continuationToken" in u for u in sent.runs())
        for dataflow in flows:
            assert Run.objects.filter(dataflow=dataflow).count() == len(
                aep_runs(self.client_aep, dataflow.flow_id)
            )
        assert totals_match_buckets(self.sandbox, "output_records")

    @override_settings(
        AEP_TIMEOUT_SECONDS=1, MONITORING_RUNS_PAGE_SIZE=2, MONITORING_THROTTLE_SECONDS=0.3
    )
    def test_no_run_is_lost_or_duplicated_through_429s_500s_and_timeouts(self):
        paths = ("charges", "refunds", "customers", "charges")
        flows = self.discovered([add_flow(self.client_aep, self.parts, p) for p in paths])
        inject(self.aep.url, method="GET", path=RUNS_PATH, kind="429", rate=0.15, retry_after=1)
        inject(self.aep.url, method="GET", path=RUNS_PATH, kind="429", rate=0.1)
        inject(self.aep.url, method="GET", path=RUNS_PATH, kind="500", rate=0.2)
        inject(
            self.aep.url, method="GET", path=RUNS_PATH, kind="delay", rate=0.15, delay_seconds=1.6
        )
        outcomes: list[str] = []
        deadline = time.monotonic() + 12
        while time.monotonic() < deadline:
            outcomes += [o.status for o in run_syncs([f.pk for f in flows], client_for).values()]
            if throttle.is_paused(sandbox_pk=self.sandbox.pk):
                time.sleep(0.3)
        assert {"throttled", "failed", "synced"} <= set(outcomes), outcomes
        clear_faults(self.aep.url)
        throttle._redis().delete(throttle.key(f"paused-until:{self.sandbox.pk}"))
        for dataflow in flows:
            self.disable(dataflow.flow_id)
        Dataflow.objects.filter(pk__in=[f.pk for f in flows]).update(sync_failures=0)
        wait_for(lambda: settled(self.client_aep, flows), "every run, synced")
        for dataflow in flows:
            stored = stored_runs(dataflow)
            assert Run.objects.filter(dataflow=dataflow).count() == len(stored) >= 5
        assert totals_match_buckets(self.sandbox, "output_records")


SYNC_IN_A_PROCESS = """
import django, os, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings_test"
django.setup()
from django.conf import settings
settings.DATABASES["default"]["NAME"] = sys.argv[1]
settings.MONITORING_REDIS_PREFIX = sys.argv[2]
settings.MONITORING_RUNS_PAGE_SIZE = 1
from monitoring.clients import client_for
from monitoring.sync import run_syncs
run_syncs([int(pk) for pk in sys.argv[3].split(",")], client_for)
"""


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_page_loses_and_duplicates_nothing(aep_emulator, stripe_stand_in):
    sandbox = emulator_sandbox(aep_emulator.url, sandbox_name="dev")
    client = client_for(sandbox)
    parts = create_shared_parts(client, stripe_stand_in.secret_key)
    flow_ids = [add_flow(client, parts, path) for path in ("charges", "refunds")]
    try:
        wait_for(lambda: all(len(aep_runs(client, f)) >= 3 for f in flow_ids), "runs in AEP")
        for flow_id in flow_ids:
            client.flowservice.disable_flow(flow_id)
        discover(sandbox, client)
        flows = [Dataflow.objects.get(sandbox=sandbox, flow_id=f) for f in flow_ids]
        # Every page of runs takes a second: the worker is killed between two of them.
        inject(aep_emulator.url, method="GET", path=RUNS_PATH, kind="delay", count=50,
               delay_seconds=1)  # fmt: skip
        worker = subprocess.Popen(
            [
                sys.executable,
                "-c",
                SYNC_IN_A_PROCESS,
                connection.settings_dict["NAME"],
                django_settings.MONITORING_REDIS_PREFIX,
                ",".join(str(f.pk) for f in flows),
            ],
            cwd=ROOT,
            env={**os.environ, "LOG_LEVEL": "WARNING"},
        )
        try:
            wait_for(lambda: Run.objects.filter(dataflow__in=flows).exists(), "a page stored")
        finally:
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(10)
        stored_before = Run.objects.filter(dataflow__in=flows).count()
        truth = sum(len(aep_runs(client, f)) for f in flow_ids)
        assert 0 < stored_before < truth
        clear_faults(aep_emulator.url)
        # The killed sync's locks expire (their TTL); the next sync resumes.
        for flow in flows:
            throttle._redis().delete(throttle.key(f"sync-lock:{flow.pk}"))
        wait_for(lambda: settled(client, flows), "every run, synced after the kill")
        for flow in flows:
            assert Run.objects.filter(dataflow=flow).count() == len(aep_runs(client, flow.flow_id))
        assert totals_match_buckets(sandbox, "output_records")
    finally:
        clear_faults(aep_emulator.url)
        for flow_id in flow_ids:
            with contextlib.suppress(BadRequestError, NotFoundError):
                client.flowservice.disable_flow(flow_id)
