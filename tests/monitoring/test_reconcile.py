"""Reconciliation: Stripe's count per run window against what the runs ingested, per day."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from unittest.mock import patch

import pytest
import stripe
from django.db import connection

from aep import quirks
from core.models import Job
from monitoring import reconcile
from monitoring.clients import client_for
from monitoring.discovery import discover
from monitoring.models import Dataflow, Reconciliation
from monitoring.sync import run_sync
from monitoring.tasks import reconcile_dataflow
from tests.base import BaseTestCase, make_sandbox, wait_for
from tests.emulator_world import add_flow, create_shared_parts, emulator_sandbox
from tests.monitoring.factories import make_account, make_dataflow, make_run
from tests.monitoring.runs import aep_runs, stored_runs

DAY = date(2026, 11, 20)


def at(hour: int, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(hours=hour)


def ts(moment: datetime) -> int:
    return int(moment.timestamp())


class CompareTestCase(BaseTestCase):
    def test_objects_count_against_the_window_they_fall_in_shown_on_its_last_day(self):
        windows = [
            reconcile.Window(datetime(1970, 1, 1, tzinfo=UTC), at(6), ingested=5, runs=1),
            reconcile.Window(at(6), at(24), ingested=2, runs=2),  # ends at midnight: day 20
            reconcile.Window(at(24), at(30), ingested=0, runs=1),  # a failed run
        ]
        created = [ts(at(-50)), ts(at(-30)), ts(at(1)), ts(at(2)), ts(at(3)), ts(at(3))]
        created += [ts(at(7)), ts(at(23))]
        created += [ts(at(25)), ts(at(26))]
        created += [ts(at(40))]  # after every window: not covered by a run
        table = reconcile.compare(windows, iter(created), DAY, DAY + timedelta(days=1))
        assert table["days"] == [
            {"day": "2026-11-20", "stripe": 8, "aep": 7, "windows": 2, "uncovered": 0, "gap": 1},
            {"day": "2026-11-21", "stripe": 3, "aep": 0, "windows": 1, "uncovered": 1, "gap": 3},
        ]
        assert table["totals"] == {"stripe": 11, "aep": 7, "gap": 4, "uncovered": 1}
        assert not table["truncated"]

    def test_re_triggered_runs_of_one_window_count_once(self):
        flow = make_dataflow(make_sandbox())
        window = {"window_start": at(0), "window_end": at(1)}
        make_run(flow, status="failed", output_records=0, **window)
        make_run(flow, status="success", output_records=9, **window)
        make_run(flow, status="inProgress", output_records=0, window_start=at(1), window_end=at(2))
        windows = reconcile.run_windows(flow.pk, DAY, DAY)
        assert windows == [reconcile.Window(at(0), at(1), ingested=9, runs=2)]


class ReconcilePagesTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        sandbox = make_sandbox()
        self.keyless = make_dataflow(sandbox, account=make_account(sandbox))
        self.keyed = make_dataflow(
            sandbox, account=make_account(sandbox, access_token="sk_test_stored_key_1234")
        )
        self.form = {"first_day": "2026-11-20", "last_day": "2026-11-26"}

    def post(self, flow: Dataflow, **extra):
        url = f"/dataflows/{flow.pk}/reconcile/"
        with (
            patch("monitoring.views.dataflows.reconcile_dataflow.delay_on_commit") as enqueue,
            self.captureOnCommitCallbacks(execute=True),
        ):
            response = self.client.post(url, {**self.form, **extra})
        return response, enqueue

    def test_a_stored_key_lets_anyone_who_monitors_start_a_check(self):
        self.login(self.mina)
        response, enqueue = self.post(self.keyed)
        recon = Reconciliation.objects.get(dataflow=self.keyed)
        enqueue.assert_called_once_with(str(recon.job_id))
        assert response["Location"].endswith(f"/dataflows/{self.keyed.pk}/#reconcile")
        assert (recon.window_start, recon.window_end) == (date(2026, 11, 20), date(2026, 11, 26))
        assert not recon.pasted_key

    def test_without_a_stored_key_support_pastes_one_which_is_never_shown(self):
        self.login(self.mina)
        body = self.client.get(f"/dataflows/{self.keyless.pk}/").content.decode()
        assert "Ask Support or an Admin" in body
        _, enqueue = self.post(self.keyless)
        enqueue.assert_not_called()
        self.client.logout()
        self.login(self.sam)
        assert (
            "Paste a key below"
            in self.client.get(f"/dataflows/{self.keyless.pk}/").content.decode()
        )
        _, enqueue = self.post(self.keyless, stripe_key="sk_test_pasted_key_5678")
        enqueue.assert_called_once()
        recon = Reconciliation.objects.get(dataflow=self.keyless)
        assert recon.pasted_key.reveal() == "sk_test_pasted_key_5678"
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pasted_key FROM monitoring_reconciliation WHERE id = %s", [recon.pk]
            )
            assert "pasted_key_5678" not in cursor.fetchone()[0]  # encrypted at rest
        assert (
            "sk_test_pasted"
            not in self.client.get(f"/dataflows/{self.keyless.pk}/").content.decode()
        )

    def test_the_result_is_polled_until_the_job_ends(self):
        self.login(self.mina)
        self.post(self.keyed)
        url = f"/dataflows/{self.keyed.pk}/reconcile/status/"
        assert self.client.get(url, headers={"HX-Request": "true"}).status_code == 200
        job = Job.objects.get()
        job.claim()
        job.succeed(
            {
                "days": [
                    {
                        "day": "2026-11-20",
                        "stripe": 5,
                        "aep": 4,
                        "gap": 1,
                        "windows": 1,
                        "uncovered": 0,
                    }
                ],
                "totals": {"stripe": 5, "aep": 4, "gap": 1, "uncovered": 0},
                "key": "the account's stored key",
            }
        )
        response = self.client.get(url, headers={"HX-Request": "true"})
        assert response.status_code == 286
        assert "2026-11-20" in response.content.decode()

    def test_a_check_without_any_key_fails_in_plain_words(self):
        job = Job.objects.create(kind="dataflow.reconcile", target="x")
        Reconciliation.objects.create(
            job=job, dataflow=self.keyless, window_start=DAY, window_end=DAY
        )
        reconcile_dataflow(str(job.pk))
        job.refresh_from_db()
        assert job.status == "failed" and "No Stripe key is stored" in job.error

    def test_a_stripe_failure_is_explained_and_the_pasted_key_forgotten_all_the_same(self):
        job = Job.objects.create(kind="dataflow.reconcile", target="x")
        recon = Reconciliation.objects.create(
            job=job,
            dataflow=self.keyless,
            window_start=DAY,
            window_end=DAY,
            pasted_key="sk_test_pasted_key_5678",
        )
        down = stripe.APIConnectionError("connection refused")
        with patch("monitoring.reconcile._key_for", side_effect=down):
            reconcile_dataflow(str(job.pk))
        job.refresh_from_db()
        assert (
            job.status == "failed" and job.error == "Could not reach Stripe. Try again in a minute."
        )
        recon.refresh_from_db()
        assert recon.pasted_key.reveal() == ""


@pytest.mark.integration
class ReconcileAgainstStripeTestCase(BaseTestCase):
    @pytest.fixture(autouse=True)
    def _servers(self, aep_emulator, stripe_stand_in, settings):
        self.aep, self.stripe = aep_emulator, stripe_stand_in
        settings.STRIPE_API_BASE = stripe_stand_in.url

    def test_a_healthy_flow_has_no_gap_and_a_failing_one_misses_what_stripe_created(self):
        sandbox = emulator_sandbox(self.aep.url, sandbox_name="dev")
        client = client_for(sandbox)
        good_id = add_flow(client, create_shared_parts(client, self.stripe.secret_key), "charges")
        bad_id = add_flow(
            client, create_shared_parts(client, "sk_test_revoked_key_0000000000"), "charges"
        )
        time.sleep(1)
        self.stripe.admin("objects", {"resource": "charges", "count": 7})
        wait_for(lambda: len(aep_runs(client, good_id)) >= 4, "four runs")
        discover(sandbox, client)
        flows = [Dataflow.objects.get(flow_id=f) for f in (good_id, bad_id)]
        for flow in flows:
            client.flowservice.disable_flow(flow.flow_id)
        for flow in flows:
            wait_for(
                lambda f=flow: (
                    run_sync(f.pk, client_for).status == "synced"
                    and stored_runs(f) == aep_runs(client, f.flow_id)
                    and all(quirks.run_is_finished(s[0]) for s in stored_runs(f).values())
                ),
                "runs to settle",
            )
        # The healthy flow's account still holds its key; the other check gets one pasted.
        account = flows[0].account
        account.access_token = self.stripe.secret_key
        account.save()
        today = datetime.now(UTC).date()
        results = []
        for flow, key in zip(flows, ("", self.stripe.secret_key), strict=True):
            job = Job.objects.create(kind="dataflow.reconcile", target=f"dataflow:{flow.pk}")
            Reconciliation.objects.create(
                job=job,
                dataflow=flow,
                window_start=today - timedelta(days=6),
                window_end=today,
                pasted_key=key,
            )
            reconcile_dataflow(str(job.pk))
            job.refresh_from_db()
            assert job.status == "succeeded", job.error
            assert Reconciliation.objects.get(job=job).pasted_key.reveal() == ""
            results.append(job.result)
        good, bad = results
        total = self.stripe.count("charges")
        assert good["totals"] == {"stripe": total, "aep": total, "gap": 0, "uncovered": 0}
        assert bad["totals"]["stripe"] == total and bad["totals"]["gap"] == total
        assert (good["key"], bad["key"]) == (
            "the account's stored key",
            "a key pasted for this check",
        )
