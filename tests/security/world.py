"""One sandbox of everything the pages show, seeded with the canary secrets.

Every secret-holding column gets its canary: the sandbox's client secret, the account's stored
Stripe key, a reconciliation's pasted key, a rotation's new key, a wizard draft's key and an
alert rule's webhook secret. Everything else (flows, runs, alerts, operations, jobs, audit
events) is there so that every page has something to render.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib.auth.models import User
from django.utils import timezone

from api.models import ApiToken
from api.tokens import issue
from core.models import Job
from core.roles import ADMIN, MARKETING_OPS, SUPPORT, ensure_roles
from monitoring.audit import record
from monitoring.models import (
    Account,
    Alert,
    AlertDelivery,
    AlertRule,
    Dataflow,
    Reconciliation,
    Run,
    Sandbox,
    Subscription,
)
from monitoring.webhook_targets import label
from onboarding.models import STEP_NAMES, Draft
from operations import service, steps
from operations.models import Operation
from tests.base import make_sandbox, make_user
from tests.onboarding.factories import READABLE_ALL, ready_draft
from tests.operations.factories import make_account, make_dataflow, make_run
from tests.security.canaries import (
    ACCOUNT_TOKEN,
    PASTED_KEY,
    ROTATED_KEY,
    SANDBOX_SECRET,
    WEBHOOK_SECRET,
    WIZARD_KEY,
)
from tests.security.fakes import AEP_URL, WEBHOOK_URL

ROLES = ("mina", "alex", "sam", "nora")


@dataclass
class World:
    users: dict[str, User]
    sandbox: Sandbox
    account: Account
    dataflow: Dataflow
    run: Run
    draft: Draft
    rotation: Operation
    rule: AlertRule
    alert: Alert
    job: Job
    api_token: ApiToken
    extra_ids: dict[str, list] = field(default_factory=dict)

    @property
    def ids(self) -> dict[str, list]:
        """Ids to fill URL parameters with, by kind of object."""
        ids: dict[str, list] = {
            "sandbox": [self.sandbox.pk],
            "account": [self.account.pk],
            "dataflow": [self.dataflow.pk],
            "run": [self.run.pk],
            "draft": [self.draft.pk],
            "operation": [self.rotation.pk],
            "rule": [self.rule.pk],
            "job": [self.job.pk],
            "api_token": [self.api_token.pk],
            "resource": ["charges"],
        }
        for kind, extra in self.extra_ids.items():
            ids[kind] = [*ids[kind], *(pk for pk in extra if pk not in ids[kind])]
        return ids


def make_users() -> dict[str, User]:
    ensure_roles()
    users = {
        "mina": make_user("mina", MARKETING_OPS),
        "alex": make_user("alex", ADMIN),
        "sam": make_user("sam", SUPPORT),
        "nora": make_user("nora"),
    }
    root = make_user("root")
    User.objects.filter(pk=root.pk).update(is_staff=True, is_superuser=True)
    users["root"] = User.objects.get(pk=root.pk)
    return users


def seed_world() -> World:
    users = make_users()
    mina, alex, sam = users["mina"], users["alex"], users["sam"]
    sandbox = make_sandbox(
        display_name="Leak test",
        client_id=f"leak-{uuid.uuid4().hex}",
        client_secret=SANDBOX_SECRET,
        platform_url=AEP_URL,
        ims_url=AEP_URL,
        tenant_id="acme",
    )
    account = make_account(
        sandbox,
        access_token=ACCOUNT_TOKEN,
        token_last4=ACCOUNT_TOKEN[-4:],
        key_kind="restricted",
        probe_result=READABLE_ALL,
        created_by=mina,
    )
    dataflow = make_dataflow(account, "charges", owner=mina, name="Acme charges")
    make_run(dataflow, "success", hours_ago=3, input_records=10, output_records=10)
    run = make_run(
        dataflow,
        "failed",
        errors=[{"code": "CONNECTOR-2001-500", "message": "Stripe refused", "recordCount": 2}],
    )
    Subscription.objects.create(user=mina, dataflow=dataflow)
    draft = ready_draft(mina, sandbox, paths=("charges",), access_token=WIZARD_KEY)
    Draft.objects.filter(pk=draft.pk).update(
        token_last4=WIZARD_KEY[-4:], reached=STEP_NAMES.index("review")
    )
    rotation = _awaiting_rotation(sam, account)
    rule = AlertRule.objects.create(
        dataflow=dataflow,
        kind=AlertRule.Kind.RUN_FAILED,
        emails="ops@example.org",
        webhook_url=WEBHOOK_URL,
        webhook_secret=WEBHOOK_SECRET,
        created_by=alex,
    )
    alert = Alert.objects.create(
        rule=rule, dataflow=dataflow, kind=rule.kind, summary="Run failed", details={}
    )
    AlertDelivery.objects.create(
        alert=alert, event="opened", channel="webhook", target=label(WEBHOOK_URL)
    )
    job = Job.objects.create(
        kind="operations.load_mapping",
        target=f"dataflow:{dataflow.pk}",
        created_by=alex,
        status=Job.Status.SUCCEEDED,
        result={"rules": "data.id -> _acme.charges_data.id", "version": 0, "etag": '"flow-1"'},
        finished=timezone.now(),
    )
    recon_job = Job.objects.create(
        kind="dataflow.reconcile", target=f"dataflow:{dataflow.pk}", created_by=sam
    )
    today = timezone.now().date()
    Reconciliation.objects.create(
        job=recon_job,
        dataflow=dataflow,
        window_start=today - timedelta(days=2),
        window_end=today,
        pasted_key=PASTED_KEY,
    )
    record(
        alex,
        "sandbox.update",
        target_type="sandbox",
        target_id=str(sandbox.pk),
        sandbox=sandbox,
        before={"client_secret": "set"},
        after={"client_secret": "set"},
    )
    return World(
        users=users,
        sandbox=Sandbox.objects.get(pk=sandbox.pk),
        account=Account.objects.get(pk=account.pk),
        dataflow=Dataflow.objects.get(pk=dataflow.pk),
        run=run,
        draft=Draft.objects.get(pk=draft.pk),
        rotation=rotation,
        rule=rule,
        alert=alert,
        job=job,
        api_token=issue(mina, "leak test")[0],
    )


def _awaiting_rotation(actor: User, account: Account) -> Operation:
    """A key rotation whose preview is done: the new key waits, encrypted, for confirmation."""
    operation = service.create(
        Operation.Kind.ACCOUNT_ROTATE_KEY,
        actor=actor,
        account=account,
        reason="Key rolled in Stripe",
        ticket="SUP-1",
        secret=ROTATED_KEY,
        steps=steps.rotate_key_steps(account),
    )
    preview = {
        "check": {
            "key_kind": "restricted",
            "livemode": False,
            "key_ending": ROTATED_KEY[-4:],
            "resources": READABLE_ALL,
            "key_error": "",
        },
        "readable": list(READABLE_ALL),
        "losing": [],
        "usable": True,
        "livemode_changes": False,
    }
    operation.save_fields(status=Operation.Status.AWAITING_CONFIRMATION, preview=preview)
    return Operation.objects.get(pk=operation.pk)
