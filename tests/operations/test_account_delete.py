"""Deleting an account: the impact preview first, then the typed name and a reason."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from operations import service
from operations.models import Operation
from tests.operations.pages import AccountPageTestCase


class AccountDeleteTestCase(AccountPageTestCase):
    def awaiting_delete(self) -> Operation:
        return Operation.objects.create(
            kind=Operation.Kind.ACCOUNT_DELETE,
            status=Operation.Status.AWAITING_CONFIRMATION,
            sandbox=self.account.sandbox,
            account=self.account,
            actor=self.sam,
            target_label=self.account.name,
            preview={
                "connection": {"id": self.account.connection_id, "name": "Acme Stripe"},
                "flow_ids": [self.flow.flow_id],
                "flows": [{"id": self.flow.flow_id, "name": self.flow.name, "state": "enabled"}],
                "source_connections": [{"id": "src-1", "name": "s", "shared": False}],
                "target_connections": [{"id": "tgt-1", "name": "t", "shared": True}],
                "mapping_sets": [{"id": "map-1", "shared": False}],
                "datasets": [{"id": "ds-1", "name": "Charges", "shared": False}],
                "schemas": [],
                "read_at": timezone.now().isoformat(),
            },
        )

    def test_delete_starts_with_an_impact_preview(self):
        _response, delay = self.post(
            f"/ops/accounts/{self.account.pk}/delete/", {}, task="preview_operation"
        )
        operation = Operation.objects.get()
        assert operation.kind == Operation.Kind.ACCOUNT_DELETE
        assert operation.status == Operation.Status.PREVIEWING
        delay.assert_called_once_with(str(operation.job_id), str(operation.pk))

    def test_delete_needs_the_typed_name_and_a_reason(self):
        operation = self.awaiting_delete()
        page = self.client.get(f"/ops/operations/{operation.pk}/")
        self.assertContains(page, "kept: used by another dataflow")
        response, delay = self.post(
            f"/ops/operations/{operation.pk}/confirm/", {"confirm_name": "acme stripe"}
        )
        assert response.status_code == 422
        self.assertContains(response, "Type the name exactly as shown", status_code=422)
        self.assertContains(response, "This field is required", status_code=422)
        delay.assert_not_called()

        response, delay = self.post(
            f"/ops/operations/{operation.pk}/confirm/",
            {"confirm_name": "Acme Stripe", "reason": "Customer left", "ticket": "SUP-9"},
        )
        operation.refresh_from_db()
        assert (operation.reason, operation.ticket) == ("Customer left", "SUP-9")
        actions = [(s["action"], s["id"]) for s in operation.steps]
        assert actions == [
            ("verify_sharing", self.account.connection_id),
            ("verify_account_flows", self.account.connection_id),
            ("delete_flow", self.flow.flow_id),
            ("delete_source_connection", "src-1"),
            ("delete_mapping_set", "map-1"),  # the shared target connection is kept
            ("delete_connection", self.account.connection_id),
        ]
        delay.assert_called_once()

    def test_a_preview_older_than_an_hour_cannot_be_confirmed_and_is_read_again(self):
        operation = self.awaiting_delete()
        fresh = self.client.get(f"/ops/operations/{operation.pk}/")
        self.assertContains(fresh, "can be confirmed for one hour")
        read_at = (timezone.now() - timedelta(minutes=61)).isoformat()
        operation.preview = {**operation.preview, "read_at": read_at}
        operation.save()

        page = self.client.get(f"/ops/operations/{operation.pk}/")
        self.assertContains(page, "more than an hour old")
        self.assertContains(page, "Check the impact again")
        self.assertNotContains(page, "Delete permanently")
        _response, delay = self.post(
            f"/ops/operations/{operation.pk}/confirm/",
            {"confirm_name": "Acme Stripe", "reason": "Customer left"},
        )
        delay.assert_not_called()
        operation.refresh_from_db()
        assert operation.status == Operation.Status.AWAITING_CONFIRMATION and not operation.steps

        _response, delay = self.post(
            f"/ops/operations/{operation.pk}/preview-again/", {}, task="preview_operation"
        )
        operation.refresh_from_db()
        assert operation.status == Operation.Status.PREVIEWING and operation.preview == {}
        delay.assert_called_once_with(str(operation.job_id), str(operation.pk))

    def test_an_expired_preview_is_refused_by_the_service_too(self):
        operation = self.awaiting_delete()
        operation.preview = {**operation.preview, "read_at": "2020-01-01T00:00:00+00:00"}
        operation.save()
        with pytest.raises(service.PreviewExpired):
            service.plan_confirmed(operation, reason="late")

    def test_the_operation_status_stops_polling_once_settled(self):
        operation = self.awaiting_delete()
        response = self.client.get(
            f"/ops/operations/{operation.pk}/status/", headers={"HX-Request": "true"}
        )
        assert response.status_code == 286
        self.assertNotContains(response, "<html", status_code=286)
        operation.status = Operation.Status.RUNNING
        operation.save()
        response = self.client.get(
            f"/ops/operations/{operation.pk}/status/", headers={"HX-Request": "true"}
        )
        assert response.status_code == 200
        self.assertContains(response, 'hx-trigger="every 1s"')
