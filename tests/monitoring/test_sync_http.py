"""The run sync through the real AEP client, with HTTP faked: filters, order and paging."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import responses
from django.test import override_settings

from monitoring.clients import client_for
from monitoring.models import Run
from monitoring.sync import run_sync
from tests.base import BaseTestCase, make_sandbox
from tests.monitoring.factories import make_dataflow, run_doc

PLATFORM = "http://aep.invalid"
RUNS_URL = f"{PLATFORM}/data/foundation/flowservice/runs"


@override_settings(MONITORING_RUNS_PAGE_SIZE=2)
class SyncOverHttpTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.sandbox = make_sandbox(client_id=f"client-{uuid.uuid4().hex}")
        self.flow = make_dataflow(self.sandbox)
        start = datetime.now(UTC) - timedelta(hours=1)
        self.docs = [
            run_doc(self.flow.flow_id, created=start + timedelta(minutes=15 * i)) for i in range(3)
        ]

    def query(self, call) -> dict[str, list[str]]:
        return parse_qs(urlsplit(call.request.url).query)

    @responses.activate
    def test_it_pages_with_continuation_tokens_and_then_asks_only_for_newer_runs(self):
        responses.post(
            f"{PLATFORM}/ims/token/v3",
            json={"access_token": "tok", "token_type": "bearer", "expires_in": 86399},
        )
        responses.get(
            RUNS_URL,
            json={
                "items": self.docs[:2],
                "_links": {"next": {"href": "/runs?continuationToken=abc"}},
            },
        )
        responses.get(RUNS_URL, json={"items": self.docs[2:], "_links": {}})
        run_sync(self.flow.pk, client_for)
        assert Run.objects.count() == 3
        first, second = (self.query(c) for c in responses.calls[1:3])
        assert first == {
            "property": [f"flowId=={self.flow.flow_id}"],
            "orderby": ["createdAt"],
            "limit": ["2"],
        }
        assert second["continuationToken"] == ["abc"]

        responses.get(RUNS_URL, json={"items": self.docs[2:], "_links": {}})
        run_sync(self.flow.pk, client_for)
        third = self.query(responses.calls[-1])
        assert third["property"] == [
            f"flowId=={self.flow.flow_id}",
            f"createdAt>={self.docs[2]['createdAt']}",
        ]
        assert Run.objects.count() == 3
