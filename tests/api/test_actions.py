"""Support actions over the API: the pages' rules, and statuses 409, 412, 422 and 429."""

from __future__ import annotations

from datetime import timedelta

from django.test import override_settings
from django.utils import timezone

from operations.models import Operation
from tests.api.cases import ApiTestCase
from tests.base import make_sandbox
from tests.operations.factories import make_account, make_dataflow, make_run


class ActionTestCase(ApiTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.sandbox = make_sandbox()
        self.account = make_account(self.sandbox)
        self.flow = make_dataflow(self.account)

    def assert_problem(self, response, status: int) -> dict:
        assert response.status_code == status, response.content
        assert response["Content-Type"] == "application/problem+json"
        body = response.json()
        assert body["status"] == status and body["title"] and "detail" in body
        return body

    def test_disable_starts_the_operation_with_who_and_how(self):
        resume = (timezone.now() + timedelta(hours=3)).isoformat()
        response = self.api(
            self.sam,
            "post",
            f"dataflows/{self.flow.pk}/disable",
            {"reason": "noisy", "resume_at": resume},
        )
        assert response.status_code == 202
        assert response["Location"] == f"/api/v1/operations/{response.json()['id']}"
        op = Operation.objects.get(pk=response.json()["id"])
        assert op.kind == Operation.Kind.DATAFLOW_DISABLE and op.actor == self.sam
        assert op.via == "API token ci" and op.reason == "noisy"
        assert op.resume_at is not None and op.job is not None

    def test_disable_needs_a_reason_and_a_future_resume_time(self):
        no_reason = self.api(self.sam, "post", f"dataflows/{self.flow.pk}/disable", {})
        assert "reason" in self.assert_problem(no_reason, 422)["errors"]
        past = (timezone.now() - timedelta(hours=1)).isoformat()
        body = {"reason": "x", "resume_at": past}
        response = self.api(self.sam, "post", f"dataflows/{self.flow.pk}/disable", body)
        assert "resume_at" in self.assert_problem(response, 422)["errors"]
        assert not Operation.objects.exists()

    def test_one_change_at_a_time_is_409(self):
        assert self.api(self.sam, "post", f"dataflows/{self.flow.pk}/enable", {}).status_code == 202
        response = self.api(self.sam, "post", f"dataflows/{self.flow.pk}/enable", {})
        self.assert_problem(response, 409)

    def test_an_if_match_that_is_not_the_current_etag_is_412(self):
        stale = self.api(
            self.sam, "post", f"dataflows/{self.flow.pk}/enable", {}, if_match='"etag-flow-0"'
        )
        self.assert_problem(stale, 412)
        current = self.api(
            self.sam, "post", f"dataflows/{self.flow.pk}/enable", {}, if_match='"etag-flow-1"'
        )
        assert current.status_code == 202

    def test_only_a_failed_run_is_retried(self):
        ok = make_run(self.flow, "success")
        self.assert_problem(self.api(self.sam, "post", f"runs/{ok.pk}/retry", {}), 409)
        failed = make_run(self.flow, "failed")
        response = self.api(self.sam, "post", f"runs/{failed.pk}/retry", {})
        assert response.status_code == 202
        assert Operation.objects.get(pk=response.json()["id"]).params == {
            "run_ids": [failed.run_id]
        }

    def test_confirm_needs_the_typed_name_and_a_reason(self):
        op = self.api(self.sam, "post", f"dataflows/{self.flow.pk}/delete").json()
        assert op["status"] == "previewing"
        early = self.api(self.sam, "post", f"operations/{op['id']}/confirm", {})
        self.assert_problem(early, 409)
        Operation.objects.filter(pk=op["id"]).update(
            status=Operation.Status.AWAITING_CONFIRMATION, preview={"flows": []}
        )
        wrong = self.api(
            self.sam,
            "post",
            f"operations/{op['id']}/confirm",
            {"confirm_name": "Stripe", "reason": "x"},
        )
        assert "confirm_name" in self.assert_problem(wrong, 422)["errors"]
        no_reason = self.api(
            self.sam, "post", f"operations/{op['id']}/confirm", {"confirm_name": self.flow.name}
        )
        assert "reason" in self.assert_problem(no_reason, 422)["errors"]
        done = self.api(
            self.sam,
            "post",
            f"operations/{op['id']}/confirm",
            {"confirm_name": self.flow.name, "reason": "retired"},
        )
        assert done.status_code == 202 and done.json()["status"] == "queued"

    def test_marketing_ops_see_only_their_own_operations(self):
        op = self.api(self.sam, "post", f"dataflows/{self.flow.pk}/delete").json()
        assert self.api(self.alex, "get", f"operations/{op['id']}").status_code == 200
        self.assert_problem(self.api(self.mina, "get", f"operations/{op['id']}"), 404)

    def test_bad_json_and_unknown_paths_answer_problems(self):
        response = self.client.post(
            f"/api/v1/dataflows/{self.flow.pk}/enable",
            "{not json",
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {self.tokens['sam']}",
        )
        assert response.status_code in (400, 422)
        assert response["Content-Type"] == "application/problem+json"
        self.assert_problem(self.api(self.sam, "get", "nowhere"), 404)
        self.assert_problem(self.api(self.sam, "delete", "dataflows"), 405)

    def test_plan_dry_run_lists_the_requests_and_creates_nothing(self):
        response = self.api(
            self.sam, "post", "plans/apply", {"plan": {"format": "x"}, "sandbox": self.sandbox.pk}
        )
        assert "plan" in self.assert_problem(response, 422)["errors"]
        missing = self.api(self.sam, "post", "plans/apply", {"plan": {}, "sandbox": 10**9})
        self.assert_problem(missing, 404)


class RateLimitTestCase(ApiTestCase):
    def test_past_the_limit_a_token_gets_429_with_retry_after(self):
        with override_settings(API_RATE_PER_MINUTE=3):
            statuses = [self.api(self.sam, "get", "accounts").status_code for _ in range(5)]
            assert statuses[:3] == [200, 200, 200]
            assert statuses[-1] == 429
            response = self.api(self.sam, "get", "accounts")
            assert int(response["Retry-After"]) >= 1
            assert response["Content-Type"] == "application/problem+json"
            # The limit is per token: another person's is untouched.
            assert self.api(self.alex, "get", "accounts").status_code == 200
