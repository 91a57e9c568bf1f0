"""One handler per step action: a single AEP call, then the mirror rows brought up to date.

Handlers are written so that running one twice is harmless: deletes treat "already gone" as
done, enable/disable treat "already in that state" as done. That is what lets a failed
operation resume.
"""

from __future__ import annotations

import contextlib
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from aep import quirks
from aep.errors import BadRequestError, NotFoundError, PreconditionFailedError
from aep.types import Connection, Created, Flow, Run
from core.mapping import mapping_set_body
from monitoring.models import Account, Dataflow
from monitoring.models import Run as RunRow
from operations.concurrency import changes_between, conflict_message, last_changed_by, seen_at
from operations.impact import discover_account_flows, now_in_use
from operations.mapping import parse_rules, rule_line
from operations.models import Operation
from operations.runner import Conflict, Context, Done, Handler, OperationStopped

ACCOUNT_FIELDS = {
    "name": _("Name"),
    "description": _("Description"),
    "key_ending": _("Stripe key ending"),
}
FLOW_FIELDS = {
    "name": _("Name"),
    "description": _("Description"),
    "frequency": _("Frequency"),
    "interval": _("Interval"),
    "mapping_set_id": _("Mapping set"),
    "mapping_version": _("Mapping version"),
    "state": _("State"),
}


def _account_of(op: Operation) -> Account:
    """The operation's account, read afresh (gone: DoesNotExist, as for a deleted row)."""
    if op.account_id is None:
        raise Account.DoesNotExist("the operation has no account")
    return Account.objects.get(pk=op.account_id)


def _dataflow_of(op: Operation) -> Dataflow:
    """The operation's dataflow, read afresh (gone: DoesNotExist, as for a deleted row)."""
    if op.dataflow_id is None:
        raise Dataflow.DoesNotExist("the operation has no dataflow")
    return Dataflow.objects.get(pk=op.dataflow_id)


# -- accounts --------------------------------------------------------------------------------


def patch_connection(ctx: Context, step: dict[str, Any]) -> Done:
    """PATCH the base connection with If-Match: new name/description, or a new Stripe key.

    A conflict is a change to a field the person can change (name, description, the key), not
    a moved etag: the etag read just now is only what If-Match needs. A 412 in between is
    checked the same way and the PATCH tried once more.
    """
    op = ctx.operation
    account = _account_of(op)
    seen = op.params.get("seen", {})
    fs = ctx.client.flowservice
    patch, before, after = _connection_patch(op, account)
    current = fs.get_connection(account.connection_id)
    _raise_if_account_changed(ctx, account, seen, current, None)
    try:
        created = fs.patch_connection(account.connection_id, current.etag or "", patch)
    except PreconditionFailedError as exc:
        current = fs.get_connection(account.connection_id)
        _raise_if_account_changed(ctx, account, seen, current, exc)
        try:
            created = fs.patch_connection(account.connection_id, current.etag or "", patch)
        except PreconditionFailedError as again:
            raise _connection_conflict(ctx, account, seen, [], again) from again
    _apply_to_account(op, account, created.etag or "")
    return Done(before=before, after=after)


def _raise_if_account_changed(
    ctx: Context, account: Account, seen: dict, current: Connection, exc
) -> None:
    wanted = dict(ctx.operation.params.get("changes", {}))
    changes = _concurrent(seen, _connection_view(current, account), ACCOUNT_FIELDS, wanted)
    if changes:
        conflict = _connection_conflict(ctx, account, seen, changes, exc, current)
        if exc is not None:
            raise conflict from exc
        raise conflict


def _connection_patch(op, account: Account) -> tuple[list[dict], dict, dict]:
    if op.kind == op.Kind.ACCOUNT_ROTATE_KEY:
        if not op.secret:
            raise OperationStopped(
                _("The new key is no longer kept (it waited too long). Start the rotation again.")
            )
        check = op.preview.get("check", {})
        patch = [
            {"op": "replace", "path": "/auth/params", "value": {"accessToken": op.secret.reveal()}}
        ]
        before = {
            "key_ending": account.token_last4,
            "key_kind": account.key_kind,
            "livemode": account.livemode,
        }
        after = {
            "key_ending": check.get("key_ending", ""),
            "key_kind": check.get("key_kind", ""),
            "livemode": check.get("livemode", False),
        }
        return patch, before, after
    changes = op.params.get("changes", {})
    patch, before = [], {}
    if "name" in changes:
        patch.append({"op": "replace", "path": "/name", "value": changes["name"]})
        before["name"] = account.name
    if "description" in changes:
        # `add` also replaces, and works when AEP has no description yet.
        patch.append({"op": "add", "path": "/description", "value": changes["description"]})
        before["description"] = account.description
    return patch, before, dict(changes)


def _apply_to_account(op, account: Account, etag: str) -> None:
    fields: dict[str, Any] = {"etag": etag}
    if op.kind == op.Kind.ACCOUNT_ROTATE_KEY:
        check = op.preview.get("check", {})
        fields.update(
            token_last4=check.get("key_ending", ""),
            key_kind=check.get("key_kind", ""),
            livemode=bool(check.get("livemode")),
            probe_result=check.get("resources", {}),
            probed_at=timezone.now(),
        )
    else:
        fields.update(op.params.get("changes", {}))
    Account.objects.filter(pk=account.pk).update(updated=timezone.now(), **fields)


def _connection_conflict(
    ctx: Context,
    account: Account,
    seen: dict,
    changes: list,
    exc,
    current: Connection | None = None,
) -> Conflict:
    current = current or ctx.client.flowservice.get_connection(account.connection_id)
    Account.objects.filter(pk=account.pk).update(
        name=current.name, description=current.description, etag=current.etag or ""
    )
    by = last_changed_by(
        "account",
        account.connection_id,
        seen_at(seen, ctx.operation.created),
        ctx.operation.actor_id,
    )
    return _conflict(ctx, _("account"), changes, by, current.updated_at, exc)


def _connection_view(connection: Connection, account: Account) -> dict[str, Any]:
    # AEP never shows the key; the fingerprint is the one the dashboard last wrote.
    return {
        "name": connection.name,
        "description": connection.description,
        "key_ending": account.token_last4,
    }


def _concurrent(
    seen: dict, current: dict, labels: dict, wanted: dict[str, Any]
) -> list[dict[str, str]]:
    """Fields changed in AEP since the person looked, except those already holding the value
    this operation writes (a resumed operation meeting its own earlier change)."""
    return [
        change
        for change in changes_between(seen, current, labels)
        if not _is_wanted(change, labels, wanted, current)
    ]


def _is_wanted(change: dict, labels: dict, wanted: dict, current: dict) -> bool:
    name = next(key for key, label in labels.items() if str(label) == change["field"])
    return name in wanted and str(wanted[name]) == str(current.get(name))


def verify_account_flows(ctx: Context, step: dict[str, Any]) -> Done:
    """Before deleting anything: AEP must not have flows on the account the preview missed."""
    planned = set(ctx.operation.preview.get("flow_ids", []))
    found = discover_account_flows(ctx.client, step["id"])
    unexpected = sorted(flow.name or flow.id for flow in found if flow.id not in planned)
    if unexpected:
        raise OperationStopped(
            _(
                "AEP now has dataflows on this account that the impact preview did not list: "
                "%(names)s. Nothing more was deleted. Check the impact again."
            )
            % {"names": ", ".join(unexpected)}
        )
    return Done()


def verify_sharing(ctx: Context, step: dict[str, Any]) -> Done:
    """Before deleting anything: nothing the preview found unused may be in use now."""
    op = ctx.operation
    in_use = now_in_use(ctx.client, op.preview, datasets=bool(op.params.get("delete_datasets")))
    if in_use:
        raise OperationStopped(
            _(
                "Since the impact preview, other dataflows started using %(names)s. Nothing "
                "more was deleted. Check the impact again."
            )
            % {"names": ", ".join(in_use)}
        )
    return Done()


# -- dataflows -------------------------------------------------------------------------------


def check_flow(ctx: Context, step: dict[str, Any]) -> Done:
    """Read the flow; if a field the person can change moved since they opened the form, stop
    before writing. The etag alone proves nothing: AEP moves it whenever a run ends."""
    op = ctx.operation
    dataflow = _dataflow_of(op)
    flow = ctx.client.flowservice.get_flow(dataflow.flow_id)
    changes = _flow_changes(op, flow)
    if changes:
        raise _flow_conflict(ctx, dataflow, flow, None, changes)
    mapping_index = next(
        (i for i, t in enumerate(flow.transformations) if t.name == "Mapping"), None
    )
    mapping = flow.mapping
    ctx.remember(
        mapping_index=mapping_index,
        mapping_set_id=mapping.mapping_id if mapping else dataflow.mapping_set_id,
        etag=flow.etag or op.params.get("seen", {}).get("etag", ""),
    )
    return Done()


def _flow_changes(op: Operation, flow: Flow) -> list[dict[str, str]]:
    """Fields the person can change that AEP now holds differently from what they saw."""
    seen = op.params.get("seen", {})
    if seen.get("etag") and flow.etag == seen["etag"]:
        return []  # not updated at all since then
    wanted = {k: v for k, v in op.params.get("changes", {}).items() if k in FLOW_FIELDS}
    if op.result.get("mapping_version") is not None:
        wanted["mapping_version"] = op.result["mapping_version"]
    return _concurrent(seen, flow_view(flow), FLOW_FIELDS, wanted)


def validate_mapping(ctx: Context, step: dict[str, Any]) -> Done:
    """Validate the new rules with Data Prep before a new version is written."""
    op = ctx.operation
    current = ctx.client.dataprep.get_mapping_set(op.result["mapping_set_id"])
    body = mapping_set_body(current.schema_id or "", parse_rules(op.params["changes"]["mapping"]))
    failures = [
        error
        for result in ctx.client.dataprep.validate_mapping_set(body)
        if not result.ok
        for error in result.errors
    ]
    if failures:
        details = "; ".join(_error_text(error) for error in failures[:5])
        raise OperationStopped(
            _("Data Prep rejected the mapping: %(details)s") % {"details": details}
        )
    ctx.remember(schema_id=current.schema_id or "", old_mapping_version=current.version)
    return Done()


def _error_text(error: Any) -> str:
    if isinstance(error, dict):
        return str(error.get("message") or error.get("title") or error)
    return str(error)


def update_mapping_set(ctx: Context, step: dict[str, Any]) -> Done:
    """Write the new rules as a new version of the flow's mapping set."""
    op = ctx.operation
    rules = parse_rules(op.params["changes"]["mapping"])
    body = mapping_set_body(op.result["schema_id"], rules)
    version = ctx.client.dataprep.update_mapping_set(op.result["mapping_set_id"], body).version
    ctx.remember(mapping_version=version)
    return Done(
        before={"version": op.result.get("old_mapping_version")},
        after={"version": version, "mappings": [rule_line(rule) for rule in rules]},
    )


def patch_flow(ctx: Context, step: dict[str, Any]) -> Done:
    """PATCH name, description, schedule and the mapping version of the flow, with If-Match."""
    op = ctx.operation
    dataflow = _dataflow_of(op)
    changes = dict(op.params.get("changes", {}))
    patch = _flow_patch(changes, op.result)
    etag = op.result.get("etag") or op.params.get("seen", {}).get("etag") or dataflow.etag
    created = _patch_flow_checked(ctx, dataflow, etag, patch)
    fields = {k: v for k, v in changes.items() if k in ("name", "description", "frequency")}
    if "interval" in changes:
        fields["interval"] = changes["interval"]
    if "mapping" in changes:
        fields["mapping_version"] = str(op.result["mapping_version"])
    before = {name: getattr(dataflow, name) for name in fields}
    Dataflow.objects.filter(pk=dataflow.pk).update(
        etag=created.etag or "", updated=timezone.now(), **fields
    )
    return Done(before=before, after=fields)


def _patch_flow_checked(ctx: Context, dataflow: Dataflow, etag: str, patch: list) -> Created:
    """PATCH with If-Match; on 412 re-read the flow, stop if a field the person can change
    moved, otherwise try once more with the fresh etag (a run ended in between)."""
    fs = ctx.client.flowservice
    try:
        return fs.patch_flow(dataflow.flow_id, etag, patch)
    except PreconditionFailedError as exc:
        flow = fs.get_flow(dataflow.flow_id)
        changes = _flow_changes(ctx.operation, flow)
        if changes:
            raise _flow_conflict(ctx, dataflow, flow, exc, changes) from exc
    try:
        return fs.patch_flow(dataflow.flow_id, flow.etag or "", patch)
    except PreconditionFailedError as again:
        flow = fs.get_flow(dataflow.flow_id)
        changes = _flow_changes(ctx.operation, flow)
        raise _flow_conflict(ctx, dataflow, flow, again, changes) from again


def _flow_patch(changes: dict[str, Any], result: dict[str, Any]) -> list[dict[str, Any]]:
    patch: list[dict[str, Any]] = []
    if "name" in changes:
        patch.append({"op": "replace", "path": "/name", "value": changes["name"]})
    if "description" in changes:
        patch.append({"op": "add", "path": "/description", "value": changes["description"]})
    if "frequency" in changes:
        patch.append(
            {"op": "replace", "path": "/scheduleParams/frequency", "value": changes["frequency"]}
        )
    if "interval" in changes:
        patch.append(
            {"op": "replace", "path": "/scheduleParams/interval", "value": changes["interval"]}
        )
    if "mapping" in changes:
        mapping = {
            "mappingId": result["mapping_set_id"],
            "mappingVersion": quirks.mapping_version_for_request(result["mapping_version"]),
        }
        index = result.get("mapping_index") or 0
        patch.append(
            {
                "op": "replace",
                "path": f"/transformations/{index}",
                "value": {"name": "Mapping", "params": mapping},
            }
        )
    return patch


def flow_view(flow: Flow) -> dict[str, Any]:
    schedule = flow.schedule
    mapping = flow.mapping
    return {
        "name": flow.name,
        "description": flow.description,
        "frequency": schedule.frequency if schedule else "",
        "interval": schedule.interval if schedule else None,
        "mapping_set_id": mapping.mapping_id if mapping else None,
        "mapping_version": mapping.mapping_version if mapping else None,
        "state": flow.state,
    }


def _flow_conflict(
    ctx: Context, dataflow: Dataflow, flow: Flow, exc, changes: list[dict[str, str]]
) -> Conflict:
    current = flow_view(flow)
    mirror = {k: current[k] for k in ("name", "description", "frequency") if current[k]}
    Dataflow.objects.filter(pk=dataflow.pk).update(
        etag=flow.etag or "",
        interval=current["interval"],
        enabled=flow.state != "disabled",
        mapping_version=""
        if current["mapping_version"] is None
        else str(current["mapping_version"]),
        **mirror,
    )
    by = last_changed_by(
        "dataflow",
        dataflow.flow_id,
        seen_at(ctx.operation.params.get("seen", {}), ctx.operation.created),
        ctx.operation.actor_id,
    )
    return _conflict(ctx, _("dataflow"), changes, by, flow.updated_at, exc)


def _conflict(ctx: Context, what: str, changes: list, by: str, when, exc) -> Conflict:
    ctx.remember(
        conflict={
            "changes": changes,
            "by": by,
            "updated_at": when.isoformat() if when else "",
        }
    )
    request_id = getattr(exc, "request_id", "") or ""
    code = getattr(exc, "code", "") or ""
    return Conflict(conflict_message(what, changes, by), code=code, request_id=request_id)


def flow_action(ctx: Context, step: dict[str, Any]) -> Done:
    """Enable or disable the flow; a flow already in that state counts as done.

    AEP refuses an action on a flow already in its state with a 400 whose code is not
    dependable, so any 400 is followed by reading the flow: its `state` decides.
    """
    op = ctx.operation
    enable = step["op"] == "enable"
    fs = ctx.client.flowservice
    before = {"state": "disabled" if enable else "enabled"}
    after = {"state": "enabled" if enable else "disabled", **step.get("extra", {})}
    try:
        created = fs.enable_flow(step["id"]) if enable else fs.disable_flow(step["id"])
    except BadRequestError:  # not a NotFoundError (1439-400 is one): a gone flow still fails
        flow = fs.get_flow(step["id"])
        if flow.state != after["state"]:
            raise
        _set_enabled(op.dataflow_id, enable, flow.etag)
        return Done(skipped=True, note=_("It already was."))
    _set_enabled(op.dataflow_id, enable, created.etag)
    return Done(before=before, after=after)


def _set_enabled(dataflow_pk: int | None, enable: bool, etag: str | None) -> None:
    if dataflow_pk is None:
        return
    dataflow = Dataflow.objects.get(pk=dataflow_pk)
    fields: dict[str, Any] = {"enabled": enable, "updated": timezone.now()}
    if etag:
        fields["etag"] = etag
    if enable:
        fields["health"] = _health_when_enabled(dataflow)
        # Ask the monitoring sync to look soon: AEP schedules backfill runs right away.
        fields["next_sync_at"] = timezone.now()
    else:
        fields["health"] = Dataflow.Health.DISABLED
    Dataflow.objects.filter(pk=dataflow_pk).update(**fields)


def _health_when_enabled(dataflow: Dataflow) -> str:
    if dataflow.consecutive_failures:
        return Dataflow.Health.FAILING
    return Dataflow.Health.HEALTHY if dataflow.last_run_at else Dataflow.Health.NEW


def retrigger_run(ctx: Context, step: dict[str, Any]) -> Done:
    """Re-trigger one failed run; the new run is mirrored at once so the timeline shows it."""
    created = ctx.client.flowservice.retrigger_run(step["run_id"])
    dataflow_pk = step.get("dataflow_pk")
    dataflow = Dataflow.objects.filter(pk=dataflow_pk).first() if dataflow_pk is not None else None
    if dataflow is not None:
        _mirror_new_run(ctx, dataflow, created.id)
    return Done(
        before={"run_id": step["run_id"], "status": "failed"},
        after={"run_id": step["run_id"], "new_run_id": created.id},
    )


def _mirror_new_run(ctx: Context, dataflow: Dataflow, run_id: str) -> None:
    try:
        run: Run | None = ctx.client.flowservice.get_run(run_id)
    except NotFoundError:
        run = None
    RunRow.objects.get_or_create(
        run_id=run_id,
        defaults={
            "dataflow": dataflow,
            "status": (run.status if run else None) or "scheduled",
            "created_at": (run.created_at if run else None) or timezone.now(),
            "started_at": run.started_at if run else None,
            "etag": (run.etag if run else None) or "",
        },
    )


# -- deletes ---------------------------------------------------------------------------------


def _deleting(call, step: dict[str, Any]) -> Done:
    before = dict(step.get("before", {}))
    try:
        call(step["id"])
    except NotFoundError:
        return Done(skipped=True, note=_("Already gone in AEP."))
    return Done(before=before, after={"deleted": True})


def delete_flow(ctx: Context, step: dict[str, Any]) -> Done:
    done = _deleting(ctx.client.flowservice.delete_flow, step)
    Dataflow.objects.filter(sandbox=ctx.operation.sandbox, flow_id=step["id"]).update(
        deleted_at=timezone.now(),
        enabled=False,
        health=Dataflow.Health.DELETED,
        updated=timezone.now(),
    )
    return done


def delete_source_connection(ctx: Context, step: dict[str, Any]) -> Done:
    return _deleting(ctx.client.flowservice.delete_source_connection, step)


def delete_target_connection(ctx: Context, step: dict[str, Any]) -> Done:
    return _deleting(ctx.client.flowservice.delete_target_connection, step)


def delete_mapping_set(ctx: Context, step: dict[str, Any]) -> Done:
    """Data Prep's public API has no delete: where AEP refuses it, the set stays and we go on."""
    if ctx.client.dataprep.delete_mapping_set(step["id"]):
        return Done(before=dict(step.get("before", {})), after={"deleted": True})
    kept = [*ctx.operation.result.get("mapping_sets_left", []), step["id"]]
    ctx.remember(mapping_sets_left=sorted(set(kept)))
    return Done(
        skipped=True,
        note=_("AEP does not delete mapping sets here: it was left in place (it holds no data)."),
    )


def delete_dataset(ctx: Context, step: dict[str, Any]) -> Done:
    return _deleting(ctx.client.catalog.delete_dataset, step)


def delete_schema(ctx: Context, step: dict[str, Any]) -> Done:
    """The schema's descriptors (its identities) go first: they describe only this schema, and
    would otherwise be left pointing at nothing. A schema that is kept keeps them."""
    descriptors = ctx.client.schemas.list_descriptors(schema_id=step["id"])
    for descriptor in descriptors:
        with contextlib.suppress(NotFoundError):
            ctx.client.schemas.delete_descriptor(descriptor.id)
    done = _deleting(ctx.client.schemas.delete_schema, step)
    if descriptors and not done.skipped:
        done.after["descriptors_deleted"] = len(descriptors)
    return done


def delete_connection(ctx: Context, step: dict[str, Any]) -> Done:
    done = _deleting(ctx.client.flowservice.delete_connection, step)
    Account.objects.filter(sandbox=ctx.operation.sandbox, connection_id=step["id"]).update(
        deleted_at=timezone.now(), updated=timezone.now()
    )
    return done


HANDLERS: dict[str, Handler] = {
    "patch_connection": patch_connection,
    "verify_account_flows": verify_account_flows,
    "verify_sharing": verify_sharing,
    "check_flow": check_flow,
    "validate_mapping": validate_mapping,
    "update_mapping_set": update_mapping_set,
    "patch_flow": patch_flow,
    "flow_action": flow_action,
    "retrigger_run": retrigger_run,
    "delete_flow": delete_flow,
    "delete_source_connection": delete_source_connection,
    "delete_target_connection": delete_target_connection,
    "delete_mapping_set": delete_mapping_set,
    "delete_dataset": delete_dataset,
    "delete_schema": delete_schema,
    "delete_connection": delete_connection,
}
