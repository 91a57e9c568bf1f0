"""Management commands against the real emulator: dry runs change nothing, real runs are
audited, and a dataflow exported as a plan is rebuilt in another sandbox."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from emulators.aep.testing import PlatformSession, create_charge_schema
from monitoring.models import AuditEvent, Dataflow
from operations.models import Operation
from tests.base import BaseTestCase, make_sandbox
from tests.emulator_world import DEMO_KEY, AEPWorld


def command(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.mark.integration
class OpsCommandsTestCase(BaseTestCase):
    @pytest.fixture(autouse=True)
    def _emulator(self, aep_emulator, stripe_stand_in, tmp_path):
        self.emulator_url = aep_emulator.url
        self.tmp_path = tmp_path
        with override_settings(STRIPE_API_BASE=stripe_stand_in.url):
            yield

    def setUp(self) -> None:
        super().setUp()
        self.world = AEPWorld(self.emulator_url)
        self.account = self.world.account()
        self.flow = self.world.dataflow(self.account)

    def state(self) -> str:
        return self.world.client.flowservice.get_flow(self.flow.flow_id).state

    def test_disable_dry_run_changes_nothing_then_the_real_run_does(self):
        out = command("ops_dataflow", "disable", str(self.flow.pk), "--user", "sam", "--dry-run")
        assert "Disable" in out and "Dry run" in out
        assert self.state() == "enabled"
        assert not Operation.objects.exists() and not AuditEvent.objects.exists()

        command(
            "ops_dataflow",
            "disable",
            self.flow.flow_id,
            "--user",
            "sam",
            "--reason",
            "Noisy",
            "--ticket",
            "SUP-5",
        )
        assert self.state() == "disabled"
        event = AuditEvent.objects.get()
        assert (event.action, event.actor_name, event.ticket) == (
            "dataflow.disable",
            "sam",
            "SUP-5",
        )

    def test_disable_with_a_resume_time_schedules_the_enable(self):
        soon = timezone.now().astimezone(ZoneInfo("Asia/Seoul")) + timedelta(days=1)
        text = soon.replace(second=0, microsecond=0).isoformat()
        out = command(
            "ops_dataflow", "disable", str(self.flow.pk), "--user", "sam", "--reason", "Window",
            "--resume-at", text,
        )  # fmt: skip
        assert "enabled again at" in out and self.state() == "disabled"
        pause = Operation.objects.get(kind=Operation.Kind.DATAFLOW_DISABLE)
        assert pause.resume_at == soon.replace(second=0, microsecond=0)
        assert pause.resume_at.utcoffset() == timedelta(0)

    def test_a_resume_time_must_be_aware_future_near_and_only_for_disable(self):
        base = ["ops_dataflow", "disable", str(self.flow.pk), "--user", "sam", "--reason", "x"]
        cases = {
            "tomorrow": "is not a date and time",
            "2030-01-01T09:00": "needs a UTC offset",
            "2001-01-01T09:00+09:00": "Pick a time in the future.",
            "2999-01-01T09:00+00:00": "Pick a time at most 90 days ahead.",
        }
        for text, message in cases.items():
            with pytest.raises(CommandError, match=message):
                command(*base, "--resume-at", text)
        with pytest.raises(CommandError, match="goes with disable only"):
            command("ops_dataflow", "enable", str(self.flow.pk), "--user", "sam",
                    "--resume-at", "2030-01-01T09:00+00:00")  # fmt: skip
        assert not Operation.objects.exists() and self.state() == "enabled"

    def test_commands_need_a_role_that_may_operate_and_a_reason(self):
        with pytest.raises(CommandError, match="no role"):
            command("ops_dataflow", "disable", str(self.flow.pk), "--user", "mina", "--reason", "x")
        with pytest.raises(CommandError, match="--reason is required"):
            command("ops_dataflow", "disable", str(self.flow.pk), "--user", "sam")
        with pytest.raises(CommandError, match="--confirm"):
            command(
                "ops_account", "delete", str(self.account.pk), "--user", "sam", "--reason", "left"
            )
        assert self.state() == "enabled"

    def test_account_delete_dry_run_lists_the_cascade_then_deletes_it(self):
        out = command("ops_account", "delete", str(self.account.pk), "--user", "alex", "--dry-run")
        lines = [line.strip() for line in out.splitlines()]
        assert lines[0].startswith("1. Check that nothing else started using")
        assert lines[2].startswith("3. Delete dataflow")
        assert "Delete account" in lines[-2]
        assert self.world.exists("flows", self.flow.flow_id)

        command(
            "ops_account",
            "delete",
            self.account.connection_id,
            "--user",
            "alex",
            "--reason",
            "Customer left",
            "--confirm",
            self.account.name,
        )
        assert not self.world.exists("flows", self.flow.flow_id)
        assert not self.world.exists("connections", self.account.connection_id)

    def test_a_plan_rebuilds_the_dataflow_in_another_sandbox(self):
        path = self.tmp_path / "plan.json"
        # A disabled flow: its GET carries `state`, which Flow Service refuses on create.
        self.world.client.flowservice.disable_flow(self.flow.flow_id)
        call_command("ops_export_plan", str(self.flow.pk), "--out", str(path), stderr=io.StringIO())
        text = path.read_text()
        plan = json.loads(text)
        assert [s["ref"] for s in plan["steps"]] == [
            "connection",
            "source_connection",
            "dataset",
            "target_connection",
            "mapping_set",
            "flow",
        ]
        assert DEMO_KEY not in text
        assert plan["steps"][-1]["body"]["sourceConnectionIds"] == ["{{source_connection}}"]
        assert "state" not in plan["steps"][-1]["body"]

        dev = make_sandbox(
            display_name="Demo dev",
            sandbox_name="dev",
            platform_url=self.emulator_url,
            ims_url=self.emulator_url,
        )
        dev_session = PlatformSession(self.emulator_url, sandbox="dev")
        _c, _g, dev_schema = create_charge_schema(dev_session, title="Charges in dev")
        out = command(
            "ops_apply_plan",
            str(path),
            "--sandbox",
            "Demo dev",
            "--user",
            "sam",
            "--schema-id",
            dev_schema,
            "--stripe-key-env",
            "OPS_TEST_KEY",
            "--dry-run",
        )
        assert "POST /data/foundation/flowservice/flows" in out
        assert not Dataflow.objects.filter(sandbox=dev).exists()

        with pytest.MonkeyPatch.context() as env:
            env.setenv("OPS_TEST_KEY", DEMO_KEY)
            out = command(
                "ops_apply_plan",
                str(path),
                "--sandbox",
                str(dev.pk),
                "--user",
                "sam",
                "--schema-id",
                dev_schema,
                "--stripe-key-env",
                "OPS_TEST_KEY",
                "--name",
                "Charges copied to dev",
                "--reason",
                "Staging copy",
            )
        copy = Dataflow.objects.get(sandbox=dev)
        assert copy.name == "Charges copied to dev" and copy.resource_path == "charges"
        flow = dev_session.get(f"/data/foundation/flowservice/flows/{copy.flow_id}").json()
        assert flow["items"][0]["name"] == "Charges copied to dev"
        assert self.world.exists("flows", self.flow.flow_id)  # the original is untouched
        created = AuditEvent.objects.filter(sandbox=dev).values_list("action", flat=True)
        assert set(created) == {
            f"{ref}.create"
            for ref in (
                "connection",
                "source_connection",
                "dataset",
                "target_connection",
                "mapping_set",
                "flow",
            )
        }
        assert DEMO_KEY not in json.dumps(list(AuditEvent.objects.values("after")))

    def test_dataflow_delete_dry_run_lists_the_steps_and_changes_nothing(self):
        out = command("ops_dataflow", "delete", str(self.flow.pk), "--user", "sam", "--dry-run")
        lines = [line.strip() for line in out.splitlines()]
        assert lines[0].startswith("1. Check that nothing else started using")
        assert lines[1].startswith("2. Delete dataflow")
        assert not any("account" in line for line in lines)
        assert lines[-1] == "Dry run: nothing was changed."
        assert self.world.exists("flows", self.flow.flow_id)
        assert not Operation.objects.exists() and not AuditEvent.objects.exists()
