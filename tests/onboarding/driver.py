"""Drive the wizard through its pages with Django's test client, waiting for the real worker.

Used by the integration and fault tests, which run against the AEP emulator and the Stripe
stand-in over HTTP with a real Celery worker. `run_with_retries` drives the provision task
alone, in this process.
"""

from __future__ import annotations

from datetime import UTC, datetime
from unittest.mock import patch

from django.db import connection
from django.test import Client

from core.models import Job
from monitoring.models import Sandbox
from onboarding import tasks
from onboarding.models import Draft
from tests.base import wait_for

WAIT_SECONDS = 60


def relax_sqlite_locks() -> None:
    """Let this thread's polling reads not lock tables the worker's threads write.

    The SQLite test database is in memory with a shared cache, where a reader's table lock
    makes a concurrent writer fail at once instead of waiting (PostgreSQL has no such issue).
    """
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA read_uncommitted = 1")


def wait_job(kind: str, draft: Draft, suffix: str = "") -> Job:
    def finished():
        job = Job.objects.filter(kind=kind, target=f"draft:{draft.pk}{suffix}").first()
        return job if job and job.is_done else None

    job = wait_for(finished, kind, WAIT_SECONDS)
    assert job.status == Job.Status.SUCCEEDED, (kind, job.error)
    return job


def wait_draft(draft: Draft, *statuses: str) -> Draft:
    def reached():
        draft.refresh_from_db()
        return draft.status in statuses

    wait_for(reached, f"draft status in {statuses}", WAIT_SECONDS)
    return draft


def formset_post(rows: list[dict], action: str) -> dict[str, str]:
    data = {
        "rows-TOTAL_FORMS": str(len(rows)),
        "rows-INITIAL_FORMS": str(len(rows)),
        "rows-MIN_NUM_FORMS": "0",
        "rows-MAX_NUM_FORMS": "150",
        "action": action,
    }
    for i, row in enumerate(rows):
        data[f"rows-{i}-source"] = row["source"]
        data[f"rows-{i}-destination"] = row["destination"]
        data[f"rows-{i}-kind"] = row.get("kind") or "ATTRIBUTE"
        data[f"rows-{i}-type"] = row.get("type") or ""
        if row.get("identity"):
            data[f"rows-{i}-identity"] = "on"
    return data


def ok(response, where: str) -> None:
    assert response.status_code in (200, 302), (where, response.status_code)


def run_until_review(
    client: Client,
    sandbox: Sandbox,
    key: str,
    paths: list[str],
    *,
    check_mapping: bool = True,
    account_name: str = "Acme EU",
    default_names: bool = False,
) -> Draft:
    """Steps 1-6 as a user would, returning the draft ready for Create.

    Dataflow and dataset names are unique to the draft, unless `default_names` keeps the ones
    the pages propose.
    """
    ok(
        client.post(
            "/wizard/new/",
            {
                "sandbox": sandbox.pk,
                "account_mode": "new",
                "account_name": account_name,
                "access_token": key,
            },
        ),
        "account",
    )
    draft = Draft.objects.latest("created")
    wait_job("wizard.probe", draft)
    ok(client.post(f"/wizard/{draft.pk}/account/connect/"), "connect")
    wait_job("wizard.connect", draft)
    names = {f"name_{p}": f"Stripe {p} {draft.pk.hex[:6]}" for p in paths}
    if default_names:
        names = proposed(client, f"/wizard/{draft.pk}/resources/", names)
    ok(client.post(f"/wizard/{draft.pk}/resources/", {"resource_paths": paths, **names}), "res")
    wait_job("wizard.explore", draft)
    ok(client.post(f"/wizard/{draft.pk}/explore/", {"action": "continue"}), "explore")
    datasets = {}
    for path in paths:
        datasets[f"mode_{path}"] = "new"
        datasets[f"name_{path}"] = f"Stripe {path} {draft.pk.hex[:6]}"
    if default_names:
        datasets.update(proposed(client, f"/wizard/{draft.pk}/dataset/", datasets))
    ok(client.post(f"/wizard/{draft.pk}/dataset/", datasets), "dataset")
    draft.refresh_from_db()
    for path in paths:
        url = f"/wizard/{draft.pk}/mapping/{path}/"
        rows = draft.mappings[path]
        if check_mapping:
            ok(client.post(url, formset_post(rows, "validate")), "validate")
            job = wait_job("wizard.check_mapping", draft, f":{path}")
            draft.refresh_from_db()
            failed = [r for r in draft.mapping_checks[path]["rows"] if not r["ok"]]
            assert not failed, failed
            job.delete()
        ok(client.post(url, formset_post(rows, "next")), "mapping next")
    start = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M")
    schedule = {
        "frequency": "minute",
        "interval": "15",
        "start_time": start,
        "time_zone": "UTC",
        "backfill": "on",
        "action": "next",
    }
    ok(client.post(f"/wizard/{draft.pk}/schedule/", schedule), "schedule")
    draft.refresh_from_db()
    return draft


def proposed(client: Client, url: str, fields: dict[str, str]) -> dict[str, str]:
    """The values the page at `url` proposes for the `name_*` fields among `fields`."""
    initial = client.get(url).context["form"].initial
    return {name: initial[name] for name in fields if name.startswith("name_")}


def run_with_retries(draft_pk: str, attempt: int) -> list[float]:
    """Run the provision task as Celery runs it eagerly, following each retry it asks for at
    once; returns the countdown of each retry."""
    with patch.object(tasks.provision, "retry", wraps=tasks.provision.retry) as retry:
        tasks.provision.apply((draft_pk, attempt)).get()
    return [c.kwargs["countdown"] for c in retry.call_args_list]
