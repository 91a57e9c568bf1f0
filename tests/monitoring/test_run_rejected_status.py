"""The rejected-records section of the run page, in each state of its job: none yet, working,
rows, diagnostics off, failed, a malformed result; and the actions beside the rows."""

from __future__ import annotations

from django.utils import timezone

from core.models import Job
from tests.monitoring.pages import RejectedRecordsPageTestCase

ROW = {
    "record_id": "ch_3Nq1",
    "field": "data.failure_code",
    "path": "_stripesources.stripe.created",
    "code": "MAPPER-3700-400",
    "message": "Cannot convert 'card_declined' to integer",
    "value": "card_declined",
}


def finish(job: Job, result: dict | None = None, *, error: str = "") -> Job:
    job.status = Job.Status.FAILED if error else Job.Status.SUCCEEDED
    job.result, job.error, job.finished = result or {}, error, timezone.now()
    job.save()
    return job


class RunRejectedStatusTestCase(RejectedRecordsPageTestCase):
    def test_before_any_job_the_section_explains_and_offers_the_button(self):
        body = self.section()
        assert "AEP rejected 5 records in this run" in body
        assert "Show rejected records" in body

    def test_a_working_job_polls_and_a_finished_one_stops(self):
        job = self.job(status=Job.Status.RUNNING)
        self.login(self.mina)
        response = self.client.get(self.status_url, HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        assert 'hx-trigger="every 1s"' in response.content.decode()
        finish(job, {"available": True, "records": 0, "rows": []})
        response = self.client.get(self.status_url, HTTP_HX_REQUEST="true")
        assert response.status_code == 286
        assert "hx-trigger" not in response.content.decode()

    def test_the_table_shows_object_field_error_and_value(self):
        finish(self.job(), {"available": True, "records": 1, "truncated": True, "rows": [ROW]})
        body = self.section()
        for text in (
            "ch_3Nq1",
            "data.failure_code",
            "_stripesources.stripe.created",
            "MAPPER-3700-400",
            "A mapping rule could not be applied",
            "Cannot convert &#x27;card_declined&#x27; to integer",
            "card_declined",
            "The first 1 rejected record",
            "Fix the mapping",
        ):
            assert text in body, text

    def test_diagnostics_off_is_said_in_plain_words(self):
        finish(
            self.job(),
            {
                "available": False,
                "reason": "no_diagnostics",
                "message": "Error diagnostics were not enabled for batch 'x'.",
            },
        )
        body = self.section()
        assert "Error diagnostics were off for this dataflow" in body
        assert "turn on “Error diagnostics”" in body
        assert "Error diagnostics were not enabled for batch" in body
        assert "<table" not in body

    def test_a_failed_job_shows_a_clear_message_and_may_be_tried_again(self):
        finish(
            self.job(), error="Cannot reach AEP. Check the platform and IMS URLs of the sandbox."
        )
        body = self.section()
        assert "Could not read the rejected records." in body
        assert "Cannot reach AEP" in body
        assert "Read again" in body

    def test_fix_the_mapping_is_offered_to_those_who_may_edit_it(self):
        finish(self.job(), {"available": True, "records": 1, "rows": [ROW]})
        for user in (self.mina, self.sam, self.alex):  # mina owns the flow
            assert f"/dataflows/{self.flow.pk}/mapping/" in self.section(user)
        self.flow.owner = self.alex
        self.flow.save()
        body = self.section(self.mina)
        assert "/mapping/" not in body
        assert "ask the dataflow's owner, Support or an Admin" in body

    def test_the_retry_action_of_a_failed_run_sits_beside_the_records(self):
        self.run.status = "failed"
        self.run.save()
        finish(self.job(), {"available": True, "records": 1, "rows": [ROW]})
        assert f"/runs/{self.run.pk}/retry/" in self.section(self.sam)
        assert f"/runs/{self.run.pk}/retry/" not in self.section(self.mina)

    def test_a_malformed_result_never_breaks_the_page(self):
        for result in (
            {"available": True, "rows": "nope", "records": "x"},
            {"available": True, "rows": [None, 3, {"code": None}]},
            {"available": "yes"},
            {},
        ):
            finish(self.job(), result)
            self.section()
        self.login(self.mina)
        assert self.client.get(self.status_url).status_code == 200  # the full page too
