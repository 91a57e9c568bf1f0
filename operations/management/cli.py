"""What the support management commands share: who acts, finding targets, running operations.

Commands run an operation's job in their own process (no worker needed) but through the same
Operation and Job rows as the pages, so the dashboard and the audit trail show them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypedDict

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from core.models import Job
from core.permissions import can_operate
from monitoring.clients import client_for
from monitoring.models import Account, Dataflow
from operations import impact, service, steps
from operations.models import Operation
from operations.tasks import execute_operation, preview_operation

DRY_RUN_DONE = "Dry run: nothing was changed."


def operator(username: str):
    """The user the command acts for; they need a role that may operate."""
    try:
        user = get_user_model().objects.get(username=username)
    except get_user_model().DoesNotExist:
        raise CommandError(f"no user {username!r}") from None
    if not can_operate(user):
        raise CommandError(f"{username} has no role that may change accounts or dataflows")
    return user


def find_dataflow(key: str) -> Dataflow:
    """A dataflow by database id or AEP flow id."""
    queryset = Dataflow.objects.filter(deleted_at=None).select_related("sandbox", "account")
    found = queryset.filter(pk=int(key)) if key.isdigit() else queryset.filter(flow_id=key)
    if len(found) != 1:
        raise CommandError(f"no single dataflow {key!r}")
    return found[0]


def find_account(key: str) -> Account:
    """An account by database id or AEP base connection id."""
    queryset = Account.objects.filter(deleted_at=None).select_related("sandbox")
    found = queryset.filter(pk=int(key)) if key.isdigit() else queryset.filter(connection_id=key)
    if len(found) != 1:
        raise CommandError(f"no single account {key!r}")
    return found[0]


def run_in_process(operation: Operation, say: Callable[[str], None]) -> Operation:
    """Run the operation's next job here and now; report each step as it ended."""
    preview = operation.status == Operation.Status.PREVIEWING
    task = preview_operation if preview else execute_operation
    job = Job.objects.create(
        kind=operation.kind, target=f"operation:{operation.pk}", created_by=operation.actor
    )
    operation.save_fields(job=job)
    task(str(job.pk), str(operation.pk))
    operation.refresh_from_db()
    for step in operation.steps:
        detail = step.get("error") or step.get("note") or ""
        say(f"  [{step['status']:>8}] {step['label']}" + (f" — {detail}" if detail else ""))
    if operation.status in (Operation.Status.FAILED, Operation.Status.CONFLICT):
        raise CommandError(
            f"{operation.get_status_display()}: {operation.error}\n"
            f"Resume it from the page /ops/operations/{operation.pk}/ once the cause is fixed."
        )
    return operation


def describe_steps(steps: list[dict], say: Callable[[str], None]) -> None:
    for number, step in enumerate(steps, start=1):
        say(f"  {number}. {step['label']}")


def run_flow_action(
    kind: str,
    dataflow: Dataflow,
    steps: list[dict],
    *,
    user,
    options: dict,
    write,
    resume_at: datetime | None = None,
) -> Operation:
    """Disable, enable or retry one dataflow as planned, audited like the pages."""
    operation = service.create(
        kind,
        actor=user,
        dataflow=dataflow,
        steps=steps,
        reason=options["reason"],
        ticket=options["ticket"],
        resume_at=resume_at,
    )
    return run_in_process(operation, write)


def add_action_arguments(parser, target: str, target_help: str) -> None:
    """The arguments ops_dataflow and ops_account share: what to do, to what, who and why."""
    parser.add_argument("action", choices=("disable", "enable", "retry", "delete"))
    parser.add_argument(target, help=target_help)
    parser.add_argument("--user", required=True, help="who acts (recorded in the audit)")
    parser.add_argument("--reason", default="", help="why (required to disable or delete)")
    parser.add_argument("--ticket", default="")
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--confirm", default="", help=f"delete: the {target}'s exact name")
    parser.add_argument("--delete-datasets", action="store_true")
    parser.add_argument("--delete-schemas", action="store_true")


def require_reason(options: dict, noun: str) -> None:
    """Disabling and deleting change production data: a real run must say why."""
    action = options["action"]
    if action in ("disable", "delete") and not options["dry_run"] and not options["reason"]:
        raise CommandError(f"--reason is required to {action} {noun}")


class DeleteChoices(TypedDict):
    delete_datasets: bool
    delete_schemas: bool


def delete_choices(options: dict) -> DeleteChoices:
    """Whether deleting also removes the datasets and schemas the dataflows wrote to."""
    return {
        "delete_datasets": options["delete_datasets"],
        "delete_schemas": options["delete_schemas"],
    }


def dry_run_delete(kind: str, target, *, options: dict, write) -> None:
    """List the steps deleting a dataflow or an account would take, as the preview plans them;
    nothing changes. `target` is the Dataflow or Account."""
    client = client_for(target.sandbox)
    if kind == Operation.Kind.ACCOUNT_DELETE:
        found = impact.account_impact(client, target)
        connection_id = target.connection_id
    else:
        found = impact.dataflow_impact(client, target)
        connection_id = ""
    planned = steps.delete_steps(found, connection_id=connection_id, **delete_choices(options))
    describe_steps(planned, write)
    write(DRY_RUN_DONE)


def confirmed_delete(kind: str, target, *, user, options: dict, write) -> None:
    """Delete a dataflow or an account the way the pages do: read the impact, plan, run.

    `target` is the Dataflow or Account; --confirm must repeat its exact name.
    """
    if options["confirm"] != target.name:
        raise CommandError(f"to delete, pass --confirm with the exact name: {target.name}")
    field = "account" if kind == Operation.Kind.ACCOUNT_DELETE else "dataflow"
    operation = service.create(
        kind, actor=user, reason=options["reason"], ticket=options["ticket"], **{field: target}
    )
    run_in_process(operation, write)  # reads the impact from AEP
    operation = service.plan_confirmed(
        operation, reason=options["reason"], ticket=options["ticket"], **delete_choices(options)
    )
    describe_steps(operation.steps, write)
    run_in_process(operation, write)
