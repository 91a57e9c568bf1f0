"""Rejected records, the worker's side: the rows the run page shows, secrets masked, and the
run's batch read from Data Access."""

from __future__ import annotations

from unittest.mock import patch

from aep.types import FailedRecord, FailedRecordError, FailedRecordSample, Flow
from core.models import Job
from monitoring import rejected_records
from tests.base import BaseTestCase, make_sandbox
from tests.monitoring.factories import ACTIVITIES, BATCH, make_dataflow, make_run


class RejectedRowsTestCase(BaseTestCase):
    """The worker's rows: only what the page shows, secrets masked."""

    def setUp(self) -> None:
        super().setUp()
        self.flow = make_dataflow(make_sandbox())

    def record(self, obj: dict, *errors: FailedRecordError) -> FailedRecord:
        import json

        return FailedRecord(source=json.dumps(obj), errors=errors)

    def test_a_row_per_error_with_the_value_of_the_source_field(self):
        record = self.record(
            {"id": "ch_1", "amount": "12x"},
            FailedRecordError("MAPPER-3700-400", "bad amount", source_field="data.amount"),
            FailedRecordError("INGEST-1104-400", "bad date", path="_t.stripe.day"),
        )
        assert rejected_records.rows_of(record) == [
            {
                "record_id": "ch_1",
                "field": "data.amount",
                "path": "",
                "code": "MAPPER-3700-400",
                "message": "bad amount",
                "value": "12x",
            },
            {
                "record_id": "ch_1",
                "field": "_t.stripe.day",
                "path": "_t.stripe.day",
                "code": "INGEST-1104-400",
                "message": "bad date",
                "value": None,
            },
        ]

    def test_secrets_never_reach_the_row(self):
        record = self.record(
            {
                "id": "pi_1",
                "client_secret": "pi_1_secret_abc",
                "metadata": {"note": "key sk_live_abcdef123", "api_token": "t0k"},
            },
            FailedRecordError("X-1", "bad", source_field="data.client_secret"),
            FailedRecordError("X-2", "saw sk_test_123abc here", source_field="data.metadata"),
        )
        rows = rejected_records.rows_of(record)
        text = repr(rows)
        for secret in ("pi_1_secret_abc", "sk_live_abcdef123", "t0k", "sk_test_123abc"):
            assert secret not in text
        assert rows[0]["value"] == "••••"

    def test_long_values_are_cut(self):
        record = self.record(
            {"id": "ch_1", "description": "x" * 500},
            FailedRecordError("X-1", "m", source_field="data.description"),
        )
        assert len(rejected_records.rows_of(record)[0]["value"]) == rejected_records.VALUE_CHARS

    def test_fetch_reads_the_runs_batch_and_keeps_rows_only(self):
        run = make_run(self.flow, status="partialSuccess", failed_records=1, activities=ACTIVITIES)
        job = Job.objects.create(
            kind=rejected_records.KIND, target=rejected_records.target_for(run)
        )
        sample = FailedRecordSample(
            batch_id=BATCH,
            available=True,
            records=(
                self.record(
                    {"id": "ch_1", "amount": "x"},
                    FailedRecordError("MAPPER-3700-400", "m", source_field="data.amount"),
                ),
            ),
            files=1,
        )
        with patch("monitoring.rejected_records.client_for") as factory:
            factory.return_value.dataaccess.failed_records.return_value = sample
            result = rejected_records.fetch(job)
        factory.return_value.dataaccess.failed_records.assert_called_once_with(
            BATCH, limit=rejected_records.SAMPLE_SIZE
        )
        assert result["available"] and result["records"] == 1
        assert result["rows"][0]["record_id"] == "ch_1"
        assert "source" not in result["rows"][0]

    def fetch_with(self, sample: FailedRecordSample, options: dict) -> dict:
        run = make_run(self.flow, status="partialSuccess", failed_records=3, activities=ACTIVITIES)
        job = Job.objects.create(
            kind=rejected_records.KIND, target=rejected_records.target_for(run)
        )
        with patch("monitoring.rejected_records.client_for") as factory:
            factory.return_value.dataaccess.failed_records.return_value = sample
            factory.return_value.flowservice.get_flow.return_value = Flow.from_api(
                {"id": self.flow.flow_id, "options": options}
            )
            return rejected_records.fetch(job)

    def test_a_404_with_diagnostics_on_is_no_rejected_records_not_diagnostics_off(self):
        missing = FailedRecordSample(batch_id=BATCH, available=False, message="not found")
        result = self.fetch_with(missing, {"errorDiagnosticsEnabled": True})
        assert result["available"] and result["rows"] == [] and result["records"] == 0

    def test_diagnostics_off_is_read_from_the_flows_options(self):
        missing = FailedRecordSample(batch_id=BATCH, available=False, message="no files")
        result = self.fetch_with(missing, {"errorDiagnosticsEnabled": "false"})
        assert (result["available"], result["reason"]) == (False, "no_diagnostics")

    def test_an_empty_listing_is_no_rejected_records(self):
        empty = FailedRecordSample(batch_id=BATCH, available=True, files=0)
        result = self.fetch_with(empty, {})
        assert result["available"] and result["rows"] == []

    def test_a_run_without_a_batch_asks_aep_nothing(self):
        run = make_run(self.flow, status="failed", failed_records=0, activities=[{"id": "c"}])
        job = Job.objects.create(
            kind=rejected_records.KIND, target=rejected_records.target_for(run)
        )
        with patch("monitoring.rejected_records.client_for") as factory:
            assert rejected_records.fetch(job)["reason"] == "no_batch"
        factory.assert_not_called()
