"""Account operations against the real AEP emulator and Stripe stand-in: rotate the key
(probe first), conflicts, and the cascade delete, including faults halfway through."""

from __future__ import annotations

from django.test import override_settings

from aep import payloads
from emulators.aep.testing import DEMO_TENANT_ID
from monitoring.models import Account, AuditEvent
from operations import service
from operations.models import Operation
from operations.tasks import OPERATION_TASKS
from tests.emulator_world import READONLY_KEY, run_now
from tests.operations.cases import EmulatorOpsTestCase
from tests.operations.jobs import run_next_job


class EmulatorAccountOpsTestCase(EmulatorOpsTestCase):
    def tearDown(self) -> None:
        self.world.clear_faults()
        super().tearDown()

    def rotate(self, key: str) -> Operation:
        return run_next_job(
            service.create(
                Operation.Kind.ACCOUNT_ROTATE_KEY,
                actor=self.sam,
                account=self.account,
                reason="Key leaked in a support chat",
                ticket="SUP-77",
                params={
                    "seen": {
                        "name": self.account.name,
                        "description": "",
                        "etag": self.account.etag,
                    }
                },
                secret=key,
            )
        )

    def test_rotating_to_a_restricted_key_shows_who_loses_access_then_patches(self):
        charges = self.world.dataflow(self.account, "charges")
        prices = self.world.dataflow(self.account, "prices")
        operation = self.rotate(READONLY_KEY)
        assert operation.status == Operation.Status.AWAITING_CONFIRMATION, operation.error
        check = operation.preview["check"]
        assert check["key_kind"] == "restricted" and check["key_ending"] == "0001"
        assert check["resources"]["charges"]["status"] == "readable"
        assert check["resources"]["prices"]["status"] == "forbidden"
        assert operation.preview["losing"] == [
            {"pk": prices.pk, "name": prices.name, "resource_path": "prices"}
        ]
        assert (
            run_now(self.emulator_url, prices.flow_id)["metrics"]["statusSummary"]["status"]
            == "success"
        )  # nothing changed in AEP yet

        service.confirm(
            operation, OPERATION_TASKS, reason=operation.reason, ticket=operation.ticket
        )
        operation = run_next_job(Operation.objects.get(pk=operation.pk))

        assert operation.status == Operation.Status.SUCCEEDED, operation.error
        assert not operation.secret  # forgotten once it is in AEP
        status = run_now(self.emulator_url, prices.flow_id)["metrics"]["statusSummary"]["status"]
        assert status == "failed"  # AEP now reads Stripe with the restricted key
        assert (
            run_now(self.emulator_url, charges.flow_id)["metrics"]["statusSummary"]["status"]
            == "success"
        )
        self.account.refresh_from_db()
        assert (self.account.token_last4, self.account.key_kind) == ("0001", "restricted")
        event = AuditEvent.objects.get(action="account.rotate_key")
        assert event.after["key_ending"] == "0001"
        assert READONLY_KEY not in str(event.before) + str(event.after)
        assert event.ticket == "SUP-77" and event.request_id

    def test_a_key_stripe_refuses_cannot_be_confirmed(self):
        operation = self.rotate("sk_test_not_a_real_key_0000")
        assert operation.status == Operation.Status.AWAITING_CONFIRMATION
        assert operation.preview["usable"] is False
        assert operation.preview["check"]["key_error"]

    def test_a_rename_in_aep_meanwhile_is_shown_and_the_key_is_not_overwritten(self):
        fs = self.world.client.flowservice
        current = fs.get_connection(self.account.connection_id)
        fs.patch_connection(
            self.account.connection_id,
            current.etag,
            [{"op": "replace", "path": "/name", "value": "Renamed in AEP"}],
        )
        operation = self.rotate(READONLY_KEY)
        service.confirm(operation, OPERATION_TASKS, reason="leak")
        operation = run_next_job(Operation.objects.get(pk=operation.pk))
        assert operation.status == Operation.Status.CONFLICT
        assert "Renamed in AEP" in operation.error
        self.account.refresh_from_db()
        assert self.account.name == "Renamed in AEP"
        assert self.account.token_last4 == "0001" and self.account.key_kind == "secret"

    def delete_account(self, **choices) -> Operation:
        operation = run_next_job(
            service.create(Operation.Kind.ACCOUNT_DELETE, actor=self.sam, account=self.account)
        )
        assert operation.status == Operation.Status.AWAITING_CONFIRMATION, operation.error
        service.confirm(operation, OPERATION_TASKS, reason="Customer left", **choices)
        return run_next_job(Operation.objects.get(pk=operation.pk))

    def assert_gone(self, *dataflows) -> None:
        for dataflow in dataflows:
            assert not self.world.exists("flows", dataflow.flow_id)
            assert not self.world.exists("sourceConnections", dataflow.source_connection_id)
            assert not self.world.exists("targetConnections", dataflow.target_connection_id)
        assert not self.world.exists("connections", self.account.connection_id)

    def test_deleting_an_account_cascades_in_aep_order(self):
        flows = [self.world.dataflow(self.account, path) for path in ("charges", "refunds")]
        operation = self.delete_account(delete_datasets=True)
        assert operation.status == Operation.Status.SUCCEEDED, operation.error
        self.assert_gone(*flows)
        actions = [step["action"] for step in operation.steps]
        assert actions[:2] == ["verify_sharing", "verify_account_flows"]
        assert actions[-1] == "delete_connection"
        assert actions.index("delete_source_connection") > actions.index("delete_flow")
        assert "delete_dataset" in actions
        for dataflow in flows:
            path = f"/data/foundation/catalog/dataSets/{dataflow.dataset_id}"
            assert self.world.session.get(path).status_code == 404
        assert Account.objects.get(pk=self.account.pk).deleted_at is not None
        assert AuditEvent.objects.filter(action="dataflow.delete").count() == 2

    def add_identity(self, dataflow) -> str:
        """A primary identity descriptor on the flow's schema, as the wizard puts for Profile."""
        body = payloads.identity_descriptor(
            schema_id=dataflow.schema_id,
            destination=f"_{DEMO_TENANT_ID}.charges_data.id",
            namespace="Email",
            primary=True,
        )
        return self.world.client.schemas.create_descriptor(body).id

    def test_deleting_schemas_removes_their_identity_descriptors_first(self):
        flow = self.world.dataflow(self.account, "charges")
        self.add_identity(flow)
        operation = self.delete_account(delete_datasets=True, delete_schemas=True)
        assert operation.status == Operation.Status.SUCCEEDED, operation.error
        assert self.world.client.schemas.list_descriptors(schema_id=flow.schema_id) == []
        audited = AuditEvent.objects.get(action="schema.delete", target_id=flow.schema_id)
        assert audited.after["descriptors_deleted"] == 1

    def test_a_kept_schema_keeps_its_identity_descriptors(self):
        flow = self.world.dataflow(self.account, "charges")
        descriptor_id = self.add_identity(flow)
        operation = self.delete_account(delete_datasets=True)
        assert operation.status == Operation.Status.SUCCEEDED, operation.error
        kept = self.world.client.schemas.list_descriptors(schema_id=flow.schema_id)
        assert [d.id for d in kept] == [descriptor_id]

    def test_a_flow_created_after_the_preview_stops_the_delete_before_anything_goes(self):
        first = self.world.dataflow(self.account)
        operation = run_next_job(
            service.create(Operation.Kind.ACCOUNT_DELETE, actor=self.sam, account=self.account)
        )
        surprise = self.world.dataflow(self.account, "customers")
        service.confirm(operation, OPERATION_TASKS, reason="Customer left")
        operation = run_next_job(Operation.objects.get(pk=operation.pk))
        assert operation.status == Operation.Status.FAILED
        assert surprise.name in operation.error
        assert self.world.exists("flows", first.flow_id)

    def test_a_500_halfway_leaves_no_orphan_and_resuming_finishes(self):
        first, second = (self.world.dataflow(self.account, p) for p in ("charges", "refunds"))
        self.world.fault(method="DELETE", path=f"*/flows/{second.flow_id}", kind="500")
        operation = self.delete_account()
        assert operation.status == Operation.Status.FAILED
        assert operation.can_resume
        statuses = {s["id"]: s["status"] for s in operation.steps}
        assert statuses[first.flow_id] == "done" and statuses[second.flow_id] == "failed"
        # The flow that could not be deleted still has everything it needs: no orphan.
        assert self.world.exists("flows", second.flow_id)
        assert self.world.exists("sourceConnections", second.source_connection_id)
        assert self.world.exists("targetConnections", second.target_connection_id)
        assert self.world.exists("connections", self.account.connection_id)
        assert AuditEvent.objects.filter(result="failed", target_id=second.flow_id).exists()

        service.resume(operation, OPERATION_TASKS)
        operation = run_next_job(Operation.objects.get(pk=operation.pk))
        assert operation.status == Operation.Status.SUCCEEDED, operation.error
        self.assert_gone(first, second)

    @override_settings(AEP_TIMEOUT_SECONDS=1)
    def test_a_timeout_halfway_is_resumable_even_if_aep_finished_the_call(self):
        first, second = (self.world.dataflow(self.account, p) for p in ("charges", "refunds"))
        self.world.fault(
            method="DELETE",
            path=f"*/sourceConnections/{first.source_connection_id}",
            kind="delay",
            delay_seconds=2,
        )
        operation = self.delete_account()
        assert operation.status == Operation.Status.FAILED
        assert "timed out" in operation.error.lower() or "in time" in operation.error
        assert not self.world.exists("flows", first.flow_id)
        assert not self.world.exists("flows", second.flow_id)
        assert self.world.exists("connections", self.account.connection_id)

        service.resume(operation, OPERATION_TASKS)
        operation = run_next_job(Operation.objects.get(pk=operation.pk))
        assert operation.status == Operation.Status.SUCCEEDED, operation.error
        self.assert_gone(first, second)
