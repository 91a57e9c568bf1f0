"""Generated requests (schemathesis) against the live API, from its own OpenAPI schema, with a
token per role: no 5xx, and every answer's status, content type and body as the schema says.

Path ids name real rows (and, on a second pass, whatever is generated), so the calls reach the
objects rather than only 404s. Actions really start operations; their jobs are not sent to a
worker here (nothing reaches AEP).
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from unittest.mock import patch

import hypothesis
import pytest
import requests
import schemathesis
from django.db import connections
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.tokens import issue
from core.roles import ADMIN, MARKETING_OPS, SUPPORT, ensure_roles
from monitoring.models import Dataflow
from operations import service
from operations.models import Operation
from tests.base import make_sandbox, make_user
from tests.operations.factories import make_account, make_dataflow, make_run

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

EXAMPLES_PER_OPERATION = 4
TIME_BUDGET_SECONDS = 240
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@dataclass
class Report:
    cases: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    findings: dict[tuple[str, str, int, str], str] = field(default_factory=dict)
    skipped: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class World:
    tokens: dict[str, str]
    ids: dict[str, Any]  # "dataflow", "run", "account", "operation"


def _world() -> World:
    ensure_roles()
    people = {
        "mina": make_user("mina", MARKETING_OPS),
        "sam": make_user("sam", SUPPORT),
        "alex": make_user("alex", ADMIN),
        "nora": make_user("nora"),
    }
    tokens = {name: issue(user, "fuzz")[1] for name, user in people.items()}
    sandbox = make_sandbox()
    account = make_account(sandbox)
    flow = make_dataflow(account, "charges", owner=people["mina"], health=Dataflow.Health.FAILING)
    make_dataflow(account, "refunds", health=Dataflow.Health.HEALTHY)
    run = make_run(flow, "failed")
    operation = service.create(Operation.Kind.DATAFLOW_DELETE, actor=people["sam"], dataflow=flow)
    Operation.objects.filter(pk=operation.pk).update(
        status=Operation.Status.AWAITING_CONFIRMATION, preview={"flows": []}
    )
    ids = {
        "dataflow": flow.pk,
        "run": run.pk,
        "account": account.pk,
        "operation": str(operation.pk),
    }
    return World(tokens, ids)


def _id_for(path: str, ids: dict[str, Any]) -> Any:
    for prefix, key in (
        ("/operations/", "operation"),
        ("/runs/", "run"),
        ("/accounts/", "account"),
    ):
        if prefix in path:
            return ids[key]
    if "/jobs/" in path:
        return None
    return ids["dataflow"]


def _exercise(
    operation, mode, pinned: bool, world: World, deadline: float, report: Report, role: str
):
    path_ids = {}
    if pinned and operation.path_parameters:
        real = _id_for(operation.path, world.ids)
        if real is None:
            return
        path_ids = {p.name: real for p in operation.path_parameters}
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_ids)
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
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {world.tokens[role]}"}
        response = case.call(session=session)
        report.cases += 1
        report.statuses[response.status_code] += 1
        for failure in _failures(case, response):
            key = (operation.label, role, response.status_code, failure.title)
            report.findings.setdefault(key, f"{key}: {failure}\n{case.as_curl_command()}")

    # Unsatisfiable: nothing in the request can be made invalid (only the path id).
    with contextlib.suppress(hypothesis.errors.Unsatisfiable):
        call()


def _failures(case: Any, response: Any) -> list[Failure]:
    try:
        case.validate_response(response, checks=CHECKS)
    except BaseExceptionGroup as group:
        return [f for f in group.exceptions if isinstance(f, Failure)]
    except Failure as failure:
        return [failure]
    return []


@pytest.fixture
def connections_closed_per_request():
    """The live server answers each request in a thread of its own: without this, each such
    thread would keep its database connection (CONN_MAX_AGE) until the process ends."""
    default = connections.settings["default"]
    kept = default.get("CONN_MAX_AGE")
    default["CONN_MAX_AGE"] = 0
    yield
    default["CONN_MAX_AGE"] = kept


@pytest.mark.timeout(330)
@pytest.mark.usefixtures("connections_closed_per_request")
def test_generated_requests_for_every_role_get_no_5xx_and_answers_the_schema_allows(
    live_server, settings
):
    settings.API_RATE_PER_MINUTE = 100_000
    world = _world()
    schema_url = f"{live_server.url}/api/v1/openapi.json"
    config = schemathesis.Config.from_dict({"base-url": live_server.url, "request-timeout": 30})
    schema = schemathesis.openapi.from_url(schema_url, config=config)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    report = Report()
    deadline = time.monotonic() + TIME_BUDGET_SECONDS
    # Jobs are recorded but not sent: no worker runs here and nothing may reach AEP.
    with patch("celery.contrib.django.task.DjangoTask.delay_on_commit"):
        for role in ("nora", "mina", "sam", "alex"):
            for operation in operations:
                _exercise(operation, GenerationMode.POSITIVE, True, world, deadline, report, role)
        for operation in operations:
            _exercise(operation, GenerationMode.POSITIVE, False, world, deadline, report, "sam")
            _exercise(operation, GenerationMode.NEGATIVE, True, world, deadline, report, "alex")

    findings = "\n\n".join(report.findings.values())
    assert not report.findings, f"{len(report.findings)} finding(s):\n\n{findings}"
    assert not report.skipped, f"time budget spent before {sorted(report.skipped)}"
    assert {200, 202, 403, 404} <= set(report.statuses), report.statuses
