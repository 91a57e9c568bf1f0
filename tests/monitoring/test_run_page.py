"""The run page: Adobe's errors with plain-language explanations, polling until the run ends."""

from __future__ import annotations

from tests.base import BaseTestCase, make_sandbox
from tests.monitoring.factories import make_dataflow, make_run


class RunPageTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.flow = make_dataflow(make_sandbox(), name="Refunds")

    def test_errors_show_adobes_words_an_explanation_and_a_fix(self):
        run = make_run(
            self.flow,
            status="partialSuccess",
            input_records=100,
            output_records=97,
            failed_records=3,
            errors=[
                {"code": "INGEST-1212-400", "message": "Encountered 3 errors in the data."},
                {"code": "MAPPER-3700-400", "message": "Mapper Transform Error", "recordCount": 3},
                {"code": "WEIRD-1", "message": "Something new"},
            ],
        )
        self.login(self.mina)
        body = self.client.get(f"/runs/{run.pk}/").content.decode()
        assert "Encountered 3 errors in the data." in body
        assert "Some records were rejected" in body
        assert "A mapping rule could not be applied" in body
        assert "Suggested fix" in body
        assert "Something new" in body
        assert body.count("Suggested fix") == 2
        assert "3.0%" in body

    def test_stripe_refusals_surfaced_through_aep_are_explained(self):
        run = make_run(
            self.flow,
            status="failed",
            errors=[
                {
                    "code": "CONNECTOR-1003-403",
                    "message": "The access token may not read 'refunds' (HTTP 403)",
                }
            ],
        )
        self.login(self.sam)
        assert "may not read this resource" in self.client.get(f"/runs/{run.pk}/").content.decode()

    def test_htmx_polling_stops_once_the_run_has_ended(self):
        run = make_run(self.flow, status="inProgress", completed_at=None)
        self.login(self.mina)
        headers = {"HX-Request": "true", "HX-Target": "live"}
        r = self.client.get(f"/runs/{run.pk}/", headers=headers)
        assert r.status_code == 200 and 'hx-trigger="every 5s"' in r.content.decode()
        run.status = "success"
        run.save()
        r = self.client.get(f"/runs/{run.pk}/", headers=headers)
        assert r.status_code == 286
        assert "<html" not in r.content.decode()
