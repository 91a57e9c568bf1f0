"""The readiness check against the AEP emulator: every call passes on a healthy sandbox, and a
missing permission, a wrong sandbox name, injected faults and a bad secret each fail with a
fix in plain words. The report never holds a secret."""

from __future__ import annotations

import json
from datetime import timedelta
from unittest.mock import patch

import pytest
import requests
from django.core.management import call_command
from django.utils import timezone

from aep.ims import IMSTokenProvider
from monitoring import readiness
from monitoring.models import Run
from tests.emulator_world import DEMO_KEY, AEPWorld, emulator_sandbox, run_rejecting_flow

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

CATALOG = "/data/foundation/catalog"
REGISTRY = "/data/foundation/schemaregistry"


@pytest.fixture
def world(aep_emulator):
    world = AEPWorld(aep_emulator.url)
    yield world
    world.clear_faults()


@pytest.fixture
def busy_world(world, stripe_stand_in):
    """An account, two dataflows with runs, and a run whose rejected records AEP kept."""
    account = world.account(DEMO_KEY)
    first = world.dataflow(account, "charges")
    world.dataflow(account, "customers")
    world.mirror_runs(first)
    _flow_id, run = run_rejecting_flow(
        world.client, world.url, stripe_stand_in.secret_key, diagnostics=True
    )
    Run.objects.create(
        dataflow=first,
        run_id=run["id"],
        status="partialSuccess",
        created_at=timezone.now(),
        failed_records=3,
        activities=run.get("activities") or [],
    )
    return world


def rows(report: dict) -> dict[str, dict]:
    return {row["call"]: row for row in report["checks"]}


def outcomes(report: dict) -> dict[str, str]:
    return {row["call"]: row["outcome"] for row in report["checks"]}


def test_a_healthy_sandbox_passes_every_read_check(busy_world):
    report = readiness.check_sandbox(busy_world.sandbox)

    assert report["ready"], [r for r in report["checks"] if r["outcome"] != "passed"]
    by_call = rows(report)
    token = by_call["IMS access token"]
    assert (token["status"], token["request"]) == (200, "POST /ims/token/v3")
    assert by_call["Clock"]["outcome"] == "passed"
    flows = by_call["Stripe dataflows (discovery)"]
    assert flows["request"] == (
        "GET /data/foundation/flowservice/flows?property=inheritedAttributes.sourceConnections[]"
        ".connectionSpec.id==cc2c31d6-7b8c-4581-b49f-5c8698aa3ab3"
    )
    assert flows["request_id"] and flows["ms"] >= 0
    assert by_call["Paging with continuation tokens"]["outcome"] == "passed"
    assert by_call["Paging with continuation tokens"]["requests"] == 2
    explores = [r for r in report["checks"] if r["call"].startswith("Explore ")]
    assert len(explores) == 6 and all(r["outcome"] == "passed" for r in explores)
    runs = next(r for r in report["checks"] if r["call"].startswith("Runs of "))
    assert "property=flowId==" in runs["request"] and "property=createdAt>=" in runs["request"]
    assert "orderby=createdAt" in runs["request"]
    assert "limit=100" in runs["request"]
    array_filter = by_call["Flows of a source connection (array filter)"]
    assert "property=sourceConnectionIds[]==" in array_filter["request"]
    assert by_call["Source connections of an account"]["outcome"] == "passed"
    diagnostics = next(r for r in report["checks"] if r["call"].startswith("Error diagnostics"))
    assert diagnostics["outcome"] == "passed"
    assert "rejected records read" in diagnostics["detail"]
    assert not any(r["call"].startswith("Create") for r in report["checks"])


def test_the_report_holds_no_secret(busy_world):
    issued: list[str] = []
    fetch = IMSTokenProvider._fetch

    def spy(provider):
        token = fetch(provider)
        issued.append(token.value)
        return token

    with patch.object(IMSTokenProvider, "_fetch", spy):
        report = readiness.check_sandbox(busy_world.sandbox)

    text = json.dumps(report)
    assert issued and all(token not in text for token in issued)
    assert busy_world.sandbox.client_secret.reveal() not in text
    assert busy_world.sandbox.client_id not in text
    assert DEMO_KEY not in text and "sk_test" not in text


def test_a_refused_api_fails_with_the_permission_to_grant(world):
    world.fault(path=f"{CATALOG}/*", kind="403", rate=1.0)

    report = readiness.check_sandbox(world.sandbox)

    assert not report["ready"]
    datasets = rows(report)["Datasets"]
    assert (datasets["outcome"], datasets["status"]) == ("failed", 403)
    assert "View Datasets / Manage Datasets permission" in datasets["fix"]
    assert datasets["request_id"]
    failed = [call for call, outcome in outcomes(report).items() if outcome == "failed"]
    assert failed == ["Datasets"]
    assert "1 of" in report["summary"]


def test_a_wrong_sandbox_name_says_so_and_stops(aep_emulator):
    sandbox = emulator_sandbox(aep_emulator.url, sandbox_name="nosuch", display_name="Typo")

    report = readiness.check_sandbox(sandbox)

    assert not report["ready"]
    stats = rows(report)["Schema Registry tenant ID"]
    assert stats["status"] == 404
    assert "no sandbox named “nosuch”" in stats["fix"]
    assert "technical name" in stats["fix"]
    assert [r["call"] for r in report["checks"]] == [
        "IMS access token",
        "Schema Registry tenant ID",
        "Clock",
    ]


def test_a_wrong_client_secret_fails_the_token_with_what_to_copy(aep_emulator):
    sandbox = emulator_sandbox(aep_emulator.url, client_secret="wrong", display_name="Bad")

    report = readiness.check_sandbox(sandbox)

    assert [r["call"] for r in report["checks"]] == ["IMS access token"]
    token = report["checks"][0]
    assert (token["outcome"], token["status"]) == ("failed", 401)
    assert "client secret" in token["fix"]
    assert "wrong" not in json.dumps(report)


@pytest.mark.parametrize(
    ("kind", "status", "words"),
    [("503", 503, "internal error"), ("429", 429, "slow down")],
)
def test_injected_faults_fail_the_call_they_hit(busy_world, kind, status, words):
    busy_world.fault(path="/data/foundation/flowservice/runs", kind=kind, rate=1.0)

    report = readiness.check_sandbox(busy_world.sandbox)

    runs = next(r for r in report["checks"] if r["call"].startswith("Runs of "))
    assert (runs["outcome"], runs["status"]) == ("failed", status)
    assert words in runs["fix"]
    others = [r for r in report["checks"] if r is not runs and r["outcome"] == "failed"]
    assert others == []


def test_an_expired_token_is_refreshed_and_the_check_passes(busy_world):
    busy_world.fault(path="/data/foundation/flowservice/flows", kind="expired_token")

    report = readiness.check_sandbox(busy_world.sandbox)

    assert report["ready"]
    # The refused call, a new token, the call again.
    assert rows(report)["Stripe dataflows (discovery)"]["requests"] == 3


def test_clock_skew_is_reported_with_its_fix(world):
    late = timezone.now() + timedelta(minutes=20)
    with patch("monitoring.readiness.timezone.now", return_value=late):
        report = readiness.check_sandbox(world.sandbox)

    clock = rows(report)["Clock"]
    assert clock["outcome"] == "failed"
    assert "NTP" in clock["fix"]


def registry_titles(world: AEPWorld, kind: str) -> list[str]:
    answer = world.session.get(
        f"{REGISTRY}/tenant/{kind}", headers={"Accept": "application/vnd.adobe.xed-id+json"}
    )
    return [item.get("title", "") for item in answer.json().get("results", [])]


def test_write_creates_and_deletes_every_throwaway_object(world):
    report = readiness.check_sandbox(world.sandbox, write=True)

    assert report["ready"], [r for r in report["checks"] if r["outcome"] == "failed"]
    calls = [r["call"] for r in report["checks"] if r["call"].startswith(("Create", "Delete"))]
    assert calls == [
        "Create a class",
        "Create a field group",
        "Create a schema",
        "Create an identity descriptor",
        "Create a dataset",
        "Delete the dataset",
        "Delete the descriptor",
        "Delete the schema",
        "Delete the field group",
        "Delete the class",
    ]
    for kind in ("classes", "fieldgroups", "schemas"):
        assert not any(
            t.startswith("stripe-sources-readiness-") for t in registry_titles(world, kind)
        )


def test_a_refused_create_still_deletes_what_was_made(world):
    world.fault(method="POST", path=f"{REGISTRY}/tenant/schemas", kind="403")

    report = readiness.check_sandbox(world.sandbox, write=True)

    by_call = rows(report)
    assert by_call["Create a schema"]["outcome"] == "failed"
    assert "Manage Schemas permission" in by_call["Create a schema"]["fix"]
    assert by_call["Delete the field group"]["outcome"] == "passed"
    assert by_call["Delete the class"]["outcome"] == "passed"
    assert "Create a dataset" not in by_call
    for kind in ("classes", "fieldgroups"):
        assert not any(
            t.startswith("stripe-sources-readiness-") for t in registry_titles(world, kind)
        )


def test_the_command_prints_the_table_writes_json_and_exits_1_on_failure(world, tmp_path, capsys):
    out = tmp_path / "report.json"
    call_command("aep_readiness", "--sandbox", str(world.sandbox.pk), "--json", str(out))
    printed = capsys.readouterr().out
    assert "[  ok] IMS access token: 200" in printed
    assert "Ready:" in printed
    assert json.loads(out.read_text())["ready"] is True

    world.fault(path=f"{CATALOG}/*", kind="403", rate=1.0)
    with pytest.raises(SystemExit) as exited:
        call_command("aep_readiness", "--sandbox", world.sandbox.display_name)
    assert exited.value.code == 1
    assert "→ The credential is not allowed" in capsys.readouterr().out


def test_the_command_names_the_sandboxes_when_none_matches(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No sandbox matches 'nope'"):
        call_command("aep_readiness", "--sandbox", "nope")


def test_the_emulator_answers_with_a_date_header(world):
    answer = requests.get(f"{world.url}/__emulator__/health", timeout=10)
    assert answer.headers.get("Date")
