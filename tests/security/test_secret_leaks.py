"""Known secrets seeded everywhere a secret is kept; every page and task run; the secrets are
found in no response, log line, audit record, job, operation, draft or error message.

The secrets ("canaries", canaries.py) are a sandbox's client secret, an account's
stored Stripe key, a reconciliation's pasted key, a rotation's new key, a wizard draft's key,
an alert rule's webhook secret, and a key pasted with a line break in it. Their last four
characters may be shown; the rest may not, as is, URL-encoded or base64-encoded. Encrypted
columns must hold ciphertext.

AEP and Stripe are faked at the HTTP layer (fakes.py) for the monitoring and support
tasks, so the real clients run; the wizard's tasks get the wizard's in-memory fake AEP. Tasks
run in the test process, in order, as a worker would run what the requests enqueued.
"""

from __future__ import annotations

import base64
import contextlib
import json
import uuid
from datetime import timedelta
from typing import Any
from unittest.mock import patch
from urllib.parse import quote, urlsplit

import pytest
import responses
from celery.exceptions import Retry
from cryptography.fernet import Fernet
from django.core import mail
from django.db import connection
from django.test import Client, TestCase, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from aep.errors import ServerError
from core import crypto
from core.models import Job
from monitoring.models import Account, AlertDelivery, Dataflow, Reconciliation, Run
from monitoring.tasks import deliver_alert, sync_dataflow
from onboarding.models import Draft
from operations.models import Operation
from tests.monitoring.fakes import PUBLIC_ADDRESS, fake_dns
from tests.onboarding.driver import formset_post
from tests.onboarding.fakes import FakeAEP
from tests.security.canaries import (
    ACCOUNT_TOKEN,
    CANARIES,
    MALFORMED_KEY,
    PASTED_KEY,
    ROTATED_KEY,
    SANDBOX_SECRET,
    WEBHOOK_SECRET,
    WIZARD_KEY,
    leak_report,
    leaks_in,
)
from tests.security.capture import (
    capture_logs,
    database_leaks,
    plaintext_secret_columns,
    response_body,
    response_leaks,
)
from tests.security.fakes import WEBHOOK_URL, FakeAEPHttp, FakeStripe
from tests.security.routes import (
    project_paths,
    project_routes,
    secret_admin_change_paths,
    server_failed,
)
from tests.security.world import ROLES, World, seed_world

pytestmark = pytest.mark.integration  # the AEP token cache and metrics are in Redis

HX = {"HX-Request": "true"}
# Pages listing rows that hold secrets (sandboxes, accounts, drafts, rules).
LIST_PAGES = (
    "/sandboxes/",
    "/overview/",
    "/alerts/rules/",
    "/ops/accounts/",
    "/ops/dataflows/",
    "/wizard/",
)


class Worker:
    """Stands in for Celery: tasks sent while a test runs are kept, then run here in order."""

    def __init__(self) -> None:
        self.queue: list[tuple[Any, tuple, dict]] = []
        self.errors: list[str] = []

    def apply_async(self, task, args=None, kwargs=None, **options) -> None:
        self.queue.append((task, tuple(args or ()), dict(kwargs or {})))

    def run_all(self) -> int:
        ran = 0
        while self.queue:
            task, args, kwargs = self.queue.pop(0)
            ran += 1
            try:
                task(*args, **kwargs)
            except Retry:
                pass  # a webhook that failed schedules its own retry; not run again here
            except Exception as exc:  # collected: the message must not hold a secret either
                self.errors.append(f"{task.name}: {type(exc).__name__}: {exc}")
        return ran


@override_settings(
    MONITORING_REDIS_PREFIX=f"test-security-{uuid.uuid4().hex}",
    ONBOARDING_STEP_RETRIES=0,
    AEP_ALLOW_HTTP=True,  # the fake AEP answers at http://aep.invalid
)
class SecretLeakTestCase(TestCase):
    world: World

    @classmethod
    def setUpTestData(cls) -> None:
        cls.world = seed_world()

    @pytest.fixture(autouse=True)
    def _capture(self, caplog):
        with capture_logs(caplog) as logs:
            self.logs = logs
            yield

    def setUp(self) -> None:
        super().setUp()
        self.found: list[str] = []
        self.worker = Worker()
        worker = self.worker
        sender = patch(
            "celery.app.task.Task.apply_async",
            autospec=True,
            side_effect=lambda task, args=None, kwargs=None, **o: worker.apply_async(
                task, args, kwargs, **o
            ),
        )
        sender.start()
        self.addCleanup(sender.stop)
        self.http = responses.RequestsMock(assert_all_requests_are_fired=False)
        self.http.start()
        self.addCleanup(self.http.stop)
        self.addCleanup(self.http.reset)
        self.stripe = FakeStripe()
        self.stripe.install(self.http)
        self.aep = FakeAEPHttp({self.world.dataflow.flow_id: {"name": self.world.dataflow.name}})
        self.aep.install(self.http)
        self.webhook_status = [500, 200]
        # The webhook's host must resolve to a public address, or the delivery is refused unsent.
        dns = fake_dns({urlsplit(WEBHOOK_URL).hostname: [PUBLIC_ADDRESS]})
        dns.start()
        self.addCleanup(dns.stop)
        self.http.add_callback(responses.POST, WEBHOOK_URL, callback=self._webhook)
        self.wizard_aep = FakeAEP()
        wizard_client = patch("onboarding.tasks.client_for", return_value=self.wizard_aep)
        wizard_client.start()
        self.addCleanup(wizard_client.stop)

    def _webhook(self, request):
        status = self.webhook_status.pop(0) if self.webhook_status else 200
        return status, {}, ""

    # -- driving -----------------------------------------------------------------------------

    def client_for(self, role: str | None) -> Client:
        client = Client()
        if role:
            client.force_login(self.world.users[role])
        return client

    def request(self, client: Client, method: str, path: str, data=None, **headers):
        """One request, its enqueued tasks sent on commit; what it returns is searched."""
        where = f"{method} {path} {headers or ''}".strip()
        try:
            with self.captureOnCommitCallbacks(execute=True):
                if method == "GET":
                    response = client.get(path, data, headers=headers)
                else:
                    response = client.post(path, data or {}, headers=headers)
        except Exception as exc:
            self.found += leak_report(f"the exception of {where}", f"{type(exc).__name__}: {exc}")
            raise
        assert not server_failed(path, response.status_code), where
        self.found += response_leaks(where, response, response_body(response))
        return response

    def run_tasks(self) -> int:
        return self.worker.run_all()

    def visit_everything(self, roles=(None, *ROLES)) -> int:
        """GET every URL pattern with every seeded id, as each role, with and without htmx."""
        visited = 0
        for role in roles:
            client = self.client_for(role)
            for _route, path in project_paths(self.world.ids):
                for headers in ({}, HX):
                    self.request(client, "GET", path, **headers)
                    visited += 1
        root = self.client_for("root")
        for path in secret_admin_change_paths():
            for headers in ({}, HX):
                self.request(root, "GET", path, **headers)
                visited += 1
        return visited

    def assert_nothing_leaked(self) -> None:
        found = list(self.found)
        found += self.logs.leaks()
        found += database_leaks()
        found += plaintext_secret_columns()
        for message in mail.outbox:
            found += leak_report(f"email {message.subject!r}", f"{message.subject}\n{message.body}")
        for error in self.worker.errors:
            found += leak_report("a task's exception", error)
        assert not found, "\n".join(found[:40])

    # -- the tests ---------------------------------------------------------------------------

    def test_every_page_as_every_role_shows_no_secret(self):
        assert len(project_routes()) >= 70  # the whole project, not a handful of pages
        visited = self.visit_everything()
        assert secret_admin_change_paths(), "the sandbox admin page is covered"
        assert visited > 700
        self.assert_nothing_leaked()

    def test_every_page_answers_when_no_key_can_read_the_stored_secrets(self):
        # A backup restored under another FIELD_ENCRYPTION_KEY: pages that show no secret work,
        # and those that would show a hint of one (ends in …) still answer.
        with override_settings(FIELD_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]):
            assert self.visit_everything(roles=("alex", "mina")) > 200
        self.assert_nothing_leaked()

    def test_list_pages_load_no_secret_column(self):
        alex = self.client_for("alex")
        secret_columns = {column for _table, _pk, column in crypto.secret_columns()}
        for path in LIST_PAGES:
            with CaptureQueriesContext(connection) as queries:
                assert alex.get(path).status_code == 200, path
            loaded = {
                column
                for query in queries.captured_queries
                if query["sql"].lstrip().upper().startswith("SELECT")
                for column in secret_columns
                if f'."{column}"' in query["sql"]
            }
            assert not loaded, (path, loaded)

    def test_forms_posted_with_secrets_never_show_them_back(self):
        world = self.world
        alex, sam, mina = (self.client_for(r) for r in ("alex", "sam", "mina"))
        sandbox_post = {
            "display_name": "Leak test",
            "org_id": "not-an-org",
            "sandbox_name": "Prod",
            "client_id": "x",
            "client_secret": SANDBOX_SECRET,
            "scope": "openid",
            "platform_url": "not a url",
            "ims_url": "",
        }
        for headers in ({}, HX):
            for path in ("/sandboxes/new/", f"/sandboxes/{world.sandbox.pk}/"):
                response = self.request(alex, "POST", path, sandbox_post, **headers)
                assert response.status_code == 200 and response.context["form"].errors
            response = self.request(
                mina,
                "POST",
                "/wizard/new/",
                {"account_mode": "new", "access_token": WIZARD_KEY, "sandbox": "nope"},
                **headers,
            )
            assert response.context["form"].errors
            response = self.request(
                sam,
                "POST",
                f"/ops/accounts/{world.account.pk}/rotate/",
                {"new_key": ROTATED_KEY, "reason": ""},
                **headers,
            )
            assert response.context["form"].errors
            rule_post = {
                "kind": "run_failed",
                "emails": "not an email",
                "webhook_url": WEBHOOK_URL,
                "webhook_secret": WEBHOOK_SECRET,
            }
            for path in ("/alerts/rules/new/", f"/alerts/rules/{world.rule.pk}/"):
                response = self.request(alex, "POST", path, rule_post, **headers)
                assert response.context["form"].errors
            response = self.request(
                sam,
                "POST",
                f"/dataflows/{world.dataflow.pk}/reconcile/",
                {"first_day": "2025-01-10", "last_day": "2025-01-01", "stripe_key": PASTED_KEY},
                **headers,
            )
            assert response.status_code == 302
            self.request(sam, "GET", f"/dataflows/{world.dataflow.pk}/")
        # And the same forms accepted: saved encrypted, confirmed without the secret.
        sandbox_post.update(
            org_id="LEAK@AdobeOrg",
            sandbox_name="prod",
            platform_url="http://aep.invalid",
            ims_url="http://aep.invalid",
        )
        response = self.request(alex, "POST", f"/sandboxes/{world.sandbox.pk}/", sandbox_post)
        assert response.status_code == 302, response.context["form"].errors
        self.request(alex, "GET", response["Location"])
        rule_post.update(
            emails="ops@example.org", webhook_url=WEBHOOK_URL, dataflow=world.dataflow.pk
        )
        response = self.request(alex, "POST", f"/alerts/rules/{world.rule.pk}/", rule_post)
        assert response.status_code == 302, response.context["form"].errors
        self.request(alex, "GET", response["Location"])
        self.assert_nothing_leaked()

    def test_tasks_leave_no_secret_in_logs_rows_or_pages(self):
        self.check_sandbox_connection()
        self.wizard_from_key_to_dataflows()
        self.wizard_provisioning_that_fails_then_is_discarded()
        self.sync_and_alert_deliveries()
        self.reconciliations()
        self.key_rotations()
        self.a_malformed_key_in_the_wizard_and_a_rotation()
        self.world.extra_ids = {
            "job": list(Job.objects.values_list("pk", flat=True)),
            "operation": list(Operation.objects.values_list("pk", flat=True)),
            "draft": list(Draft.objects.values_list("pk", flat=True)),
            "dataflow": list(Dataflow.objects.values_list("pk", flat=True)),
            "run": list(Run.objects.filter(status="failed").values_list("pk", flat=True)),
            "account": list(Account.objects.values_list("pk", flat=True)),
        }
        self.visit_everything(roles=("alex", "sam", "mina"))
        # Every Stripe key really was used, so finding none of them anywhere means something.
        for key in (WIZARD_KEY, PASTED_KEY, ACCOUNT_TOKEN, ROTATED_KEY):
            assert key in self.stripe.keys_seen, key
        self.assert_nothing_leaked()

    # -- the task scenarios ------------------------------------------------------------------

    def check_sandbox_connection(self) -> None:
        alex = self.client_for("alex")
        path = f"/sandboxes/{self.world.sandbox.pk}/test/"
        self.request(alex, "POST", path, **HX)
        assert self.run_tasks() == 1
        assert Job.objects.filter(kind="sandbox.test_connection").get().status == "succeeded"
        # The cached token is refused, and IMS then refuses the credentials.
        self.aep.fail(
            "GET",
            "connectionSpecs",
            401,
            {"error_code": "401013", "message": "Oauth token is not valid"},
        )
        self.aep.fail(
            "POST",
            "/ims/token/v3",
            401,
            {"error": "invalid_client", "error_description": "invalid client_secret"},
        )
        self.request(alex, "POST", path)
        self.run_tasks()
        failed = Job.objects.filter(kind="sandbox.test_connection", status="failed").get()
        assert "refused the credentials" in failed.error
        # The secret did travel: to IMS, and only there.
        token_posts = [r for r in self.aep.requests if r.url.endswith("/ims/token/v3")]
        assert all(SANDBOX_SECRET in str(r.body) for r in token_posts)

    def wizard_from_key_to_dataflows(self) -> None:
        mina, sandbox = self.client_for("mina"), self.world.sandbox
        start = {
            "sandbox": sandbox.pk,
            "account_mode": "new",
            "account_name": "Acme leak",
            "access_token": WIZARD_KEY,
        }
        response = self.request(mina, "POST", "/wizard/new/", start)
        draft = Draft.objects.get(account_name="Acme leak")
        assert response.status_code == 302
        self.run_tasks()  # the key probe
        draft.refresh_from_db()
        assert draft.probe["subscriptions"]["status"] == "readable"
        base = f"/wizard/{draft.pk}"
        self.request(mina, "POST", f"{base}/account/connect/", **HX)
        self.run_tasks()
        resources = {
            "resource_paths": ["charges", "customers"],
            "name_charges": "Leak charges",
            "name_customers": "Leak customers",
        }
        self.request(mina, "POST", f"{base}/resources/", resources)
        self.run_tasks()  # explore
        self.request(mina, "POST", f"{base}/explore/", {"action": "continue"})
        datasets = {
            "mode_charges": "new",
            "name_charges": "Leak charges data",
            "mode_customers": "new",
            "name_customers": "Leak customers data",
        }
        self.request(mina, "POST", f"{base}/dataset/", datasets)
        draft.refresh_from_db()
        for path in ("charges", "customers"):
            self.request(
                mina,
                "POST",
                f"{base}/mapping/{path}/",
                formset_post(draft.mappings[path], "validate"),
            )
            self.run_tasks()
            self.request(
                mina, "POST", f"{base}/mapping/{path}/", formset_post(draft.mappings[path], "next")
            )
        schedule = {
            "frequency": "hour",
            "interval": "1",
            "start_time": "2030-01-01T09:00",
            "time_zone": "UTC",
            "backfill": "on",
            "action": "next",
        }
        self.request(mina, "POST", f"{base}/schedule/", schedule)
        self.run_tasks()  # the backfill estimate, with the key
        self.request(mina, "POST", f"{base}/review/")
        self.run_tasks()  # provisioning
        draft.refresh_from_db()
        assert draft.status == Draft.Status.DONE, draft.error
        assert not draft.access_token  # forgotten once AEP holds it
        self.request(mina, "GET", f"{base}/done/")

    def wizard_provisioning_that_fails_then_is_discarded(self) -> None:
        mina, draft = self.client_for("mina"), self.world.draft
        self.wizard_aep.fail(
            "create_flow", ServerError("flow service is down", 500, "req-leak-1"), count=5
        )
        self.request(mina, "POST", f"/wizard/{draft.pk}/review/")
        self.run_tasks()
        draft.refresh_from_db()
        assert draft.status == Draft.Status.FAILED
        self.request(mina, "GET", f"/wizard/{draft.pk}/provisioning/")
        self.request(mina, "POST", f"/wizard/{draft.pk}/discard/", **HX)
        self.run_tasks()
        draft.refresh_from_db()
        assert draft.status == Draft.Status.DISCARDED
        assert not draft.access_token

    def sync_and_alert_deliveries(self) -> None:
        dataflow = self.world.dataflow
        Dataflow.objects.filter(pk=dataflow.pk).update(
            next_sync_at=timezone.now() - timedelta(minutes=1)
        )
        sync_dataflow(dataflow.pk)
        self.run_tasks()  # alert deliveries: the webhook fails once, then is sent
        for delivery in AlertDelivery.objects.filter(status="pending"):
            with contextlib.suppress(Retry):  # the retry Celery would have run later
                deliver_alert(delivery.pk)
        assert Run.objects.filter(run_id__endswith="-failed").exists()
        self.aep.fail(
            "GET",
            "/runs",
            500,
            {"title": "Internal error", "status": 500, "report": {"request-id": "req-leak-2"}},
        )
        Dataflow.objects.filter(pk=dataflow.pk).update(
            next_sync_at=timezone.now() - timedelta(minutes=1)
        )
        sync_dataflow(dataflow.pk)

    def reconciliations(self) -> None:
        sam, mina = self.client_for("sam"), self.client_for("mina")
        today = timezone.now().date()
        days = {"first_day": (today - timedelta(days=1)).isoformat(), "last_day": today.isoformat()}
        path = f"/dataflows/{self.world.dataflow.pk}/reconcile/"
        self.request(sam, "POST", path, {**days, "stripe_key": PASTED_KEY})
        self.run_tasks()
        self.stripe.refused.add(PASTED_KEY)
        self.request(sam, "POST", path, {**days, "stripe_key": PASTED_KEY})
        self.run_tasks()
        self.request(mina, "POST", path, days)  # the account's stored key
        self.run_tasks()
        jobs = Job.objects.filter(kind="dataflow.reconcile").exclude(status="queued")
        assert sorted(jobs.values_list("status", flat=True)) == ["failed", "succeeded", "succeeded"]
        assert (
            not Reconciliation.objects.exclude(pasted_key="").exclude(job__status="queued").exists()
        )
        self.request(sam, "GET", f"/dataflows/{self.world.dataflow.pk}/reconcile/status/", **HX)

    def key_rotations(self) -> None:
        sam, account = self.client_for("sam"), self.world.account
        rotate = {"new_key": ROTATED_KEY, "reason": "rolled in Stripe", "ticket": "SUP-9"}
        self.request(sam, "POST", f"/ops/accounts/{account.pk}/rotate/", rotate)
        self.run_tasks()  # the preview: the new key is checked against Stripe
        operation = Operation.objects.filter(kind="account.rotate_key").order_by("-created").first()
        assert operation.status == Operation.Status.AWAITING_CONFIRMATION, operation.error
        self.aep.fail("PATCH", "/connections/", 500, {"title": "Internal error", "status": 500})
        self.request(
            sam, "POST", f"/ops/operations/{operation.pk}/confirm/", {"accept_losses": "on"}
        )
        self.run_tasks()
        operation.refresh_from_db()
        assert operation.status == Operation.Status.FAILED
        self.request(sam, "POST", f"/ops/operations/{operation.pk}/resume/", **HX)
        self.run_tasks()
        operation.refresh_from_db()
        assert operation.status == Operation.Status.SUCCEEDED, operation.error
        assert not operation.secret
        # A key Stripe refuses: the preview says so without showing it.
        self.stripe.refused.add(ROTATED_KEY)
        self.request(sam, "POST", f"/ops/accounts/{account.pk}/rotate/", rotate)
        self.run_tasks()

    def a_malformed_key_in_the_wizard_and_a_rotation(self) -> None:
        """A key with a line break is refused by the forms, and the refusal does not echo it."""
        mina, sam, sandbox = self.client_for("mina"), self.client_for("sam"), self.world.sandbox
        start = {
            "sandbox": sandbox.pk,
            "account_mode": "new",
            "account_name": "Broken key",
            "access_token": MALFORMED_KEY,
        }
        self.request(mina, "POST", "/wizard/new/", start)
        self.run_tasks()
        assert not Draft.objects.filter(account_name="Broken key").exists()
        rotations = Operation.objects.filter(kind="account.rotate_key").count()
        rotate = {"new_key": MALFORMED_KEY, "reason": "rolled in Stripe"}
        self.request(sam, "POST", f"/ops/accounts/{self.world.account.pk}/rotate/", rotate)
        self.run_tasks()
        assert Operation.objects.filter(kind="account.rotate_key").count() == rotations


# -- the search itself -----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CANARIES))
def test_the_search_finds_a_canary_in_any_encoding_but_not_its_last_four(name):
    secret = CANARIES[name]
    for text in (
        f"key={secret}",
        quote(secret, safe=""),
        "x" + base64.b64encode(f"..{secret}..".encode()).decode(),
        base64.urlsafe_b64encode(f"{secret}".encode()).decode(),
        json.dumps({"k": secret}),
    ):
        assert leaks_in(text) == [name], text
    assert leaks_in(f"ends in …{secret[-4:]}") == []
