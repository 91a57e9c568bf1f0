"""The ordered steps of each operation, planned before the first AEP call.

Cascade deletes follow AEP's rules: flows first, then their source and target connections,
then mapping sets (and, only when chosen, datasets before their schemas), and the base
connection last, since AEP refuses to delete a connection that something still uses.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from monitoring.models import Account, Dataflow, Run
from operations.runner import step


def account_update_steps(account: Account) -> list[dict[str, Any]]:
    return [
        step(
            "patch_connection",
            _("Update account “%(name)s” in AEP") % {"name": account.name},
            id=account.connection_id,
            target_label=account.name,
            audit_action="account.update",
            target_type="account",
        )
    ]


def rotate_key_steps(account: Account) -> list[dict[str, Any]]:
    return [
        step(
            "patch_connection",
            _("Replace the Stripe key of “%(name)s” in AEP") % {"name": account.name},
            id=account.connection_id,
            target_label=account.name,
            audit_action="account.rotate_key",
            target_type="account",
        )
    ]


def dataflow_update_steps(dataflow: Dataflow, changes: dict[str, Any]) -> list[dict[str, Any]]:
    steps = [
        step(
            "check_flow",
            _("Check that nobody changed the dataflow meanwhile"),
            id=dataflow.flow_id,
            target_type="dataflow",
        )
    ]
    if "mapping" in changes:
        steps += [
            step(
                "validate_mapping",
                _("Validate the new mapping with Data Prep"),
                id=dataflow.mapping_set_id,
                target_type="mapping_set",
            ),
            step(
                "update_mapping_set",
                _("Save the mapping as a new version of the mapping set"),
                id=dataflow.mapping_set_id,
                target_label=dataflow.name,
                audit_action="mapping_set.update",
                target_type="mapping_set",
            ),
        ]
    steps.append(
        step(
            "patch_flow",
            _("Update dataflow “%(name)s” in AEP") % {"name": dataflow.name},
            id=dataflow.flow_id,
            target_label=dataflow.name,
            audit_action="dataflow.update",
            target_type="dataflow",
        )
    )
    return steps


def flow_action_steps(dataflow: Dataflow, op: str, extra: dict | None = None) -> list[dict]:
    label = _("Enable “%(name)s”") if op == "enable" else _("Disable “%(name)s”")
    return [
        step(
            "flow_action",
            label % {"name": dataflow.name},
            id=dataflow.flow_id,
            op=op,
            extra=extra or {},
            target_label=dataflow.name,
            audit_action=f"dataflow.{op}",
            target_type="dataflow",
        )
    ]


def retry_steps(runs: list[Run]) -> list[dict[str, Any]]:
    return [
        step(
            "retrigger_run",
            _("Re-trigger run %(run)s of “%(name)s”")
            % {"run": run.run_id, "name": run.dataflow.name},
            id=run.dataflow.flow_id,
            run_id=run.run_id,
            dataflow_pk=run.dataflow_id,
            target_label=run.dataflow.name,
            audit_action="run.retry",
            target_type="dataflow",
        )
        for run in runs
    ]


def delete_steps(
    impact: dict[str, Any],
    *,
    connection_id: str = "",
    delete_datasets: bool = False,
    delete_schemas: bool = False,
) -> list[dict[str, Any]]:
    """Steps for an impact preview; shared objects are never planned for deletion.

    The first step checks the sharing again (every attempt): the preview may be old.
    """
    steps: list[dict[str, Any]] = [
        step(
            "verify_sharing",
            _("Check that nothing else started using what will be deleted"),
            id=connection_id or ",".join(impact.get("flow_ids", [])),
            target_type="account" if connection_id else "dataflow",
            repeat=True,
        )
    ]
    if connection_id:
        steps.append(
            step(
                "verify_account_flows",
                _("Check that AEP has no dataflows on the account beyond the preview"),
                id=connection_id,
                target_type="account",
                repeat=True,
            )
        )
    for flow in impact.get("flows", []):
        steps.append(
            step(
                "delete_flow",
                _("Delete dataflow “%(name)s”") % {"name": flow["name"]},
                id=flow["id"],
                before={"name": flow["name"], "state": flow["state"]},
                target_label=flow["name"],
                audit_action="dataflow.delete",
                target_type="dataflow",
            )
        )
    steps += _owned(
        impact,
        "source_connections",
        "delete_source_connection",
        _("Delete source connection “%(name)s”"),
        "source_connection",
    )
    steps += _owned(
        impact,
        "target_connections",
        "delete_target_connection",
        _("Delete target connection “%(name)s”"),
        "target_connection",
    )
    steps += _owned(
        impact, "mapping_sets", "delete_mapping_set", _("Delete mapping set %(id)s"), "mapping_set"
    )
    if delete_datasets:
        steps += _owned(
            impact, "datasets", "delete_dataset", _("Delete dataset “%(name)s”"), "dataset"
        )
        if delete_schemas:
            steps += _owned(impact, "schemas", "delete_schema", _("Delete schema %(id)s"), "schema")
    if connection_id:
        name = impact.get("connection", {}).get("name", "")
        steps.append(
            step(
                "delete_connection",
                _("Delete account “%(name)s” (base connection)") % {"name": name},
                id=connection_id,
                before={"name": name},
                target_label=name,
                audit_action="account.delete",
                target_type="account",
            )
        )
    return steps


def _owned(impact: dict, key: str, action: str, label: str, target_type: str) -> list[dict]:
    return [
        step(
            action,
            label % {"name": entry.get("name") or entry["id"], "id": entry["id"]},
            id=entry["id"],
            before={k: v for k, v in entry.items() if k not in ("id", "shared")},
            target_label=entry.get("name") or entry["id"],
            audit_action=f"{target_type}.delete",
            target_type=target_type,
        )
        for entry in impact.get(key, [])
        if not entry.get("shared")
    ]
