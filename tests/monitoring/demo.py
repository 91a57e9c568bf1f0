"""A small, realistic monitoring picture: accounts, flows in every state, runs with errors.

Used by the browser tests and for screenshots; everything derived (health, chart buckets) is
computed by the product's own code, as the sync would.
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.utils import timezone

from core.models import Job
from monitoring import alerts, rollups
from monitoring.health import refresh_health
from monitoring.models import AlertRule, Dataflow, Reconciliation, Run, Sandbox
from tests.monitoring.factories import make_account, make_dataflow, make_run

MAPPER_ERRORS = [
    {
        "code": "INGEST-1212-400",
        "message": (
            "Encountered 3 errors in the data. Successfully ingested 57 rows. "
            "Review the associated diagnostic files for additional details."
        ),
    },
    {"code": "MAPPER-3700-400", "message": "Mapper Transform Error", "recordCount": 3},
]
STRIPE_401 = [
    {
        "code": "CONNECTOR-1001-401",
        "message": (
            "Stripe rejected the access token (HTTP 401): "
            "Invalid API Key provided: sk_test_****0001"
        ),
    }
]


def build_demo(sandbox: Sandbox, owner=None, seed: int = 7) -> dict[str, Dataflow]:
    rng = random.Random(seed)
    acme = make_account(sandbox, name="Acme Payments (live)", token_last4="0001", key_kind="secret")
    globex = make_account(
        sandbox, name="Globex test account", token_last4="9f3c", key_kind="restricted"
    )
    flows = {
        "charges": make_dataflow(
            sandbox,
            account=acme,
            name="Acme charges",
            resource_path="charges",
            owner=owner,
            dataset_id="6761d1a2c3e4f5a6b7c8d9e0",
            schema_id="https://ns.adobe.com/stripesources/schemas/3f1c2b",
            mapping_set_id="d41d8cd98f00b204e9800998ecf8427e",
            mapping_version="1",
        ),
        "customers": make_dataflow(
            sandbox,
            account=acme,
            name="Acme customers",
            resource_path="customers",
            frequency="hour",
            interval=1,
        ),
        "refunds": make_dataflow(
            sandbox, account=acme, name="Acme refunds", resource_path="refunds"
        ),
        "subscriptions": make_dataflow(
            sandbox,
            account=globex,
            name="Globex subscriptions",
            resource_path="subscriptions",
            frequency="hour",
            interval=1,
        ),
        "prices": make_dataflow(
            sandbox, account=globex, name="Globex prices", resource_path="prices", enabled=False
        ),
        "balance": make_dataflow(
            sandbox,
            account=globex,
            name="Globex balance transactions",
            resource_path="balance_transactions",
            discovered=True,
        ),
    }
    _runs(flows["charges"], rng, count=60, every=15, partial_every=7)
    _runs(flows["customers"], rng, count=30, every=60)
    _runs(flows["refunds"], rng, count=40, every=15, failing_last=3)
    _runs(flows["subscriptions"], rng, count=20, every=60, stale_hours=6)
    _runs(flows["prices"], rng, count=10, every=15, stale_hours=30)
    _runs(flows["balance"], rng, count=30, every=15)
    for flow in flows.values():
        refresh_health(flow)
        rollups.recompute(
            flow, Run.objects.filter(dataflow=flow).values_list("created_at", flat=True)
        )
    _alerts(flows)
    _reconciliation(flows["charges"], owner)
    return flows


def _alerts(flows: dict[str, Dataflow]) -> None:
    AlertRule.objects.create(kind=AlertRule.Kind.RUN_FAILED)
    AlertRule.objects.create(kind=AlertRule.Kind.LATE)
    AlertRule.objects.create(
        kind=AlertRule.Kind.FAILED_RATIO,
        threshold=0.02,
        dataflow=flows["charges"],
        webhook_url="https://hooks.example.org/stripe-sources",
        webhook_secret="whsec_demo_0123456789abcd",
    )
    for flow in flows.values():
        flow.refresh_from_db()
        alerts.evaluate(flow, deliver=lambda _delivery_pk: None)  # the demo sends nothing


def _reconciliation(flow: Dataflow, user) -> None:
    """A finished check over the last four days, one of them with a gap."""
    today = timezone.now().date()
    days = []
    for back in range(3, -1, -1):
        stripe, aep = (412, 409) if back == 1 else (380 + back * 11, 380 + back * 11)
        day = (today - timedelta(days=back)).isoformat()
        days.append(
            {
                "day": day,
                "stripe": stripe,
                "aep": aep,
                "gap": stripe - aep,
                "windows": 96,
                "uncovered": 0,
            }
        )
    totals = {k: sum(d[k] for d in days) for k in ("stripe", "aep", "gap", "uncovered")}
    job = Job.objects.create(
        kind="dataflow.reconcile", target=f"dataflow:{flow.pk}", created_by=user
    )
    job.claim()
    job.succeed(
        {"days": days, "totals": totals, "truncated": False, "key": "the account's stored key"}
    )
    Reconciliation.objects.create(
        job=job, dataflow=flow, window_start=today - timedelta(days=3), window_end=today
    )


def _runs(flow, rng, *, count, every, partial_every=0, failing_last=0, stale_hours=0):
    for i in range(count):
        ago = timedelta(minutes=every * (count - i) - every + 2, hours=stale_hours)
        failing = i >= count - failing_last
        partial = partial_every and i % partial_every == 3
        read = rng.randint(20, 180)
        failed = 3 if partial else 0
        make_run(
            flow,
            ago=ago,
            status="failed" if failing else ("partialSuccess" if partial else "success"),
            input_records=0 if failing else read,
            output_records=0 if failing else read - failed,
            failed_records=failed,
            errors=STRIPE_401 if failing else (MAPPER_ERRORS if partial else []),
            completed_at=timezone.now() - ago + timedelta(seconds=rng.randint(20, 240)),
        )
