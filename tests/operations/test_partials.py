"""The partials other pages include: buttons by role, and the timeline tag."""

from __future__ import annotations

from django.template import Context, Template
from django.template.loader import render_to_string
from django.test import RequestFactory

from monitoring.models import AuditEvent
from operations import service
from operations.models import Operation
from operations.timeline import timeline
from tests.base import BaseTestCase, make_sandbox
from tests.operations.factories import make_account, make_dataflow, make_run


class PartialsTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.account = make_account(make_sandbox())
        self.flow = make_dataflow(self.account, owner=self.mina)

    def actions(self, user, template: str = "operations/_dataflow_actions.html") -> str:
        request = RequestFactory().get("/")
        request.user = user
        context = {"dataflow": self.flow, "account": self.account, "user": user}
        return render_to_string(template, context, request=request)

    def test_dataflow_buttons_follow_the_role(self):
        support = self.actions(self.sam)
        for label in ("Edit", "Edit mapping", "Disable…", "Delete…"):
            assert label in support
        owner = self.actions(self.mina)
        assert "Edit schedule" in owner and "Edit mapping" in owner
        assert "Disable…" not in owner and "Delete…" not in owner
        assert self.actions(self.nora).count('class="button') == 0

    def test_a_change_in_progress_replaces_the_buttons(self):
        op = service.create(Operation.Kind.DATAFLOW_DISABLE, actor=self.sam, dataflow=self.flow)
        html = self.actions(self.alex)
        assert "Change in progress" in html and f"/ops/operations/{op.pk}/" in html
        assert "Delete…" not in html

    def test_account_buttons_only_for_operators(self):
        template = "operations/_account_actions.html"
        assert "Rotate Stripe key" in self.actions(self.sam, template)
        assert "Rotate Stripe key" not in self.actions(self.mina, template)

    def test_the_timeline_tag_renders_for_any_page(self):
        make_run(self.flow, "failed")
        html = Template("{% load operations %}{% dataflow_timeline dataflow %}").render(
            Context({"dataflow": self.flow})
        )
        assert 'class="tl tl-run"' in html and "failed" in html

    def test_the_timeline_gathers_the_dataflows_audit_events_by_flow_id(self):
        for target_type, target_id, action in (
            ("dataflow", self.flow.flow_id, "wizard.create"),
            ("dataflow", self.flow.flow_id, "dataflow.freshness_sla"),
            ("dataflow", self.flow.flow_id, "dataflow.disable"),
            ("dataflow", "someone-else", "dataflow.disable"),
            ("dataflow", str(self.flow.pk), "dataflow.enable"),
        ):
            AuditEvent.objects.create(
                action=action,
                target_type=target_type,
                target_id=target_id,
                sandbox=self.flow.sandbox,
            )
        titles = {entry.title for entry in timeline(self.flow)}
        assert titles == {"Created with the wizard", "Freshness SLA changed", "Dataflow disabled"}
