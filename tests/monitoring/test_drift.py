"""Schema drift: explored fields and mapping rules in, mapping-relevant findings out; storing
the result (fingerprint, first seen, dismissals) and the beat's scheduling."""

from __future__ import annotations

from datetime import timedelta

from django.test import SimpleTestCase
from django.utils import timezone

from core.mapping import EXPRESSION, Rule
from monitoring import alerts, drift
from monitoring.drift import NEW, REMOVED, Finding, compare, explored_fields
from monitoring.models import Alert, AlertRule, SchemaDrift
from monitoring.tasks import deliver_later
from tests.base import BaseTestCase, make_sandbox
from tests.monitoring.factories import make_dataflow

INTEGER = {"type": "integer", "minimum": -9007199254740992, "maximum": 9007199254740991}


def schema(**properties) -> dict:
    """An explore schema, rooted at `data` as AEP returns it."""
    return {"type": "object", "properties": {"data": {"type": "object", "properties": properties}}}


def obj(**properties) -> dict:
    return {"type": "object", "properties": properties}


CHARGE = schema(
    id={"type": "string"},
    amount=INTEGER,
    currency={"type": "string"},
    description={},  # null in every sampled charge
    metadata=obj(order_id={"type": "string"}),
    outcome=obj(type={"type": "string"}, risk_level={"type": "string"}),
    refunds=obj(
        data={"type": "array", "items": obj(id={"type": "string"}, amount=INTEGER)},
        has_more={"type": "boolean"},
    ),
    tags={"type": "array", "items": {}},  # empty in every sampled charge
)
RULES = [
    Rule("data.id", "_acme.charges_data.id"),
    Rule("data.amount / 100", "_acme.charges_data.amount_decimal", kind=EXPRESSION),
    Rule(
        'concat(data.currency, "-", data.outcome.type)', "_acme.charges_data.label", kind=EXPRESSION
    ),
    Rule("data.metadata.order_id", "_acme.charges_data.order_id"),
]


class ExploredFieldsTestCase(SimpleTestCase):
    def test_it_lists_nested_fields_and_array_items_without_subscripts(self):
        fields = explored_fields(CHARGE)
        assert {"data.outcome.type", "data.refunds.data.amount", "data.metadata"} <= fields.paths
        assert "data.refunds.data" in fields.leaves  # an array is mapped as a whole
        assert "data.refunds.data.amount" not in fields.leaves
        assert "data.outcome" not in fields.leaves and "data.outcome.risk_level" in fields.leaves

    def test_fields_null_in_every_sample_hide_what_is_inside(self):
        fields = explored_fields(CHARGE)
        assert fields.has("data.description.anything")
        assert fields.has("data.tags.name")
        assert not fields.has("data.metadata.customer_ref")


class RuleFieldsTestCase(SimpleTestCase):
    def test_an_attribute_reads_itself(self):
        assert drift.rule_fields("data.outcome.risk_score") == {"data.outcome.risk_score"}

    def test_a_calculation_reads_every_field_it_names_but_not_strings(self):
        assert drift.rule_fields('concat(data.a, "data.fake", data.b.c)') == {
            "data.a",
            "data.b.c",
        }
        assert drift.rule_fields("data.amount/100") == {"data.amount"}
        assert drift.rule_fields('"constant"') == set()

    def test_array_subscripts_are_dropped(self):
        assert drift.rule_fields("data.refunds.data[0].amount") == {"data.refunds.data.amount"}
        assert drift.rule_fields("data.items[*].price") == {"data.items.price"}


class CompareTestCase(SimpleTestCase):
    def test_nothing_is_reported_when_the_mapping_reads_only_fields_stripe_sends(self):
        assert compare(explored_fields(CHARGE), RULES, known=None) == []

    def test_a_removed_field_breaks_each_rule_that_reads_it(self):
        without = schema(
            id={"type": "string"},
            amount=INTEGER,
            currency={"type": "string"},
            metadata=obj(),
            outcome=obj(risk_level={"type": "string"}),
        )
        findings = compare(explored_fields(without), RULES, known=None)
        assert findings == [
            Finding(REMOVED, "data.outcome.type", RULES[2].source, "_acme.charges_data.label"),
            Finding(REMOVED, "data.metadata.order_id", RULES[3].source, RULES[3].destination),
        ]

    def test_a_new_unmapped_leaf_is_a_suggestion_but_not_on_the_first_check(self):
        known = explored_fields(CHARGE).paths
        newer = schema(
            **{
                **CHARGE["properties"]["data"]["properties"],
                "outcome": obj(
                    type={"type": "string"}, risk_level={"type": "string"}, risk_score=INTEGER
                ),
                "receipt_email": {"type": "string"},
            }
        )
        assert compare(explored_fields(newer), RULES, known=None) == []
        findings = compare(explored_fields(newer), RULES, known, lambda f: f"to.{f}")
        assert findings == [
            Finding(NEW, "data.outcome.risk_score", destination="to.data.outcome.risk_score"),
            Finding(NEW, "data.receipt_email", destination="to.data.receipt_email"),
        ]

    def test_a_new_field_the_mapping_already_reads_or_covers_is_not_reported(self):
        known = explored_fields(CHARGE).paths - {"data.outcome.risk_level", "data.refunds.data"}
        rules = [
            *RULES,
            Rule("data.outcome.risk_level", "x.risk"),
            Rule("data.refunds", "x.refunds"),
        ]
        assert compare(explored_fields(CHARGE), rules, known) == []

    def test_keys_stay_the_same_when_only_the_suggestion_changes(self):
        assert Finding(NEW, "data.a", destination="x").key == Finding(NEW, "data.a").key
        assert (
            Finding(REMOVED, "data.a", "data.a", "x.a").key
            != Finding(REMOVED, "data.a", "data.a", "x.b").key
        )


class SuggestedTargetTestCase(SimpleTestCase):
    def test_it_follows_the_naming_of_the_attribute_rules(self):
        target = drift.suggested_target("data.outcome.risk_score", RULES, "_other.charges_data")
        assert target == "_acme.charges_data.outcome.risk_score"

    def test_it_falls_back_to_the_onboarding_container(self):
        rules = [Rule("upper(data.currency)", "_acme.x.currency", kind=EXPRESSION)]
        assert drift.suggested_target("data.fee", rules, "_acme.charges_data") == (
            "_acme.charges_data.fee"
        )
        assert drift.suggested_target("data.fee", rules) == ""


class StoreResultTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.sandbox = make_sandbox(tenant_id="acme")
        self.flow = make_dataflow(self.sandbox)
        self.row = SchemaDrift.objects.create(dataflow=self.flow)
        self.now = timezone.now()

    def store(self, explored_schema: dict, rules=RULES, days: int = 0) -> SchemaDrift:
        self.row.refresh_from_db()
        now = self.now + timedelta(days=days)
        return drift.store_result(self.row, explored_fields(explored_schema), rules, now)

    def changed_schema(self) -> dict:
        properties = dict(CHARGE["properties"]["data"]["properties"])
        properties["metadata"] = obj()
        properties["fee"] = INTEGER
        return schema(**properties)

    def test_the_first_check_records_the_baseline_and_is_quiet(self):
        row = self.store(CHARGE)
        assert row.findings == [] and row.fingerprint == "" and not row.has_breaking
        assert "data.refunds.data.amount" in row.known_fields
        assert (row.checked_at, row.rule_count) == (self.now, len(RULES))
        assert row.next_check_at == self.now + drift.CHECK_EVERY

    def test_the_same_drift_keeps_its_fingerprint_and_first_seen(self):
        self.store(CHARGE)
        first = self.store(self.changed_schema(), days=1)
        kinds = {(f["kind"], f["field"]) for f in first.findings}
        assert kinds == {(REMOVED, "data.metadata.order_id"), (NEW, "data.fee")}
        assert next(f for f in first.findings if f["kind"] == NEW)["destination"] == (
            "_acme.charges_data.fee"
        )
        assert first.has_breaking and drift.has_open_breaking_drift(self.flow)
        fingerprint, changed_at = first.fingerprint, first.changed_at
        again = self.store(self.changed_schema(), days=2)
        assert (again.fingerprint, again.changed_at) == (fingerprint, changed_at)
        assert [f["first_seen"] for f in again.findings] == [
            f["first_seen"] for f in first.findings
        ]

    def test_a_dismissed_finding_stays_quiet_until_it_goes_away_and_comes_back(self):
        self.store(CHARGE)
        row = self.store(self.changed_schema(), days=1)
        breaking = next(f["key"] for f in row.findings if f["kind"] == REMOVED)
        drift.dismiss(row, {breaking}, self.mina, deliver_later)
        assert not drift.has_open_breaking_drift(self.flow)
        row = self.store(self.changed_schema(), days=2)
        assert row.dismissed == [breaking] and not row.has_breaking
        assert [f["field"] for f in row.open_findings] == ["data.fee"]
        row = self.store(CHARGE, days=3)  # the field is back: nothing to dismiss any more
        assert row.dismissed == [] and row.findings == []
        row = self.store(self.changed_schema(), days=4)  # gone again: reported again
        assert row.has_breaking and breaking in {f["key"] for f in row.open_findings}

    def test_mapping_the_new_field_ends_the_suggestion(self):
        self.store(CHARGE)
        rules = [*RULES[:3], Rule("data.fee", "_acme.charges_data.fee")]
        row = self.store(self.changed_schema(), rules=rules, days=1)
        assert row.findings == [] and row.fingerprint == ""


class ScheduleTestCase(BaseTestCase):
    def test_it_dispatches_active_flows_that_are_due_once_per_day(self):
        sandbox = make_sandbox()
        due = make_dataflow(sandbox)
        make_dataflow(sandbox, enabled=False)
        make_dataflow(sandbox, deleted_at=timezone.now())
        checked = make_dataflow(sandbox)
        SchemaDrift.objects.create(
            dataflow=checked, next_check_at=timezone.now() + timedelta(hours=3)
        )
        dispatched: list[tuple[int, float]] = []
        assert drift.schedule_checks(lambda pk, countdown: dispatched.append((pk, countdown))) == 1
        assert dispatched == [(due.pk, 0.0)]
        assert SchemaDrift.objects.get(dataflow=due).next_check_at > timezone.now()
        # The lease holds until tomorrow.
        assert drift.schedule_checks(lambda pk, countdown: dispatched.append((pk, countdown))) == 0


class FailedCheckTestCase(BaseTestCase):
    def test_an_aep_error_keeps_the_previous_findings_and_retries_within_the_hour(self):
        from types import SimpleNamespace

        from aep.errors import AEPError
        from tests.monitoring.factories import make_account

        sandbox = make_sandbox()
        flow = make_dataflow(sandbox, account=make_account(sandbox, connection_id="conn-1"))
        SchemaDrift.objects.create(dataflow=flow, findings=[{"key": "new:data.a"}])

        def explore(*args, **kwargs):
            raise AEPError("Service unavailable", status_code=503)

        client = SimpleNamespace(flowservice=SimpleNamespace(explore_connection=explore))
        assert drift.check_in_background(flow.pk, lambda sandbox: client, deliver_later) == "failed"
        row = SchemaDrift.objects.get(dataflow=flow)
        assert row.error and row.findings == [{"key": "new:data.a"}]
        assert row.next_check_at <= timezone.now() + drift.RETRY_AFTER


class DriftAlertTestCase(BaseTestCase):
    """A schema-drift rule opens an alert for breaking drift and resolves once it is dismissed."""

    def setUp(self) -> None:
        super().setUp()
        self.flow = make_dataflow(make_sandbox(tenant_id="acme"))
        self.row = SchemaDrift.objects.create(dataflow=self.flow)
        self.rule = AlertRule.objects.create(kind=AlertRule.Kind.SCHEMA_DRIFT)
        now = timezone.now()
        drift.store_result(self.row, explored_fields(CHARGE), RULES, now)
        properties = dict(CHARGE["properties"]["data"]["properties"])
        properties["metadata"] = obj()  # data.metadata.order_id is gone
        properties["fee"] = INTEGER  # new, and breaks nothing
        self.changed = explored_fields(schema(**properties))
        self.later = now + timedelta(days=1)

    def test_breaking_drift_opens_an_alert_naming_the_field(self):
        drift.store_result(self.row, self.changed, RULES, self.later)
        opened, _resolved = alerts.evaluate(self.flow, deliver_later)
        assert [a.summary for a in opened] == [
            "The mapping reads fields Stripe no longer sends: data.metadata.order_id."
        ]

    def test_a_new_field_alone_opens_nothing(self):
        properties = dict(CHARGE["properties"]["data"]["properties"])
        properties["fee"] = INTEGER
        drift.store_result(self.row, explored_fields(schema(**properties)), RULES, self.later)
        assert alerts.evaluate(self.flow, deliver_later) == ([], [])

    def test_dismissing_the_finding_resolves_the_alert_at_once(self):
        row = drift.store_result(self.row, self.changed, RULES, self.later)
        alerts.evaluate(self.flow, deliver_later)
        breaking = next(f["key"] for f in row.findings if f["kind"] == REMOVED)
        drift.dismiss(row, {breaking}, self.alex, deliver_later)
        alert = Alert.objects.get(rule=self.rule)
        assert alert.resolved_at is not None
