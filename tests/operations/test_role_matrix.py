"""Every operations view against every role: allowed, or 403 / 404, and never an AEP call."""

from __future__ import annotations

from unittest.mock import patch

from monitoring.models import AuditEvent
from operations import service
from operations.models import Operation
from tests.base import BaseTestCase, make_sandbox
from tests.operations.factories import make_account, make_dataflow, make_run

OK = (200, 301, 302)


class RoleMatrixTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.sandbox = make_sandbox()
        self.account = make_account(self.sandbox)
        self.own = make_dataflow(self.account, "charges", owner=self.mina)
        self.other = make_dataflow(self.account, "refunds", owner=self.sam, enabled=False)
        self.run = make_run(self.own, "failed")
        self.op = service.create(
            Operation.Kind.DATAFLOW_DISABLE, actor=self.sam, dataflow=self.own, reason="noisy"
        )
        AuditEvent.objects.create(
            actor_name="sam",
            action="dataflow.disable",
            target_type="dataflow",
            target_id=self.own.flow_id,
        )

    def pages(self) -> dict[str, str]:
        a, own, other = self.account.pk, self.own.pk, self.other.pk
        return {
            "index": "/ops/",
            "accounts": "/ops/accounts/",
            "account": f"/ops/accounts/{a}/",
            "dataflows": "/ops/dataflows/",
            "dataflow": f"/ops/dataflows/{own}/",
            "timeline": f"/ops/dataflows/{own}/timeline/",
            "account-edit": f"/ops/accounts/{a}/edit/",
            "account-rotate": f"/ops/accounts/{a}/rotate/",
            "account-delete": f"/ops/accounts/{a}/delete/",
            "edit-own": f"/ops/dataflows/{own}/edit/",
            "edit-other": f"/ops/dataflows/{other}/edit/",
            "mapping-own": f"/ops/dataflows/{own}/mapping/",
            "mapping-other": f"/ops/dataflows/{other}/mapping/",
            "disable": f"/ops/dataflows/{own}/disable/",
            "enable": f"/ops/dataflows/{other}/enable/",
            "delete": f"/ops/dataflows/{own}/delete/",
            "operation": f"/ops/operations/{self.op.pk}/",
            "operation-status": f"/ops/operations/{self.op.pk}/status/",
            "audit": "/ops/audit/",
            "audit-csv": "/ops/audit/export.csv",
        }

    EXPECTED = {
        # page:            (Marketing Ops, Support, Admin, no role)
        "index": (302, 302, 302, 403),
        "accounts": (200, 200, 200, 403),
        "account": (301, 301, 301, 403),  # the account page lives in monitoring
        "dataflows": (200, 200, 200, 403),
        "dataflow": (301, 301, 301, 403),
        "timeline": (200, 200, 200, 403),
        "account-edit": (403, 200, 200, 403),
        "account-rotate": (403, 200, 200, 403),
        "account-delete": (403, 200, 200, 403),
        "edit-own": (200, 200, 200, 403),
        "edit-other": (403, 200, 200, 403),
        "mapping-own": (200, 200, 200, 403),
        "mapping-other": (403, 200, 200, 403),
        "disable": (403, 200, 200, 403),
        "enable": (403, 200, 200, 403),
        "delete": (403, 200, 200, 403),
        # Operations started by someone else are hidden from those who cannot operate.
        "operation": (404, 200, 200, 403),
        "operation-status": (404, 200, 200, 403),
        "audit": (403, 200, 200, 403),
        "audit-csv": (403, 200, 200, 403),
    }

    def test_every_page_for_every_role(self):
        users = (self.mina, self.sam, self.alex, self.nora)
        pages = self.pages()
        assert set(pages) == set(self.EXPECTED)
        for name, url in pages.items():
            for user, expected in zip(users, self.EXPECTED[name], strict=True):
                self.client.logout()
                self.login(user)
                status = self.client.get(url).status_code
                assert status == expected, f"{name} as {user.username}: {status} != {expected}"

    def test_anonymous_users_go_to_login(self):
        for name, url in self.pages().items():
            response = self.client.get(url)
            assert response.status_code == 302, name
            assert "/login/" in response["Location"], name

    def posts(self) -> dict[str, tuple[str, dict]]:
        a, own = self.account.pk, self.own.pk
        return {
            "account-edit": (f"/ops/accounts/{a}/edit/", {"name": "New", "description": ""}),
            "account-rotate": (
                f"/ops/accounts/{a}/rotate/",
                {"new_key": "sk_test_new_key_9999", "reason": "leaked"},
            ),
            "account-delete": (f"/ops/accounts/{a}/delete/", {}),
            "disable": (f"/ops/dataflows/{own}/disable/", {"reason": "noisy"}),
            "enable": (f"/ops/dataflows/{self.other.pk}/enable/", {}),
            "delete": (f"/ops/dataflows/{own}/delete/", {}),
            "retry": (f"/ops/runs/{self.run.pk}/retry/", {}),
            "bulk-retry": ("/ops/dataflows/retry/", {"dataflow": [own], "confirm": "1"}),
            "resume": (f"/ops/operations/{self.op.pk}/resume/", {}),
            "confirm": (f"/ops/operations/{self.op.pk}/confirm/", {}),
            "cancel": (f"/ops/operations/{self.op.pk}/cancel/", {}),
            "mapping-load-other": (f"/ops/dataflows/{self.other.pk}/mapping/load/", {}),
        }

    def test_no_role_but_support_or_admin_may_post_an_operation(self):
        for user in (self.mina, self.nora):
            self.client.logout()
            self.login(user)
            for name, (url, data) in self.posts().items():
                with (
                    patch("operations.service.enqueue") as enqueue,
                    patch("operations.views.dataflows.start_job") as start_job,
                ):
                    status = self.client.post(url, data).status_code
                assert status in (403, 404), f"{name} as {user.username}: {status}"
                enqueue.assert_not_called()
                start_job.assert_not_called()

    def test_marketing_ops_may_not_change_name_of_own_dataflow(self):
        self.login(self.mina)
        response = self.client.get(f"/ops/dataflows/{self.own.pk}/edit/")
        assert "name" not in response.context["form"].fields
        assert "frequency" in response.context["form"].fields

    def test_deleted_objects_are_not_found(self):
        self.own.deleted_at = self.own.created
        self.own.save()
        self.login(self.sam)
        # The merged dataflow page keeps a deleted flow's history; its support pages are gone.
        assert self.client.get(f"/ops/dataflows/{self.own.pk}/edit/").status_code == 404
        assert self.client.get(f"/ops/dataflows/{self.own.pk}/disable/").status_code == 404
