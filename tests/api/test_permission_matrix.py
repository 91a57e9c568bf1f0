"""Every API endpoint against every role, beside the page that does the same: one rule decides
both (core.permissions), so a role the page refuses is refused by the API too, and vice versa."""

from __future__ import annotations

from core.permissions import VIEW, can, can_operate
from operations import service
from operations.models import Operation
from tests.api.cases import ApiTestCase
from tests.base import make_sandbox
from tests.operations.factories import make_account, make_dataflow, make_run

ALLOWED_PAGE = (200, 302)


class PermissionMatrixTestCase(ApiTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.sandbox = make_sandbox()
        self.account = make_account(self.sandbox)
        self.flow = make_dataflow(self.account, "charges", owner=self.mina)
        self.paused = make_dataflow(self.account, "refunds", enabled=False)
        self.doomed = make_dataflow(self.account, "customers")
        self.run = make_run(self.flow, "failed")
        self.op = service.create(
            Operation.Kind.DATAFLOW_DISABLE, actor=self.sam, dataflow=self.paused, reason="noisy"
        )

    def may_see_operation(self, user) -> bool:
        """operations.views.access.operation_or_404: operators, or whoever started it."""
        return can_operate(user) or self.op.actor_id == user.pk

    def matrix(self):
        """(name, API call, the page doing the same or None, the rule, status when refused
        to someone who may look)."""
        f, p, d, a, r, op = (
            self.flow.pk,
            self.paused.pk,
            self.doomed.pk,
            self.account.pk,
            self.run.pk,
            self.op.pk,
        )
        view = lambda user: can(user, VIEW)  # noqa: E731
        plan = {"plan": {}, "sandbox": self.sandbox.pk}
        return [
            ("list", ("get", "dataflows"), ("get", "/overview/"), view, 403),
            ("flow", ("get", f"dataflows/{f}"), ("get", f"/dataflows/{f}/"), view, 403),
            ("runs", ("get", f"dataflows/{f}/runs"), ("get", f"/dataflows/{f}/"), view, 403),
            ("run", ("get", f"runs/{r}"), ("get", f"/runs/{r}/"), view, 403),
            ("accounts", ("get", "accounts"), ("get", "/ops/accounts/"), view, 403),
            ("alerts", ("get", "alerts"), ("get", "/alerts/"), view, 403),
            (
                "operation",
                ("get", f"operations/{op}"),
                ("get", f"/ops/operations/{op}/"),
                self.may_see_operation,
                404,
            ),
            (
                "enable",
                ("post", f"dataflows/{p}/enable", {}),
                ("get", f"/ops/dataflows/{p}/enable/"),
                can_operate,
                403,
            ),
            (
                "disable",
                ("post", f"dataflows/{f}/disable", {"reason": "noisy"}),
                ("get", f"/ops/dataflows/{f}/disable/"),
                can_operate,
                403,
            ),
            (
                "retry",
                ("post", f"runs/{r}/retry", {}),
                ("post", f"/ops/runs/{r}/retry/"),
                can_operate,
                403,
            ),
            (
                "delete",
                ("post", f"dataflows/{d}/delete"),
                ("get", f"/ops/dataflows/{d}/delete/"),
                can_operate,
                403,
            ),
            (
                "account-delete",
                ("post", f"accounts/{a}/delete"),
                ("get", f"/ops/accounts/{a}/delete/"),
                can_operate,
                403,
            ),
            (
                "confirm",
                ("post", f"operations/{op}/confirm", {}),
                ("post", f"/ops/operations/{op}/confirm/"),
                can_operate,
                403,
            ),
            ("plan", ("get", f"dataflows/{f}/plan"), None, can_operate, 403),
            ("apply", ("post", "plans/apply?dry_run=true", plan), None, can_operate, 403),
        ]

    def test_each_endpoint_allows_exactly_the_roles_its_page_allows(self):
        users = (self.mina, self.sam, self.alex, self.nora)
        for name, call, page, rule, refused in self.matrix():
            for user in users:
                allowed = rule(user)
                expected_refusal = refused if can(user, VIEW) else 403
                status = self.api(user, *call).status_code
                who = f"{name} as {user.username}"
                if allowed:
                    assert status not in (401, 403, 404), f"API {who}: {status}"
                else:
                    assert status == expected_refusal, f"API {who}: {status}"
                if page is None:
                    continue
                self.client.logout()
                self.login(user)
                method, url = page
                page_status = getattr(self.client, method)(url).status_code
                if allowed:
                    assert page_status in ALLOWED_PAGE, f"page {who}: {page_status}"
                else:
                    assert page_status == expected_refusal, f"page {who}: {page_status}"
                self.client.logout()
