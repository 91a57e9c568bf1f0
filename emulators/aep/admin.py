"""Emulator-only endpoints under ``/__emulator__/``: health, state, reset, ingested records,
fault injection and forcing a flow run. They need no credentials and do not exist on the
platform."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from emulators.aep.context import emulator
from emulators.aep.errors import RawError
from emulators.aep.faults import FaultSpecError
from emulators.aep.web import read_json_object

blueprint = Blueprint("emulator_admin", __name__, url_prefix="/__emulator__")

MAX_RECORDS_PAGE = 1000


@blueprint.get("/health")
def health() -> Response:
    settings = emulator().settings
    return jsonify(
        {
            "status": "ok",
            "timeScale": settings.time_scale,
            "tokenLifetime": settings.token_lifetime,
            "stripeApiBase": settings.stripe_api_base,
            "variance": emulator().variance.public(),
            "orgs": [
                {
                    "imsOrgId": org.ims_org_id,
                    "clientId": org.client_id,
                    "tenantId": org.tenant_id,
                    "sandboxes": [s.name for s in org.sandboxes],
                }
                for org in settings.orgs
            ],
        }
    )


@blueprint.get("/state")
def state() -> Response:
    orgs: dict[str, dict[str, dict[str, int]]] = {}
    for org, sandbox, kind, count in emulator().store.counts():
        orgs.setdefault(org, {}).setdefault(sandbox, {})[kind] = count
    return jsonify(
        {
            "orgs": orgs,
            "datasetRecords": emulator().store.record_count(),
            "faults": len(emulator().faults.list()),
        }
    )


@blueprint.post("/reset")
def reset() -> Response:
    emulator().store.reset()
    emulator().faults.clear()
    emulator().variance.reset()
    return jsonify({"reset": True})


@blueprint.get("/datasets/<dataset_id>/records")
def dataset_records(dataset_id: str) -> Response:
    start = _int_arg("start", 0)
    limit = min(_int_arg("limit", 100), MAX_RECORDS_PAGE)
    records, total = emulator().store.dataset_records(
        dataset_id, start=start, limit=limit, run_id=request.args.get("runId")
    )
    next_start = start + len(records)
    return jsonify(
        {
            "dataSetId": dataset_id,
            "records": records,
            "_page": {
                "start": start,
                "limit": limit,
                "count": len(records),
                "total": total,
                "next": next_start if next_start < total else None,
            },
        }
    )


@blueprint.post("/faults")
def add_fault():
    try:
        fault = emulator().faults.add(read_json_object())
    except FaultSpecError as exc:
        raise RawError(400, {"error": str(exc)}) from exc
    return jsonify(fault.public()), 201


@blueprint.get("/faults")
def list_faults() -> Response:
    return jsonify({"faults": emulator().faults.list()})


@blueprint.delete("/faults")
def clear_faults():
    emulator().faults.clear()
    return "", 204


@blueprint.delete("/faults/<int:fault_id>")
def remove_fault(fault_id: int):
    if not emulator().faults.remove(fault_id):
        raise RawError(404, {"error": f"no fault {fault_id}"})
    return "", 204


@blueprint.get("/variance")
def list_variance() -> Response:
    return jsonify(emulator().variance.public())


@blueprint.post("/variance")
def set_variance() -> Response:
    """`{"<name>": true|false}`: turn documented platform behaviours on or off (variance.py)."""
    variance = emulator().variance
    for name, enabled in read_json_object().items():
        if not isinstance(enabled, bool):
            raise RawError(400, {"error": f"{name} must be true or false"})
        try:
            variance.set(name, enabled)
        except ValueError as exc:
            raise RawError(400, {"error": str(exc)}) from exc
    return jsonify(variance.public())


@blueprint.post("/flows/<flow_id>/run-now")
def run_now(flow_id: str):
    found = emulator().store.get_with_scope("flows", flow_id)
    if found is None:
        raise RawError(404, {"error": f"no flow {flow_id}"})
    flow, scope = found
    run: dict[str, Any] = emulator().scheduler.run_now(flow, scope)
    return jsonify(run), 201


def _int_arg(name: str, default: int) -> int:
    text = request.args.get(name, "")
    if not text:
        return default
    if not text.isdigit():
        raise RawError(400, {"error": f"{name} must be a non-negative integer"})
    return int(text)
