"""Flow Service: connections, source/target connections, flows and their runs.

Base path /data/foundation/flowservice. Endpoint shapes are in docs/aep-api-notes.md §2-3; the
bodies of the `create_*` calls are built by `aep.payloads`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

from aep import quirks
from aep.http import AEPHttp, iter_continuation
from aep.types import (
    Connection,
    ConnectionSpec,
    Created,
    ExploreResult,
    Flow,
    FlowSpec,
    Run,
    SourceConnection,
    TargetConnection,
)

STRIPE_RESOURCE_PATHS = (
    "charges",
    "subscriptions",
    "refunds",
    "balance_transactions",
    "customers",
    "prices",
)
Countable = Literal["connections", "sourceConnections", "targetConnections", "flows", "runs"]


def patch_op(op: str, path: str, value: Any = None) -> dict[str, Any]:
    """One JSON-Patch operation, e.g. `patch_op("replace", "/name", "New name")`."""
    entry: dict[str, Any] = {"op": op, "path": path}
    if op != "remove":
        entry["value"] = value
    return entry


def source_params(resource_path: str) -> str:
    """`sourceParams` for explore: Base64 of `{"resourcePath": …}` (notes §2.4.2)."""
    raw = json.dumps({"resourcePath": resource_path}, separators=(",", ":"))
    return base64.b64encode(raw.encode()).decode()


def _list_params(
    properties: Sequence[str], orderby: str | None, limit: int | None
) -> list[tuple[str, Any]]:
    """`property` repeats (AND); `orderby`/`limit` only when given."""
    params: list[tuple[str, Any]] = [("property", value) for value in properties]
    if orderby:
        params.append(("orderby", orderby))
    if limit is not None:
        params.append(("limit", limit))
    return params


class FlowServiceClient:
    BASE_PATH = "/data/foundation/flowservice"

    def __init__(self, http: AEPHttp) -> None:
        self._http = http
        self._base = http.config.service_url(self.BASE_PATH)

    def _url(self, template: str, *ids: str) -> str:
        return self._base + template.format(*(quote(str(i), safe="") for i in ids))

    def _get_item(self, template: str, entity_id: str) -> dict[str, Any]:
        return quirks.unwrap_items(self._http.call("GET", self._url(template, entity_id)))

    def _create(self, template: str, body: Mapping[str, Any]) -> Created:
        return Created.from_api(self._http.call("POST", self._url(template), json=body))

    def _patch(
        self, template: str, entity_id: str, etag: str, ops: Iterable[Mapping[str, Any]]
    ) -> Created:
        body = self._http.call(
            "PATCH",
            self._url(template, entity_id),
            json=quirks.patch_body(ops),
            headers={"If-Match": quirks.if_match(etag)},
        )
        return Created.from_api(body)

    def _list(
        self, template: str, properties: Sequence[str], orderby: str | None, limit: int | None
    ) -> Iterator[dict[str, Any]]:
        return iter_continuation(
            self._http, self._url(template), _list_params(properties, orderby, limit)
        )

    def _action(self, template: str, entity_id: str, op: str) -> Created:
        # No body and so no Content-Type, as the docs and aepp send it (notes §2.4.8).
        url = self._url(template, entity_id)
        return Created.from_api(self._http.call("POST", url, params=[("op", op)]))

    # Base connections ----------------------------------------------------------------------

    def create_connection(self, body: Mapping[str, Any]) -> Created:
        """POST /connections: the base connection holding the Stripe key.

        Body: `payloads.base_connection`.
        """
        return self._create("/connections", body)

    def get_connection(self, connection_id: str) -> Connection:
        """GET /connections/{id}."""
        return Connection.from_api(self._get_item("/connections/{}", connection_id))

    def list_connections(
        self,
        *,
        properties: Sequence[str] = (),
        orderby: str | None = None,
        limit: int | None = None,
    ) -> Iterator[Connection]:
        """GET /connections, following continuation tokens."""
        for item in self._list("/connections", properties, orderby, limit):
            yield Connection.from_api(item)

    def patch_connection(
        self, connection_id: str, etag: str, ops: Iterable[Mapping[str, Any]]
    ) -> Created:
        """PATCH /connections/{id} with If-Match (e.g. rotate the Stripe key)."""
        return self._patch(quirks.CONNECTION_ITEM_PATH, connection_id, etag, ops)

    def delete_connection(self, connection_id: str) -> None:
        """DELETE /connections/{id} (dependent flows must be deleted first)."""
        url = self._url(quirks.CONNECTION_ITEM_PATH, connection_id)
        self._http.call("DELETE", url)

    def test_connection(self, connection_id: str) -> bool:
        """GET /connections/{id}/test."""
        body = self._http.call("GET", self._url("/connections/{}/test", connection_id)) or {}
        return bool(body.get("result", True))

    def explore_connection(
        self, connection_id: str, resource_path: str, *, preview: bool = False
    ) -> ExploreResult:
        """GET /connections/{id}/explore for a REST source's resource path."""
        params = [
            ("objectType", "rest"),
            ("object", "json"),
            ("fileType", "json"),
            ("preview", "true" if preview else "false"),
            ("sourceParams", source_params(resource_path)),
        ]
        url = self._url("/connections/{}/explore", connection_id)
        return ExploreResult.from_api(self._http.call("GET", url, params=params))

    # Specs -------------------------------------------------------------------------------

    def get_connection_spec(self, spec_id: str) -> ConnectionSpec:
        """GET /connectionSpecs/{id}."""
        return ConnectionSpec.from_api(self._get_item("/connectionSpecs/{}", spec_id))

    def list_connection_specs(self, *, properties: Sequence[str] = ()) -> Iterator[ConnectionSpec]:
        """GET /connectionSpecs."""
        for item in self._list("/connectionSpecs", properties, None, None):
            yield ConnectionSpec.from_api(item)

    def get_flow_spec(self, spec_id: str) -> FlowSpec:
        """GET /flowSpecs/{id}."""
        return FlowSpec.from_api(self._get_item("/flowSpecs/{}", spec_id))

    def list_flow_specs(self, *, properties: Sequence[str] = ()) -> Iterator[FlowSpec]:
        """GET /flowSpecs."""
        for item in self._list("/flowSpecs", properties, None, None):
            yield FlowSpec.from_api(item)

    # Source connections ------------------------------------------------------------------

    def create_source_connection(self, body: Mapping[str, Any]) -> Created:
        """POST /sourceConnections (`payloads.source_connection`)."""
        return self._create("/sourceConnections", body)

    def get_source_connection(self, source_connection_id: str) -> SourceConnection:
        """GET /sourceConnections/{id}."""
        return SourceConnection.from_api(
            self._get_item("/sourceConnections/{}", source_connection_id)
        )

    def list_source_connections(
        self,
        *,
        properties: Sequence[str] = (),
        orderby: str | None = None,
        limit: int | None = None,
    ) -> Iterator[SourceConnection]:
        """GET /sourceConnections, following continuation tokens."""
        for item in self._list("/sourceConnections", properties, orderby, limit):
            yield SourceConnection.from_api(item)

    def delete_source_connection(self, source_connection_id: str) -> None:
        """DELETE /sourceConnections/{id}."""
        self._http.call("DELETE", self._url("/sourceConnections/{}", source_connection_id))

    # Target connections ------------------------------------------------------------------

    def create_target_connection(self, body: Mapping[str, Any]) -> Created:
        """POST /targetConnections: the dataset a flow writes to (`payloads.target_connection`)."""
        return self._create("/targetConnections", body)

    def get_target_connection(self, target_connection_id: str) -> TargetConnection:
        """GET /targetConnections/{id}."""
        return TargetConnection.from_api(
            self._get_item("/targetConnections/{}", target_connection_id)
        )

    def list_target_connections(
        self,
        *,
        properties: Sequence[str] = (),
        orderby: str | None = None,
        limit: int | None = None,
    ) -> Iterator[TargetConnection]:
        """GET /targetConnections, following continuation tokens."""
        for item in self._list("/targetConnections", properties, orderby, limit):
            yield TargetConnection.from_api(item)

    def delete_target_connection(self, target_connection_id: str) -> None:
        """DELETE /targetConnections/{id}."""
        self._http.call("DELETE", self._url("/targetConnections/{}", target_connection_id))

    # Flows -------------------------------------------------------------------------------

    def create_flow(self, body: Mapping[str, Any]) -> Created:
        """POST /flows: one source, one target, one Mapping transformation (`payloads.flow`)."""
        return self._create("/flows", body)

    def get_flow(self, flow_id: str) -> Flow:
        """GET /flows/{id}."""
        return Flow.from_api(self._get_item("/flows/{}", flow_id))

    def list_flows(
        self,
        *,
        properties: Sequence[str] = (),
        orderby: str | None = None,
        limit: int | None = None,
    ) -> Iterator[Flow]:
        """GET /flows, following continuation tokens."""
        for item in self._list("/flows", properties, orderby, limit):
            yield Flow.from_api(item)

    def patch_flow(self, flow_id: str, etag: str, ops: Iterable[Mapping[str, Any]]) -> Created:
        """PATCH /flows/{id} with If-Match (schedule, name, mapping version…)."""
        return self._patch("/flows/{}", flow_id, etag, ops)

    def delete_flow(self, flow_id: str) -> None:
        """DELETE /flows/{id}."""
        self._http.call("DELETE", self._url("/flows/{}", flow_id))

    def enable_flow(self, flow_id: str) -> Created:
        """POST /flows/{id}/action?op=enable."""
        return self._action("/flows/{}/action", flow_id, quirks.FLOW_ACTION_ENABLE)

    def disable_flow(self, flow_id: str) -> Created:
        """POST /flows/{id}/action?op=disable."""
        return self._action("/flows/{}/action", flow_id, quirks.FLOW_ACTION_DISABLE)

    # Runs --------------------------------------------------------------------------------

    def list_runs(
        self,
        flow_id: str | Sequence[str] | None = None,
        *,
        properties: Sequence[str] = (),
        orderby: str | None = None,
        limit: int | None = None,
    ) -> Iterator[Run]:
        """GET /runs?property=flowId==… (plus any further filters), following tokens.

        Several flow ids become one comma-separated OR filter, `flowId==a,b,c` (notes §2
        "Filtering"): the runs of all of them, in one listing.
        """
        ids = [flow_id] if isinstance(flow_id, str) else list(flow_id or ())
        filters = [f"flowId=={','.join(ids)}", *properties] if ids else list(properties)
        for item in self._list("/runs", filters, orderby, limit):
            yield Run.from_api(item)

    def get_run(self, run_id: str) -> Run:
        """GET /runs/{id}."""
        return Run.from_api(self._get_item("/runs/{}", run_id))

    def retrigger_run(self, run_id: str) -> Created:
        """POST /runs/{id}/action?op=re-trigger (retry a failed run; answers the new run)."""
        return self._action("/runs/{}/action", run_id, quirks.RUN_ACTION_RETRIGGER)

    def create_run(
        self,
        flow_id: str,
        *,
        window_start: datetime,
        window_end: datetime,
        start_time: datetime | None = None,
    ) -> Created:
        """POST /runs (an ad-hoc run of a flow scheduled `once`)."""
        params = {
            "windowStartTime": quirks.adhoc_run_time(window_start),
            "windowEndTime": quirks.adhoc_run_time(window_end),
        }
        if start_time is not None:
            params["startTime"] = quirks.adhoc_run_time(start_time)
        return self._create("/runs", {"flowId": flow_id, "params": params})

    # Counting ----------------------------------------------------------------------------

    def count(self, collection: Countable, *, properties: Sequence[str] = ()) -> int:
        """GET /{collection}?count=true, which answers only `{"count": N}`."""
        params = [*_list_params(properties, None, None), ("count", "true")]
        body = self._http.call("GET", self._url(f"/{collection}"), params=params) or {}
        return int(body.get("count", 0))
