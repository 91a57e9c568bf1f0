"""Flow runs: list and read them, create an ad-hoc run, re-trigger a failed run."""

from __future__ import annotations

import copy
import time
import zlib
from typing import Any

from flask import Response, request

from emulators.aep.context import caller, emulator
from emulators.aep.errors import ApiError
from emulators.aep.execution import Trigger, Window, window_of
from emulators.aep.flowservice import entities as ent
from emulators.aep.flowservice.blueprint import blueprint
from emulators.aep.variance import RUN_STATUS_SPELLINGS
from emulators.aep.web import invalid, read_json_object

# Epoch values above this are milliseconds; the spec describes both units for run params.
_MILLISECONDS_FROM = 10**11


# The Flow Service spec's StatusDTO spells run statuses IN_PROGRESS, SUCCESS, PARTIAL_SUCCESS,
# FAILED, QUEUED, SCHEDULED; the monitoring and sort-and-filter guides write success, failed,
# partialSuccess, inProgress (and `Failed` in a filter example). AEP's answers are read in both.
SPEC_SPELLING = {
    "inProgress": "IN_PROGRESS",
    "success": "SUCCESS",
    "partialSuccess": "PARTIAL_SUCCESS",
    "failed": "FAILED",
    "queued": "QUEUED",
    "scheduled": "SCHEDULED",
}


@blueprint.get("/runs")
def list_runs() -> Response:
    spelled = emulator().variance.on(RUN_STATUS_SPELLINGS)
    return ent.list_response(ent.RUNS, present_items=_spelled if spelled else None)


def _spelled(run: dict[str, Any]) -> dict[str, Any]:
    """Every other run (by id, so a run keeps its spelling) in the spec's spelling."""
    if zlib.crc32(run["id"].encode()) % 2 == 0:
        return run
    run = copy.deepcopy(run)
    for summary in [run["metrics"]["statusSummary"]] + [
        activity.get("statusSummary") or {} for activity in run.get("activities") or ()
    ]:
        status = summary.get("status")
        summary["status"] = SPEC_SPELLING.get(status, status)
    return run


@blueprint.get("/runs/<run_id>")
def get_run(run_id: str) -> Response:
    return ent.item_response(ent.load(ent.RUNS, run_id))


@blueprint.post("/runs")
def create_run():
    body = read_json_object()
    flow_id = body.get("flowId")
    if not isinstance(flow_id, str) or not flow_id:
        raise invalid("'flowId' is required.")
    flow = ent.find(ent.FLOWS, flow_id)
    if flow is None:
        raise ApiError(400, "1430", f"The flow {flow_id} was not found; the run was not created.")
    params = body.get("params") or {}
    if not isinstance(params, dict):
        raise invalid("'params' must be an object.")
    window = Window(
        _epoch_seconds(params, "windowStartTime", 0.0),
        _epoch_seconds(params, "windowEndTime", time.time()),
    )
    if window.end < window.start:
        raise invalid("params.windowEndTime must not be before params.windowStartTime.")
    run = emulator().scheduler.queue_run(flow, caller().scope, window, _trigger())
    return ent.created_response(ent.RUNS, run)


@blueprint.post("/runs/<run_id>/action")
def run_action(run_id: str) -> Response:
    op = request.args.get("op", "").strip().lower().replace("_", "-")
    if op != "re-trigger":
        raise ApiError(
            400, "1422", f"The action '{request.args.get('op', '')}' is not supported for runs."
        )
    run = ent.load(ent.RUNS, run_id)
    ent.check_if_match(run, required=False)
    if not _retriggerable(run):
        status = run["metrics"]["statusSummary"]["status"]
        raise ApiError(
            400,
            "1422",
            f"The action re-trigger cannot be applied on the current state {status}; only "
            "failed runs can be retried.",
        )
    flow = ent.find(ent.FLOWS, run["flowId"])
    if flow is None:
        raise ApiError(400, "1430", f"The flow {run['flowId']} of run {run_id} no longer exists.")
    new_run = emulator().scheduler.queue_run(flow, caller().scope, window_of(run), _trigger())
    return ent.id_etag(new_run)


def _retriggerable(run: dict[str, Any]) -> bool:
    """Failed runs, and successful runs that ingested nothing (documented exception)."""
    metrics = run["metrics"]
    status = metrics["statusSummary"]["status"]
    if status == "failed":
        return True
    return status == "success" and metrics.get("recordSummary", {}).get("outputRecordCount") == 0


def _trigger() -> Trigger:
    who = caller()
    return Trigger(created_by=who.principal, created_client=who.client_id)


def _epoch_seconds(params: dict[str, Any], field: str, default: float) -> float:
    if field not in params or params[field] in (None, ""):
        return default
    try:
        value = float(params[field])
    except (TypeError, ValueError):
        raise invalid(f"params.{field} '{params[field]}' must be an epoch time.") from None
    return value / 1000 if value >= _MILLISECONDS_FROM else value
