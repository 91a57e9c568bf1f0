"""What a run keeps of its failed records when error diagnostics are on: bounded, with errors."""

from __future__ import annotations

from emulators.aep.runner import FAILED_RECORD_LIMIT
from tests.emulators.aep.fakes import MAPPINGS, charge, run


def test_failed_records_reach_the_failed_sink_with_their_errors(fake_stripe):
    fake_stripe.objects = [charge(0), charge(1, amount="12x")]
    kept: list[dict] = []
    outcome = run(fake_stripe, failed_sink=kept.extend)
    assert outcome.failed_records == 1
    assert kept == [
        {
            "record": charge(1, amount="12x"),
            "errors": [
                {
                    "code": "MAPPER-3700-400",
                    "message": "Cannot convert '12x' to integer",
                    "source": "data.amount",
                    "destination": "_acme.charges_data.amount",
                    "sourceType": "ATTRIBUTE",
                }
            ],
        }
    ]


def test_schema_failures_name_the_schema_field_and_its_source(fake_stripe):
    fake_stripe.objects = [charge(0, captured="yesterday")]
    mappings = [
        *MAPPINGS,
        {"source": "data.captured", "destination": "_acme.charges_data.captured_at"},
    ]
    kept: list[dict] = []
    run(fake_stripe, mappings=mappings, failed_sink=kept.extend)
    (row,) = kept
    assert row["errors"] == [
        {
            "code": "INGEST-1104-400",
            "message": "Field '_acme.charges_data.captured_at' expected date-time, "
            "got string 'yesterday'",
            "destination": "_acme.charges_data.captured_at",
            "source": "data.captured",
        }
    ]


def test_only_the_first_failed_records_of_a_run_are_kept(fake_stripe):
    fake_stripe.objects = [charge(n, amount="x") for n in range(FAILED_RECORD_LIMIT + 150)]
    pages: list[list[dict]] = []
    outcome = run(fake_stripe, failed_sink=pages.append)
    assert outcome.failed_records == FAILED_RECORD_LIMIT + 150
    kept = [row for page in pages for row in page]
    assert len(kept) == FAILED_RECORD_LIMIT
    assert all(len(page) <= 100 for page in pages)  # handed on page by page
    assert kept[0]["record"]["id"] == f"ch_{FAILED_RECORD_LIMIT + 149:04d}"  # as read


def test_without_a_failed_sink_nothing_is_kept(fake_stripe):
    fake_stripe.objects = [charge(0, amount="x")]
    outcome = run(fake_stripe)
    assert outcome.failed_records == 1
    assert len(outcome.row_errors) == 1
