"""Running one window of a flow: gather what the flow points at, call the run engine, store the
good records in the dataset and the run document in Flow Service's shape.

Everything here works from a :class:`Scope` rather than a request, because the scheduler thread
runs flows with no HTTP call in sight.
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass
from functools import partial
from typing import Any

from emulators.aep import dataprep, runner
from emulators.aep.ids import batch_id, flow_entity_id, new_etag, now_ms
from emulators.aep.settings import Settings
from emulators.aep.store import Scope, Store
from emulators.aep.variance import RUN_END_TOUCHES_FLOW, Variance
from emulators.aep.xdm import resolve_schema

logger = logging.getLogger(__name__)

RUNS = "runs"
SYSTEM_PRINCIPAL = "acp_foundation_connectors@AdobeID"
SYSTEM_CLIENT = "acp_foundation_connectors"
MISSING_DEPENDENCY = "CONNECTOR-1404-404"
INTERRUPTED = "CONNECTOR-2001-500"


@dataclass(frozen=True)
class Window:
    """A run window in real epoch seconds; ``start`` 0 means from the beginning."""

    start: float
    end: float

    @property
    def stripe_start(self) -> int | None:
        # Both bounds are floored: consecutive windows stay contiguous on Stripe's whole seconds.
        return None if self.start <= 0 else math.floor(self.start)

    @property
    def stripe_end(self) -> int:
        return math.floor(self.end)


@dataclass(frozen=True)
class Trigger:
    created_by: str = SYSTEM_PRINCIPAL
    created_client: str = SYSTEM_CLIENT


@dataclass
class FlowParts:
    """What a run of one flow reads: the flow and every entity it references."""

    flow: dict[str, Any]
    source: dict[str, Any]
    access_token: str
    target: dict[str, Any]
    dataset_id: str
    mappings: list[dict[str, Any]]
    target_schema: dict[str, Any]


class MissingDependency(Exception):
    pass


class FlowExecutor:
    def __init__(self, settings: Settings, store: Store, variance: Variance | None = None) -> None:
        self.settings = settings
        self.store = store
        self.variance = variance or Variance()
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def lock_for(self, flow_id: str) -> threading.Lock:
        """Runs of one flow never overlap; the scheduler and run-now share this lock."""
        with self._locks_guard:
            return self._locks.setdefault(flow_id, threading.Lock())

    # -- creating and finishing run documents ---------------------------------------------------

    def start_run(
        self,
        flow: dict[str, Any],
        scope: Scope,
        window: Window,
        trigger: Trigger | None = None,
        status: str = "queued",
    ) -> dict[str, Any]:
        """Store a new run, ``queued`` (or ``scheduled``) until it starts, and return it."""
        trigger = trigger or Trigger()
        now = now_ms()
        run_id = flow_entity_id()
        doc = runner.in_progress_run_document(
            run_id=run_id,
            flow_id=flow["id"],
            etag=new_etag(),
            created_at_ms=now,
            updated_at_ms=now,
            started_at_ms=now,
            window_start=window.stripe_start,
            window_end=window.stripe_end,
            sandbox_id=flow["sandboxId"],
            sandbox_name=flow["sandboxName"],
            source_connection_id=_first(flow.get("sourceConnectionIds")),
            created_by=trigger.created_by,
            created_client=trigger.created_client,
            copy_type=_copy_type(window),
            extra=_run_extra(flow, window),
            status=status,
        )
        self.store.insert(RUNS, doc, scope, parent_id=flow["id"], created_at=now)
        return doc

    def _mark_started(self, run: dict[str, Any]) -> dict[str, Any]:
        """A queued or scheduled run starts: ``inProgress``, with a new etag."""
        if run["metrics"]["statusSummary"]["status"] == "inProgress":
            return run
        run["metrics"]["statusSummary"]["status"] = "inProgress"
        for activity in run.get("activities") or ():
            activity["statusSummary"]["status"] = "inProgress"
        run["etag"] = new_etag()
        run["updatedAt"] = now_ms()
        self.store.replace(RUNS, run["id"], run, run["updatedAt"])
        return run

    def execute(self, run: dict[str, Any], scope: Scope, window: Window) -> dict[str, Any]:
        """Run the window of a queued run and store its final document."""
        run = self._mark_started(run)
        flow = self.store.get("flows", run["flowId"], scope)
        try:
            if flow is None:
                raise MissingDependency(f"The flow {run['flowId']} no longer exists.")
            parts = self._flow_parts(flow, scope)
        except MissingDependency as exc:
            outcome = _failed_outcome(window, MISSING_DEPENDENCY, str(exc))
            return self._finish(run, scope, outcome, None, batch_id())
        batch = batch_id()
        diagnostics = diagnostics_enabled(flow)
        # What a run leaves behind: its good records are staged page by page and promoted to the
        # dataset, all at once, only when the run ends ``success`` or ``partialSuccess``. A run
        # that fails (Stripe answers 500 on page 7, the threshold is exceeded, a bug) leaves no
        # records in the dataset and its staged pages are dropped; one cut short by a restart
        # leaves staged rows that ``fail_interrupted_runs`` drops at start-up.
        try:
            outcome = runner.execute_run(
                stripe_api_base=self.settings.stripe_api_base,
                access_token=parts.access_token,
                resource_path=parts.source["params"]["resourcePath"],
                window_start=window.stripe_start,
                window_end=window.stripe_end,
                mappings=parts.mappings,
                target_schema=parts.target_schema,
                timeout=self.settings.stripe_timeout,
                partial_ingestion_percent=(flow.get("options") or {}).get(
                    "partialIngestionPercent"
                ),
                sink=partial(self.store.stage_records, run["id"]),
                failed_sink=partial(self.store.save_failed_records, batch) if diagnostics else None,
            )
            if outcome.status != "failed" and outcome.output_records:
                self._promote(parts.dataset_id, scope, run["id"], batch)
        except Exception:
            # A bug must not leave the run inProgress for ever: report it as a failed run.
            logger.exception("run %s of flow %s crashed", run["id"], run["flowId"])
            outcome = _failed_outcome(window, INTERRUPTED, "The run failed with an internal error.")
        finally:
            self.store.discard_staged(run["id"])
        if outcome.copy_failed:
            # Stripe failed the run part-way: it reports no records, so it keeps no diagnostics.
            self.store.discard_failed_records(batch)
        else:
            self.store.save_batch(
                batch, run["id"], scope, diagnostics=diagnostics, created_at=now_ms()
            )
        return self._finish(run, scope, outcome, parts, batch)

    def run_window(
        self, flow: dict[str, Any], scope: Scope, window: Window, trigger: Trigger | None = None
    ) -> dict[str, Any]:
        return self.execute(self.start_run(flow, scope, window, trigger), scope, window)

    def _finish(
        self,
        run: dict[str, Any],
        scope: Scope,
        outcome: runner.RunOutcome,
        parts: FlowParts | None,
        batch: str,
    ) -> dict[str, Any]:
        flow = parts.flow if parts else None
        final = runner.run_document(
            run_id=run["id"],
            flow_id=run["flowId"],
            etag=new_etag(),
            outcome=outcome,
            created_at_ms=run["createdAt"],
            updated_at_ms=now_ms(),
            sandbox_id=run["sandboxId"],
            sandbox_name=run["sandboxName"],
            source_connection_id=_first(flow.get("sourceConnectionIds")) if flow else "",
            target_connection_id=_first(flow.get("targetConnectionIds")) if flow else "",
            batch_id=batch,
            created_by=run["createdBy"],
            created_client=run["createdClient"],
            copy_type=run["activities"][0]["statusSummary"]["extensions"]["type"],
            extra={
                k: run[k] for k in ("imsOrgId", "flowSpec", "providerRefId", "params") if k in run
            },
        )
        self.store.replace(RUNS, run["id"], final, final["updatedAt"])
        self._record_last_run(run["flowId"], scope, final)
        return final

    def _record_last_run(self, flow_id: str, scope: Scope, run: dict[str, Any]) -> None:
        # The platform writes the run's outcome into the flow, which is an update of the flow:
        # its etag and updatedAt move although nobody edited it (variance.RUN_END_TOUCHES_FLOW).
        with self.store.transaction():
            flow = self.store.get("flows", flow_id, scope)
            if flow is None:
                return
            duration = run["metrics"]["durationSummary"]
            flow["lastRunDetails"] = {
                "id": run["id"],
                "state": run["metrics"]["statusSummary"]["status"],
                "startedAtUTC": duration.get("startedAtUTC"),
                "completedAtUTC": duration.get("completedAtUTC"),
            }
            if self.variance.on(RUN_END_TOUCHES_FLOW):
                etag = new_etag()
                flow.update(updatedAt=now_ms(), etag=etag, version=etag)
            self.store.replace("flows", flow_id, flow, flow["updatedAt"])

    def _promote(self, dataset_id: str, scope: Scope, run_id: str, batch: str) -> None:
        # One transaction: readers see all of the batch and the dataset's lastBatchId, or none.
        with self.store.transaction():
            self.store.promote_staged(run_id, dataset_id, scope, batch, now_ms())
            dataset = self.store.get("dataSets", dataset_id, scope)
            if dataset is not None:
                dataset["lastBatchId"] = batch
                dataset["lastBatchStatus"] = "success"
                self.store.replace("dataSets", dataset_id, dataset, dataset.get("updated", 0))

    # -- what a flow points at ----------------------------------------------------------------

    def _flow_parts(self, flow: dict[str, Any], scope: Scope) -> FlowParts:
        source = self._require("sourceConnections", _first(flow.get("sourceConnectionIds")), scope)
        base = self._require("connections", source.get("baseConnectionId", ""), scope)
        target = self._require("targetConnections", _first(flow.get("targetConnectionIds")), scope)
        dataset_id = target["params"]["dataSetId"]
        dataset = self._require("dataSets", dataset_id, scope)
        schema_id = dataset.get("schemaRef", {}).get("id", "")
        schema = self._require("schemas", schema_id, scope)
        mapping = next(t for t in flow["transformations"] if t["name"] == "Mapping")["params"]
        version = dataprep.load_version(
            self.store, mapping["mappingId"], int(mapping["mappingVersion"]), scope
        )
        if version is None:
            raise MissingDependency(
                f"The mapping set {mapping['mappingId']} version {mapping['mappingVersion']} "
                "no longer exists."
            )
        return FlowParts(
            flow=flow,
            source=source,
            access_token=base.get("auth", {}).get("params", {}).get("accessToken", ""),
            target=target,
            dataset_id=dataset_id,
            mappings=version["mappings"],
            target_schema=resolve_schema(schema, self.schema_lookup(scope)),
        )

    def schema_lookup(self, scope: Scope):
        def lookup(ref: str) -> dict | None:
            for kind in ("classes", "mixins", "schemas", "datatypes"):
                doc = self.store.get(kind, ref, scope)
                if doc is not None:
                    return doc
            return None

        return lookup

    def _require(self, kind: str, entity_id: str, scope: Scope) -> dict[str, Any]:
        doc = self.store.get(kind, entity_id, scope) if entity_id else None
        if doc is None:
            raise MissingDependency(f"The {kind[:-1]} {entity_id or '(none)'} no longer exists.")
        return doc

    # -- start-up -------------------------------------------------------------------------------

    def fail_interrupted_runs(self, queued_run_ids: set[str]) -> int:
        """Runs left open (``inProgress``, ``queued``) by a previous process can never finish:
        fail them.

        Their staged records go too: no run is executing yet, and queued runs stage nothing
        before they start.
        """
        self.store.discard_staged()
        failed = 0
        for run, scope in self.store.list_all(RUNS):
            status = run["metrics"]["statusSummary"]["status"]
            if status not in runner.OPEN_STATUSES or run["id"] in queued_run_ids:
                continue
            window = window_of(run)
            outcome = _failed_outcome(
                window, INTERRUPTED, "The run was interrupted because the platform restarted."
            )
            self._finish(run, scope, outcome, None, batch_id())
            failed += 1
        return failed


def diagnostics_enabled(flow: dict[str, Any]) -> bool:
    """The flow's ``options.errorDiagnosticsEnabled``: keep failed records for Data Access."""
    return (flow.get("options") or {}).get("errorDiagnosticsEnabled") is True


def window_of(run: dict[str, Any]) -> Window:
    params = run.get("params") or {}
    return Window(float(params.get("windowStartTime", 0)), float(params.get("windowEndTime", 0)))


def _run_extra(flow: dict[str, Any], window: Window) -> dict[str, Any]:
    return {
        "imsOrgId": flow["imsOrgId"],
        "flowSpec": flow["flowSpec"],
        "providerRefId": f"M-{flow['id']}-incremental",
        "params": {
            "windowStartTime": str(window.stripe_start or 0),
            "windowEndTime": str(window.stripe_end),
        },
    }


def _copy_type(window: Window) -> str:
    return "one-time" if window.start <= 0 else "incremental"


def _first(values: Any) -> str:
    return values[0] if isinstance(values, list) and values else ""


def _failed_outcome(window: Window, code: str, message: str) -> runner.RunOutcome:
    now = now_ms()
    return runner.RunOutcome(
        status="failed",
        started_at_ms=now,
        completed_at_ms=now,
        window_start=window.stripe_start,
        window_end=window.stripe_end,
        input_records=0,
        output_records=0,
        failed_records=0,
        input_bytes=0,
        output_bytes=0,
        records=[],
        errors=[{"code": code, "message": message}],
        record_errors=[],
        copy_completed_at_ms=now,
        failure_stage="copy",
    )
