"""Wizard work done by Celery workers: every Stripe and AEP call of the wizard happens here.

Short tasks (probe, connect, explore, datasets, mapping checks, estimate) record their outcome
on a core.Job the page polls; provisioning and discarding record theirs on the Draft and its
ProvisioningSteps. Tasks take primary keys and re-read rows. POSTing tasks keep Celery's early
ack: a redelivered message must not create twice (provisioning also checks before it creates).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import stripe
from celery import shared_task
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from aep import AEPClient, AEPError, BadRequestError, payloads
from core import profiling
from core.explain import (
    ExplainedError,
    describe_stripe_error,
    explain_aep_error,
    explain_mapping_refusal,
)
from core.jobs import perform
from core.mapping import mapping_set_body
from core.models import Job
from core.notify import email_person
from core.permissions import may_run_wizard
from core.stripe import count_created_before, probe_key
from monitoring.audit import record
from monitoring.clients import client_for
from monitoring.models import Dataflow, Sandbox
from onboarding import mapping, provisioning
from onboarding.housekeeping import forget_abandoned_keys
from onboarding.models import Draft

logger = logging.getLogger(__name__)

PROBE = "wizard.probe"
CONNECT = "wizard.connect"
EXPLORE = "wizard.explore"
DATASETS = "wizard.datasets"
CHECK_MAPPING = "wizard.check_mapping"
IMPORT_MAPPING = "wizard.import_mapping"
ESTIMATE = "wizard.estimate"
NAMESPACES = "wizard.namespaces"
DATASET_LIST_LIMIT = 500
PREVIEW_RECORDS = 5


def target(draft: Draft | str) -> str:
    return f"draft:{draft.pk if isinstance(draft, Draft) else draft}"


def run_job(job_id: str, work: Callable[[Job], dict]) -> None:
    """`core.jobs.perform`, after re-checking that whoever started the job may still do so."""
    job = Job.objects.select_related("created_by").get(pk=job_id)
    if not may_run_wizard(job.created_by):
        if job.claim():
            job.fail(_("Only Marketing Ops and Admins may use the onboarding wizard."))
        return
    perform(job_id, work)


def _draft(job: Job) -> Draft:
    # Mapping jobs target "draft:<pk>:<resource>", so that each resource has its own status.
    pk = job.target.removeprefix("draft:").split(":")[0]
    return Draft.objects.select_related("sandbox", "account").get(pk=pk)


# -- step 1: probe and connect -----------------------------------------------------------------


@shared_task(name="onboarding.housekeeping", ignore_result=True)
def housekeeping() -> int:
    """Beat: forget the Stripe keys of abandoned drafts (onboarding/housekeeping.py)."""
    return forget_abandoned_keys()


@shared_task(name="onboarding.probe_stripe_key")
def probe_stripe_key(job_id: str) -> None:
    run_job(job_id, _probe)


def _probe(job: Job) -> dict:
    draft = _draft(job)
    result = probe_key(draft.access_token.reveal(), settings.STRIPE_API_BASE)
    Draft.objects.filter(pk=draft.pk).update(
        probe=result.as_dict(),
        probed_at=timezone.now(),
        key_kind=result.key_kind,
        livemode=result.livemode,
    )
    return {"readable": result.readable, "key_error": result.key_error}


@shared_task(name="onboarding.connect_account")
def connect_account(job_id: str) -> None:
    run_job(job_id, _connect)


def _connect(job: Job) -> dict:
    """Create the base connection holding the Stripe key (once per draft)."""
    draft = _draft(job)
    if draft.connection_id:
        return {"connection_id": draft.connection_id}
    client = client_for(draft.sandbox)
    body = payloads.base_connection(
        name=draft.account_name,
        description=draft.account_description,
        auth_params={"accessToken": draft.access_token.reveal()},
    )
    created = client.flowservice.create_connection(body)
    kept = Draft.objects.filter(pk=draft.pk, connection_id="").update(
        connection_id=created.id, connection_etag=created.etag or ""
    )
    if not kept:
        # Another connect of this draft stored its connection first: this one is a duplicate.
        client.flowservice.delete_connection(created.id)
        draft.refresh_from_db(fields=["connection_id"])
        return {"connection_id": draft.connection_id}
    # Connecting completes step 1.
    Draft.objects.filter(pk=draft.pk, reached__lt=0).update(reached=0)
    record(
        job.created_by,
        "wizard.create",
        target_type="account",
        target_id=created.id,
        target_label=draft.account_name,
        sandbox=draft.sandbox,
        after=body,  # the key is redacted when recorded
    )
    return {"connection_id": created.id}


# -- step 3: explore ---------------------------------------------------------------------------


def ensure_tenant(client: AEPClient, sandbox: Sandbox) -> str:
    if not sandbox.tenant_id:
        sandbox.tenant_id = client.schemas.get_stats().tenant_id
        Sandbox.objects.filter(pk=sandbox.pk).update(tenant_id=sandbox.tenant_id)
    return sandbox.tenant_id


@shared_task(name="onboarding.explore_resources")
def explore_resources(job_id: str) -> None:
    run_job(job_id, _explore)


def _explore(job: Job) -> dict:
    draft = _draft(job)
    client = client_for(draft.sandbox)
    ensure_tenant(client, draft.sandbox)
    explored: dict[str, dict[str, Any]] = {}
    for path in draft.resource_paths:
        structure = client.flowservice.explore_connection(draft.base_connection_id, path)
        sample = client.flowservice.explore_connection(draft.base_connection_id, path, preview=True)
        records = [r for r in sample.data if isinstance(r, dict)]
        fields = profiling.profile_fields(structure.schema, records)
        explored[path] = {
            "schema": structure.schema,
            "fields": fields,
            "sample": records[: profiling.SAMPLE_ROWS_KEPT],
            "sample_size": len(records),
        }
    draft.refresh_from_db()
    draft.explore = explored
    for path in draft.resource_paths:
        if not draft.mappings.get(path):
            draft.mappings[path] = mapping.default_rows(
                draft.tenant_namespace, path, explored[path]["fields"]
            )
    draft.save(update_fields=["explore", "mappings", "updated"])
    return {path: len(profiling.leaf_fields(e["fields"])) for path, e in explored.items()}


# -- step 4: datasets --------------------------------------------------------------------------


@shared_task(name="onboarding.list_datasets")
def list_datasets(job_id: str) -> None:
    run_job(job_id, _list_datasets)


def _list_datasets(job: Job) -> dict:
    draft = _draft(job)
    client = client_for(draft.sandbox)
    titles = {s.id: s.title for s in client.schemas.list_schemas()}
    choices = []
    for dataset in client.catalog.list_datasets(properties=["name", "schemaRef"]):
        choices.append(
            {
                "id": dataset.id,
                "name": dataset.name,
                "schema_id": dataset.schema_id or "",
                "schema_title": titles.get(dataset.schema_id or "", ""),
            }
        )
        if len(choices) >= DATASET_LIST_LIMIT:
            break
    choices.sort(key=lambda c: c["name"].lower())
    Draft.objects.filter(pk=draft.pk).update(dataset_choices=choices)
    return {"datasets": len(choices)}


@shared_task(name="onboarding.list_namespaces")
def list_namespaces(job_id: str) -> None:
    run_job(job_id, _list_namespaces)


def _list_namespaces(job: Job) -> dict:
    """The sandbox's identity namespaces, for the identity rows of the mapping step."""
    draft = _draft(job)
    found = client_for(draft.sandbox).identity.list_namespaces()
    choices = [
        {"code": ns.code, "name": ns.name, "custom": ns.custom, "id_type": ns.id_type}
        for ns in found
        if ns.code
    ]
    choices.sort(key=lambda c: (bool(c["custom"]), str(c["name"]).lower()))
    Sandbox.objects.filter(pk=draft.sandbox_id).update(identity_namespaces=choices)
    return {"namespaces": len(choices)}


# -- step 5: mapping checks and imports --------------------------------------------------------


@shared_task(name="onboarding.check_mapping")
def check_mapping(job_id: str, resource_path: str, action: str) -> None:
    run_job(job_id, lambda job: _check_mapping(job, resource_path, action))


def check_body(draft: Draft, path: str) -> dict:
    rules = mapping.rules(draft.mappings.get(path) or [])
    return mapping_set_body(provisioning.schema_for_checks(draft, path), rules)


def _check_mapping(job: Job, path: str, action: str) -> dict:
    draft = _draft(job)
    client = client_for(draft.sandbox)
    body = check_body(draft, path)
    try:
        outcome = _ask_data_prep(client, draft, path, body, action)
    except BadRequestError as exc:
        raise ExplainedError(
            explain_mapping_refusal(exc, schema_exists="outputSchema" in body),
            code=exc.code or "",
            request_id=exc.request_id or "",
        ) from exc
    draft.refresh_from_db()
    draft.mapping_checks[path] = outcome
    draft.save(update_fields=["mapping_checks", "updated"])
    if action == "preview":
        return {"records": len(outcome["records"])}
    return {"failed": sum(1 for r in outcome["rows"] if not r["ok"])}


def _ask_data_prep(
    client: AEPClient, draft: Draft, path: str, body: dict, action: str
) -> dict[str, Any]:
    """Data Prep's validate or preview of the mapping rows, as the page shows them."""
    rows = draft.mappings.get(path) or []
    outcome: dict[str, Any]
    if action == "preview":
        records = (draft.explore.get(path) or {}).get("sample", [])[:PREVIEW_RECORDS]
        previews = client.dataprep.preview_mapping_set(body, records, require_schema=False)
        outcome = {
            "action": "preview",
            "records": [p.data for p in previews],
            "errors": [list(p.errors) for p in previews],
        }
    else:
        answers = client.dataprep.validate_mapping_set(body, require_schema=False)
        outcome = {
            "action": "validate",
            "rows": [
                {
                    "source": row["source"],
                    "destination": row["destination"],
                    "ok": answer.ok,
                    "errors": [e.get("message", "") for e in answer.errors],
                }
                for row, answer in zip(rows, answers, strict=False)
            ],
        }
    return outcome


@shared_task(name="onboarding.import_flow_mapping")
def import_flow_mapping(job_id: str, resource_path: str, dataflow_pk: int) -> None:
    run_job(job_id, lambda job: _import_flow_mapping(job, resource_path, dataflow_pk))


def _import_flow_mapping(job: Job, path: str, dataflow_pk: int) -> dict:
    draft = _draft(job)
    flow = Dataflow.objects.get(pk=dataflow_pk, sandbox=draft.sandbox)
    client = client_for(draft.sandbox)
    version = int(flow.mapping_version) if flow.mapping_version.isdigit() else None
    mapping_set = client.dataprep.get_mapping_set(flow.mapping_set_id, version=version)
    rows = mapping.rows_from_mapping_set(mapping_set.mappings)
    draft.refresh_from_db()
    draft.mappings[path] = rows
    draft.mapping_checks.pop(path, None)
    draft.save(update_fields=["mappings", "mapping_checks", "updated"])
    return {"rows": len(rows)}


# -- step 6: backfill estimate -----------------------------------------------------------------


@shared_task(name="onboarding.estimate_backfill")
def estimate_backfill(job_id: str) -> None:
    run_job(job_id, _estimate)


def _estimate(job: Job) -> dict:
    draft = _draft(job)
    token = draft.access_token.reveal()
    before = draft.start_time or timezone.now()
    estimates: dict[str, dict[str, Any]] = {}
    for path in draft.resource_paths:
        try:
            count, more = count_created_before(token, settings.STRIPE_API_BASE, path, before)
        except stripe.StripeError as exc:
            estimates[path] = {"error": describe_stripe_error(exc)}
        else:
            estimates[path] = {"count": count, "more": more}
    Draft.objects.filter(pk=draft.pk).update(estimate=estimates)
    return {"resources": len(estimates)}


# -- provisioning ------------------------------------------------------------------------------


# Retries are bounded per step by ONBOARDING_STEP_RETRIES (provisioning.RetryLater), not here.
@shared_task(name="onboarding.provision", bind=True, max_retries=None)
def provision(
    self,
    draft_pk: str,
    attempt: int,
    held_since: str | None = None,
    retry_step: int | None = None,
    retries_used: int = 0,
) -> None:
    """Provision the draft's attempt; a retry of a step (see provisioning.RetryLater) arrives
    as this task again, with the heartbeat it must find and the retries already used."""
    held = datetime.fromisoformat(held_since) if held_since else None
    if not provisioning.claim(draft_pk, attempt, held):
        return  # another worker has this attempt, or the user started a newer one
    draft = Draft.objects.select_related("sandbox", "account", "created_by").get(pk=draft_pk)
    if not may_run_wizard(draft.created_by):
        _stop(
            draft,
            _("The draft's creator may no longer use the onboarding wizard."),
            attempt=attempt,
        )
        return
    try:
        client = client_for(draft.sandbox)
        ensure_tenant(client, draft.sandbox)
    except AEPError as exc:
        provisioning.note_aep_error(exc, "provisioning of draft %s could not start", draft.pk)
        _stop(draft, explain_aep_error(exc), attempt=attempt)
        return
    retries = provisioning.StepRetries(retry_step, retries_used)
    try:
        provisioning.provision(client, draft, attempt, retries)
    except provisioning.RetryLater as later:
        raise self.retry(
            args=(draft_pk, attempt),
            kwargs={
                "held_since": later.held_since.isoformat(),
                "retry_step": later.retries.step_pk,
                "retries_used": later.retries.used,
            },
            countdown=later.countdown,
        ) from None


def _stop(
    draft: Draft,
    message: str,
    status: str = Draft.Status.PROVISIONING,
    attempt: int | None = None,
) -> None:
    """Fail the draft's `attempt`, unless a newer attempt (or a person) has taken the draft
    over meanwhile. None (a discard queued before discards were numbered) fails any."""
    Draft.objects.filter(pk=draft.pk, status=status, **_of_attempt(attempt)).update(
        status=Draft.Status.FAILED, error=message, heartbeat=None
    )


@shared_task(name="onboarding.discard_draft")
def discard_draft(draft_pk: str, attempt: int | None = None) -> None:
    """Remove what the draft created. The attempt number (messages queued before it existed
    carry none) fences the discard: one superseded by a Resume or a newer discard stops."""
    claimed = Draft.objects.filter(
        pk=draft_pk, status=Draft.Status.DISCARDING, **_attempt_filter(attempt)
    ).update(heartbeat=timezone.now())
    if not claimed:
        return  # another worker has this discard, or a person resumed the draft meanwhile
    draft = Draft.objects.select_related("sandbox", "account", "created_by").get(pk=draft_pk)
    try:
        if not provisioning.discard(client_for(draft.sandbox), draft, attempt):
            return
    except AEPError as exc:
        provisioning.note_aep_error(exc, "discarding draft %s stopped", draft_pk)
        why = _("Could not remove everything: %(why)s") % {"why": explain_aep_error(exc)}
        _stop(draft, why, Draft.Status.DISCARDING, attempt)
        return
    except Exception:
        logger.exception("discarding draft %s failed", draft_pk)
        why = _("Something went wrong on our side while discarding. Try again.")
        _stop(draft, why, Draft.Status.DISCARDING, attempt)
        return
    Draft.objects.filter(
        pk=draft_pk, status=Draft.Status.DISCARDING, **_of_attempt(attempt)
    ).update(status=Draft.Status.DISCARDED, access_token="", heartbeat=None, error="")


def _of_attempt(attempt: int | None) -> dict[str, Any]:
    return {} if attempt is None else {"attempt": attempt}


def _attempt_filter(attempt: int | None) -> dict[str, Any]:
    """Claim a numbered attempt only while no worker has it (a redelivered message finds the
    heartbeat set); an unnumbered message claims whatever discard is under way."""
    return {} if attempt is None else {**_of_attempt(attempt), "heartbeat": None}


@shared_task(name="onboarding.resume_stalled")
def resume_stalled() -> int:
    """Beat: resume provisioning and discards whose worker went away; after
    settings.AUTOMATIC_RESUMES tries, fail them and tell the draft's creator."""
    return provisioning.resume_stalled(provision, discard_draft, tell_owner)


def tell_owner(draft: Draft) -> None:
    url = f"{settings.SITE_URL}{reverse('onboarding:provisioning', args=[draft.pk])}"

    def message() -> tuple[str, str]:
        subject = _("[Stripe Sources] Creating “%(title)s” stopped") % {"title": draft.title}
        body = _(
            "The background worker stopped several times while working on this draft, so it "
            "was stopped. Open it to retry or discard it:"
        )
        return subject, f"{body}\n\n{url}"

    email_person(draft.created_by, message)
