"""Generated requests (schemathesis) against the Flow Service operations the emulator serves.

Adobe's spec, with the documented deviations of tests/emulators/aep/flow_spec.py applied and no
others, drives a derandomized, bounded run: every implemented operation gets valid requests
(positive mode) and, where the spec leaves something to break, invalid ones (negative mode).
Path parameters name real entities of a Stripe pipeline, so GET/PATCH/action calls reach the
entities rather than only 404s; deletes run last. Each response must not be a 5xx, must have a
status, content type, headers and body the spec allows, and an invalid request must be refused.
The run collects every finding and reports them together instead of stopping at the first.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from emulators.aep.testing import (
    DATA_LAKE_SPEC_ID,
    FLOW_SERVICE,
    FLOW_SPEC_ID,
    STRIPE_SPEC_ID,
    PlatformSession,
    build_stripe_pipeline,
    create_flow,
    expect,
)
from tests.emulators.aep.flow_spec import patched_spec

pytestmark = pytest.mark.integration

# The spec's operations the emulator serves; the others (connection/flow/run search, configs,
# spec writes, PUT /runs, source/target actions) answer 404/405 by design.
IMPLEMENTED = (
    "listConnections",
    "createConnection",
    "retrieveConnection",
    "testConnection",
    "getByConnectionId",
    "patchConnection",
    "deleteConnection",
    "listConnectionSpecs",
    "retrieveConnectionSpec",
    "listFlowSpecs",
    "retrieveFlowSpec",
    "getSourceConnections",
    "createSourceConnection",
    "retrieveSourceConnection",
    "patchSourceConnection",
    "deleteSourceConnection",
    "getTargetConnections",
    "createTargetConnection",
    "retrieveTargetConnection",
    "patchTargetConnection",
    "deleteTargetConnection",
    "listFlows",
    "createFlow",
    "retrieveFlow",
    "patchFlow",
    "postStateTransition",
    "deleteByFlow",
    "listFlowRuns",
    "createFlowRun",
    "retrieveFlowRun",
    "postAction",
)
EXAMPLES_PER_OPERATION = 20
# The budget is EXAMPLES_PER_OPERATION; this is a safety stop (a quiet machine needs about a
# third of it). Whatever it cuts off is reported as skipped, which fails the test.
TIME_BUDGET_SECONDS = 150
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
# schemathesis's default list plus 412: an invalid body sent with a stale If-Match is refused
# for the precondition first, as RFC 9110 §13.2.1 orders it (before the content is processed).
REJECTION_STATUSES = ["400", "401", "403", "404", "405", "406", "409", "412", "415", "422",
                      "428", "429", "5xx"]  # fmt: skip


@dataclass(frozen=True)
class Finding:
    operation: str
    mode: str
    status: int
    title: str
    detail: str

    def __str__(self) -> str:
        return f"{self.operation} [{self.mode}] -> {self.status}: {self.title}\n{self.detail}"


@dataclass
class Report:
    cases: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    findings: dict[tuple[str, str, int, str], Finding] = field(default_factory=dict)
    exercised: set[str] = field(default_factory=set)
    nothing_to_negate: set[str] = field(default_factory=set)
    skipped: set[str] = field(default_factory=set)

    def add(self, finding: Finding) -> None:
        # One finding per operation, mode, status and kind keeps the report readable.
        key = (finding.operation, finding.mode, finding.status, finding.title)
        self.findings.setdefault(key, finding)


# -- the run ----------------------------------------------------------------------------------


def _schema(base_url: str, headers: dict[str, str]) -> schemathesis.BaseSchema:
    config = schemathesis.Config.from_dict(
        {
            "base-url": f"{base_url}{FLOW_SERVICE}",
            "headers": headers,
            "request-timeout": 30,
            "checks": {"negative_data_rejection": {"expected-statuses": REJECTION_STATUSES}},
        }
    )
    return schemathesis.openapi.from_dict(patched_spec(), config=config).include(
        operation_id=list(IMPLEMENTED)
    )


@dataclass(frozen=True)
class Targets:
    """Real entities for path parameters, and body fields that make a create refer to them."""

    path_ids: dict[str, str]
    pinned_fields: dict[str, dict[str, Any]]


def _real_entities(aep: PlatformSession, stripe_key: str) -> Targets:
    """A pipeline with a flow that has started a run."""
    pipeline = build_stripe_pipeline(aep, stripe_key)
    flow_id = create_flow(aep, pipeline)
    path_ids = {
        "BASE_CONNECTION_ID": pipeline.base_connection_id,
        "SOURCE_CONNECTION_ID": pipeline.source_connection_id,
        "TARGET_CONNECTION_ID": pipeline.target_connection_id,
        "FLOW_ID": flow_id,
        "RUN_ID": _first_run_id(aep, flow_id),
        "CONNECTION_SPEC_ID": STRIPE_SPEC_ID,
        "FLOW_SPEC_ID": FLOW_SPEC_ID,
    }
    stripe_spec = {"id": STRIPE_SPEC_ID, "version": "1.0"}
    # Far in the future, so the flows the run creates never come due while it lasts.
    later = int(time.time()) + 30 * 86_400
    pinned = {
        "createConnection": {
            "connectionSpec": stripe_spec,
            "auth": {"specName": "OAuth2 Refresh Code", "params": {"accessToken": stripe_key}},
        },
        "createSourceConnection": {
            "baseConnectionId": pipeline.base_connection_id,
            "connectionSpec": stripe_spec,
            "data": {"format": "json"},
            "params": {"resourcePath": "charges"},
        },
        "createTargetConnection": {
            "connectionSpec": {"id": DATA_LAKE_SPEC_ID, "version": "1.0"},
            "data": {"format": "parquet_xdm", "schema": {"id": pipeline.schema_id}},
            "params": {"dataSetId": pipeline.dataset_id},
        },
        "createFlow": {
            "flowSpec": {"id": FLOW_SPEC_ID, "version": "1.0"},
            "sourceConnectionIds": [pipeline.source_connection_id],
            "targetConnectionIds": [pipeline.target_connection_id],
            "transformations": [
                {"name": "Mapping", "params": {"mappingId": pipeline.mapping_set_id}}
            ],
            "scheduleParams": {"startTime": later, "frequency": "day", "interval": "1"},
        },
        "createFlowRun": {"flowId": flow_id},
    }
    return Targets(path_ids, pinned)


def _first_run_id(aep: PlatformSession, flow_id: str) -> str:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        query = {"property": f"flowId=={flow_id}"}
        runs = expect(aep.get(f"{FLOW_SERVICE}/runs", params=query), 200)["items"]
        if runs:
            return runs[0]["id"]
        time.sleep(0.1)
    raise AssertionError("the once flow never started a run")


def _plan(schema: schemathesis.BaseSchema) -> list[tuple[Any, GenerationMode]]:
    operations = [result.ok() for result in schema.get_all_operations()]
    assert sorted(schema.get_operation_id(op) for op in operations) == sorted(IMPLEMENTED)
    plan = [(op, mode) for mode in MODES for op in operations]
    # Deleting the shared entities first would leave the other operations only 404s.
    return sorted(plan, key=lambda item: item[0].method.upper() == "DELETE")


def _strategy(operation: Any, mode: GenerationMode, targets: Targets) -> Any:
    ids = targets.path_ids
    path = {p.name: ids[p.name] for p in operation.path_parameters if p.name in ids}
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path)
    pinned = targets.pinned_fields.get(operation.schema.get_operation_id(operation))
    if mode is not GenerationMode.POSITIVE or not pinned:
        # Pinning fields of an invalid body could make it valid again.
        return strategy

    def pin(case: Any) -> Any:
        if isinstance(case.body, dict):
            case.body = {**case.body, **pinned}
        return case

    return strategy.map(pin)


def _exercise(
    operation: Any, mode: GenerationMode, targets: Targets, deadline: float, report: Report
) -> None:
    strategy = _strategy(operation, mode, targets)
    session = requests.Session()

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def call(case: Any) -> None:
        if time.monotonic() > deadline:
            report.skipped.add(operation.label)
            return
        response = case.call(session=session)
        report.cases += 1
        report.statuses[response.status_code] += 1
        report.exercised.add(operation.label)
        for failure in _failures(case, response):
            report.add(
                Finding(
                    operation.label,
                    mode.value,
                    response.status_code,
                    failure.title,
                    f"{failure}\n{case.as_curl_command()}",
                )
            )

    try:
        call()
    except Unsatisfiable:
        # Nothing in the request can be made invalid (only fixed headers and path ids).
        report.nothing_to_negate.add(operation.label)


def _failures(case: Any, response: Any) -> list[Failure]:
    try:
        case.validate_response(response, checks=CHECKS)
    except BaseExceptionGroup as group:
        return [f for f in group.exceptions if isinstance(f, Failure)]
    except Failure as failure:
        return [failure]
    return []


def run_schemathesis(base_url: str, token_session: PlatformSession, targets: Targets) -> Report:
    schema = _schema(base_url, dict(token_session.headers))
    report = Report()
    deadline = time.monotonic() + TIME_BUDGET_SECONDS
    for operation, mode in _plan(schema):
        _exercise(operation, mode, targets, deadline, report)
    return report


# -- tests ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def platform(aep_server, stripe_server):
    requests.post(f"{aep_server.url}/__emulator__/reset", timeout=10).raise_for_status()
    with PlatformSession(aep_server.url) as session:
        yield session


@pytest.mark.timeout(240)
def test_generated_requests_get_no_5xx_and_answers_the_spec_allows(
    aep_server, stripe_server, platform
):
    targets = _real_entities(platform, stripe_server.secret_key)

    report = run_schemathesis(aep_server.url, platform, targets)

    findings = "\n\n".join(map(str, report.findings.values()))
    assert not report.findings, f"{len(report.findings)} finding(s):\n\n{findings}"
    assert not report.skipped, f"time budget spent before {sorted(report.skipped)}"
    assert len(report.exercised) == len(IMPLEMENTED)
    assert report.cases >= len(IMPLEMENTED) * 2
    assert {200, 201, 204} <= set(report.statuses), report.statuses
    assert any(400 <= status < 500 for status in report.statuses), report.statuses


def test_the_run_reports_a_response_the_spec_does_not_allow(aep_server, stripe_server, platform):
    """Without the 'schedule-params-strings' deviation a stored flow no longer conforms, so the
    same harness must flag GET /flows/{FLOW_ID}: the checks above are live."""
    targets = _real_entities(platform, stripe_server.secret_key)
    strict = patched_spec(
        only=("empty-content", "client-error-bodies", "flow-spec-transformations")
    )
    config = schemathesis.Config.from_dict(
        {"base-url": f"{aep_server.url}{FLOW_SERVICE}", "headers": dict(platform.headers)}
    )
    schema = schemathesis.openapi.from_dict(strict, config=config)
    operation = schema["/flows/{FLOW_ID}"]["GET"]
    report = Report()

    _exercise(operation, GenerationMode.POSITIVE, targets, time.monotonic() + 30, report)

    titles = {finding.title for finding in report.findings.values()}
    assert report.statuses == Counter({200: report.cases})
    assert "Response violates schema" in titles, titles


# -- what earlier runs found, pinned as plain requests ------------------------------------------


@pytest.mark.parametrize(
    ("query", "code"),
    [({"count": "maybe"}, "FLOW-1444-400"), ({"limit": ""}, "FLOW-1444-400")],
)
def test_a_list_refuses_a_count_or_limit_that_is_no_value(aep, query, code):
    response = aep.get(f"{FLOW_SERVICE}/flows", params=query)

    assert expect(response, 400)["type"].endswith(code)


@pytest.mark.parametrize(
    ("query", "body"),
    [
        ("op=disable", b"\x8b{not json"),
        ("op=disable&subOp=21796196", None),
        ("op=disable", b'{"percentCompleted": "half"}'),
        ("op=disable", b'{"status": {"errors": [{"details": true}]}}'),
        ("op=disable", b'{"recordTypes": [{"type": "x"}]}'),
    ],
)
def test_a_flow_action_refuses_a_broken_sub_operation_or_body(aep, stripe_server, query, body):
    flow_id = create_flow(aep, build_stripe_pipeline(aep, stripe_server.secret_key))
    headers = {"Content-Type": "application/json"} if body else {}

    response = aep.post(
        f"{FLOW_SERVICE}/flows/{flow_id}/action?{query}", data=body, headers=headers
    )

    assert expect(response, 400)["type"].endswith("FLOW-1406-400")
    assert expect(aep.get(f"{FLOW_SERVICE}/flows/{flow_id}"), 200)["items"][0]["state"] == "enabled"


def test_a_flow_action_accepts_a_well_formed_state_action_body(aep, stripe_server):
    flow_id = create_flow(aep, build_stripe_pipeline(aep, stripe_server.secret_key))
    body = {"percentCompleted": 100, "status": {"value": "completed", "errors": []}}

    response = aep.post(
        f"{FLOW_SERVICE}/flows/{flow_id}/action",
        params={"op": "disable", "subOp": "apply"},
        json=body,
    )

    assert expect(response, 200)["id"] == flow_id
    assert (
        expect(aep.get(f"{FLOW_SERVICE}/flows/{flow_id}"), 200)["items"][0]["state"] == "disabled"
    )
