"""Step 5: the mapping editor, recipes, Validate/Preview, import and export."""

from __future__ import annotations

from unittest.mock import patch

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler

from core.models import Job
from monitoring.models import Dataflow
from onboarding import tasks
from onboarding.models import STEP_NAMES
from tests.base import BaseTestCase, make_sandbox
from tests.onboarding.factories import ready_draft


def formset_data(rows, action="save"):
    data = {
        "rows-TOTAL_FORMS": str(len(rows)),
        "rows-INITIAL_FORMS": str(len(rows)),
        "rows-MIN_NUM_FORMS": "0",
        "rows-MAX_NUM_FORMS": "150",
        "action": action,
    }
    for i, row in enumerate(rows):
        data[f"rows-{i}-source"] = row.get("source", "")
        data[f"rows-{i}-destination"] = row.get("destination", "")
        data[f"rows-{i}-kind"] = row.get("kind", "ATTRIBUTE")
        data[f"rows-{i}-type"] = row.get("type", "")
        if row.get("identity"):
            data[f"rows-{i}-identity"] = "on"
        if row.get("DELETE"):
            data[f"rows-{i}-DELETE"] = "on"
    return data


class StepMappingTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.sandbox = make_sandbox()
        self.draft = ready_draft(self.mina, self.sandbox)
        self.url = f"/wizard/{self.draft.pk}/mapping/charges/"
        self.login(self.mina)

    def rows(self):
        self.draft.refresh_from_db()
        return self.draft.mappings["charges"]

    def test_every_explored_field_is_prefilled_like_the_tutorial(self):
        r = self.client.get(self.url)
        self.assertContains(r, 'value="data.amount"')
        self.assertContains(r, 'value="_acme.charges_data.amount"')
        self.assertContains(r, 'value="_acme.charges_data.billing_details.address.city"')

    def test_before_the_schema_exists_the_page_says_aep_checks_types_later(self):
        r = self.client.get(self.url)
        self.assertContains(r, 'id="schema-pending"')
        self.assertContains(r, "checks the field types when it creates the schema")
        self.draft.datasets["charges"] = {"mode": "existing", "id": "ds-1", "schema_id": "s-1"}
        self.draft.save()
        self.assertNotContains(self.client.get(self.url), 'id="schema-pending"')

    def test_edit_remove_identity_and_add_rows(self):
        rows = [dict(r) for r in self.rows()]
        rows[0]["identity"] = True
        rows[1]["DELETE"] = True
        rows.append({"source": "data.currency", "destination": "_acme.charges_data.cur2"})
        r = self.client.post(self.url, formset_data(rows))
        assert r.status_code == 302
        saved = self.rows()
        assert saved[0]["identity"] is True
        assert len(saved) == len(rows) - 1
        assert saved[-1]["destination"] == "_acme.charges_data.cur2"

    def test_bad_rows_are_explained_and_nothing_is_saved(self):
        before = self.rows()
        rows = [
            {"source": "data.nope", "destination": "_acme.charges_data.x"},
            {"source": "data.amount", "destination": "person.name"},
            {"source": "upper(data.missing)", "destination": "_acme.c.y", "kind": "EXPRESSION",
             "type": "string"},
        ]  # fmt: skip
        r = self.client.post(self.url, formset_data(rows))
        self.assertContains(r, "“data.nope” is not a field of this Stripe object")
        self.assertContains(r, "must live under your organization&#x27;s namespace")
        self.assertContains(r, "does not have: data.missing")
        assert self.rows() == before

    def test_duplicate_destinations_are_refused(self):
        rows = [
            {"source": "data.id", "destination": "_acme.charges_data.id"},
            {"source": "data.amount", "destination": "_acme.charges_data.id"},
        ]
        r = self.client.post(self.url, formset_data(rows))
        self.assertContains(r, "can be filled by one row only")

    def test_a_recipe_adds_a_calculated_field(self):
        r = self.client.post(
            self.url, {"action": "recipe", "recipe": "decimal_amount", "field": "data.amount"}
        )
        assert r.status_code == 302
        added = self.rows()[-1]
        assert added == {
            "source": "data.amount / 100",
            "destination": "_acme.charges_data.amount_decimal",
            "identity": False,
            "kind": "EXPRESSION",
            "type": "number",
        }

    def test_a_recipe_on_the_wrong_kind_of_field_is_explained(self):
        r = self.client.post(
            self.url, {"action": "recipe", "recipe": "iso_time", "field": "data.currency"}
        )
        self.assertContains(r, "needs a integer field; data.currency is string")

    def test_validate_saves_then_enqueues_a_check(self):
        with (
            patch("onboarding.tasks.check_mapping.delay_on_commit") as delay,
            self.captureOnCommitCallbacks(execute=True),
        ):
            self.client.post(self.url, formset_data(self.rows(), action="validate"))
        job = Job.objects.get(kind=tasks.CHECK_MAPPING)
        assert job.target == f"draft:{self.draft.pk}:charges"
        delay.assert_called_once_with(str(job.pk), "charges", "validate")

    def test_check_results_are_shown(self):
        self.draft.mapping_checks = {
            "charges": {
                "action": "validate",
                "rows": [
                    {"source": "data.id", "destination": "_acme.x", "ok": False,
                     "errors": ["Field _acme.x is not in the schema"]},
                ],
            }
        }  # fmt: skip
        self.draft.save()
        r = self.client.get(f"{self.url}status/", headers={"HX-Request": "true"})
        assert r.status_code == 286
        assert "Field _acme.x is not in the schema" in r.content.decode()

    def test_csv_export_and_import_round_trip(self):
        exported = self.client.get(f"{self.url}export.csv")
        assert exported["Content-Type"] == "text/csv"
        text = exported.content.decode()
        assert text.splitlines()[0] == "source,destination,identity,kind,type"
        upload = SimpleUploadedFile("m.csv", b"source,destination\ndata.id,_acme.charges_data.id\n")
        r = self.client.post(f"{self.url}import/", {"csv_file": upload})
        assert r.status_code == 302
        assert self.rows() == [
            {"source": "data.id", "destination": "_acme.charges_data.id", "identity": False,
             "kind": "ATTRIBUTE", "type": ""}
        ]  # fmt: skip

    def test_a_bad_csv_is_explained(self):
        upload = SimpleUploadedFile("m.csv", b"a,b\n1,2\n")
        r = self.client.post(f"{self.url}import/", {"csv_file": upload})
        self.assertContains(r, "must name the columns")

    def test_an_oversized_csv_is_refused_before_it_is_stored(self):
        # 4 MB: past the 512 KB limit and past Django's in-memory threshold (2.5 MB), so without
        # the limit the whole file would be written to a temporary file first.
        big = b"source,destination\n" + b"data.id,_acme.charges_data.id\n" * 140_000
        stored = []
        real = TemporaryFileUploadHandler.receive_data_chunk

        def spy(handler, raw_data, start):
            stored.append(len(raw_data))
            return real(handler, raw_data, start)

        with patch.object(TemporaryFileUploadHandler, "receive_data_chunk", spy):
            r = self.client.post(
                f"{self.url}import/", {"csv_file": SimpleUploadedFile("m.csv", big)}
            )
        self.assertContains(r, "The file is too large; a mapping CSV is under 512 KB.")
        assert sum(stored) <= 512 * 1024
        assert self.rows() != []  # the mapping is unchanged

    def test_import_from_another_dataflow_is_a_task(self):
        flow = Dataflow.objects.create(
            sandbox=self.sandbox, flow_id="f1", name="Old charges", mapping_set_id="ms-1"
        )
        with (
            patch("onboarding.tasks.import_flow_mapping.delay_on_commit") as delay,
            self.captureOnCommitCallbacks(execute=True),
        ):
            self.client.post(f"{self.url}import/", {"dataflow": flow.pk})
        job = Job.objects.get(kind=tasks.IMPORT_MAPPING)
        delay.assert_called_once_with(str(job.pk), "charges", flow.pk)

    def test_next_goes_through_each_resource_then_to_the_schedule(self):
        self.draft.reached = STEP_NAMES.index("dataset")
        self.draft.save()
        r = self.client.post(self.url, formset_data(self.rows(), action="next"))
        assert r["Location"] == f"/wizard/{self.draft.pk}/mapping/customers/"
        customers = self.draft.mappings["customers"]
        r = self.client.post(
            f"/wizard/{self.draft.pk}/mapping/customers/", formset_data(customers, action="next")
        )
        assert r["Location"] == f"/wizard/{self.draft.pk}/schedule/"
        self.draft.refresh_from_db()
        assert self.draft.reached == STEP_NAMES.index("mapping")

    def test_an_unknown_resource_is_404(self):
        assert self.client.get(f"/wizard/{self.draft.pk}/mapping/prices/").status_code == 404
