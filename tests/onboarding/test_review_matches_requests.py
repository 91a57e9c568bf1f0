"""What the Review page shows is, to the byte, what provisioning sends to AEP.

The draft is reviewed in the browser's view of it (the page's HTML), created with the page's
Create button, and provisioned by the real client against a stand-in Platform that records
every request at the HTTP layer. Ids AEP hands out during provisioning are the only difference
allowed: Review shows them as placeholders, which are filled in before comparing.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any
from unittest.mock import patch
from urllib.parse import quote, urlsplit

import responses

from aep import AEPClient, MemoryTokenCache, redact
from monitoring.clients import config_for
from onboarding import mapping, provisioning, tasks
from onboarding.models import Draft
from onboarding.provisioning import Ids
from tests.base import BaseTestCase, make_sandbox
from tests.onboarding.factories import PROFILE_TAGS, mark_identity, ready_draft
from tests.recording_platform import PLATFORM, RecordingPlatform

ITEM = re.compile(
    r'<span class="mono muted small">([^<]*)</span></summary>\s*<pre class="payload">(.*?)</pre>',
    re.S,
)
# The shared class and the custom namespace are looked for before they are created, and
# identity descriptors on their schema; this sandbox has none of them yet.
NOTHING_YET = {
    "/data/foundation/schemaregistry/tenant/classes": {"results": [], "_page": {}},
    "/data/core/idnamespace/identities": [],
    "/data/foundation/schemaregistry/tenant/descriptors": {},
}


def as_shown(body: dict[str, Any]) -> str:
    """A body the way the Review page prints it."""
    return json.dumps(body, indent=2, ensure_ascii=False)


class ReviewMatchesRequestsTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.sandbox = make_sandbox(platform_url=PLATFORM, ims_url=PLATFORM)
        draft = ready_draft(self.mina, self.sandbox, paths=("charges", "customers"))
        # Everything that shapes a body: a name beyond ASCII, a calculated field, two
        # identities (Email, and a custom namespace asked for), Profile tags, flow options,
        # and one path into an existing dataset.
        draft.flow_names["charges"] = "Stripe-Zahlungen für Österreich"
        rows = draft.mappings["charges"]
        email = mark_identity(draft, "charges")
        charge_id = next(r for r in rows if r["source"] == "data.id")
        charge_id["identity"] = True
        draft.custom_namespace = {"name": "Stripe charge", "code": "StripeCharge"}
        draft.identities = {
            "charges": {
                "namespaces": {charge_id["destination"]: "StripeCharge"},
                "primary": email["destination"],
            }
        }
        recipe = mapping.RECIPES["decimal_amount"]
        destination = mapping.recipe_destination(recipe, "data.amount", "_acme", "charges")
        rows.append(mapping.recipe_row(recipe, "data.amount", destination))
        draft.profile_datasets = ["charges"]
        draft.error_diagnostics = True
        draft.partial_ingestion, draft.partial_ingestion_percent = True, 2.5
        draft.datasets["customers"] = {
            "mode": "existing",
            "dataset_id": "ds-customers",
            "schema_id": "https://ns.adobe.com/acme/schemas/customers",
            "name": "Customers",
        }
        draft.save()
        self.draft = draft
        self.login(self.mina)

    def reviewed(self) -> list[tuple[str, str]]:
        """(endpoint, payload) of every object on the Review page, in page order."""
        page = self.client.get(f"/wizard/{self.draft.pk}/review/").content.decode()
        assert "Some steps need attention" not in page
        return [(html.unescape(e), html.unescape(p)) for e, p in ITEM.findall(page)]

    def create_and_provision(self, rsps: responses.RequestsMock) -> None:
        with patch("onboarding.tasks.provision.delay_on_commit"):
            self.client.post(f"/wizard/{self.draft.pk}/review/")
        self.draft.refresh_from_db()
        assert self.draft.status == Draft.Status.PROVISIONING
        RecordingPlatform(NOTHING_YET, patches=True).install(rsps)
        client = AEPClient(config_for(self.sandbox), token_cache=MemoryTokenCache())
        with patch("onboarding.tasks.client_for", return_value=client):
            tasks.provision(str(self.draft.pk), self.draft.attempt)
        self.draft.refresh_from_db()
        assert self.draft.status == Draft.Status.DONE, self.draft.error

    def test_every_request_is_the_reviewed_body_with_the_new_ids_filled_in(self):
        reviewed = self.reviewed()
        with responses.RequestsMock() as rsps:
            self.create_and_provision(rsps)
            sent = RecordingPlatform.sent(rsps)
        steps = list(self.draft.steps.order_by("position"))
        # One request per step, but one per identity field for the identity descriptors.
        per_request = [
            step
            for step in steps
            for _body in provisioning.bodies(self.draft, step.resource_path, step.kind, Ids())
        ]
        assert len(steps) == 15
        assert len(reviewed) == len(per_request) == len(sent) == 16

        for (endpoint, shown), step, request in zip(reviewed, per_request, sent, strict=True):
            filled = shown
            for earlier in steps:
                if earlier.resource_path in ("", step.resource_path):
                    placeholder = Ids().get(earlier.resource_path, earlier.kind)
                    filled = filled.replace(json.dumps(placeholder), json.dumps(earlier.aep_id))
                    endpoint = endpoint.replace(placeholder, quote(earlier.aep_id, safe=""))
            assert endpoint == f"{request.method} {urlsplit(request.url).path}", step
            assert "{id of" not in filled, (step, filled)
            # Byte for byte: as Review prints it, and as the client put it on the wire.
            assert filled == as_shown(redact(json.loads(request.body))), step
            assert request.body == json.dumps(json.loads(filled)).encode(), step

    def test_the_reviewed_bodies_carry_what_the_draft_asks_for(self):
        shown = {endpoint: json.loads(payload) for endpoint, payload in self.reviewed()}
        flows = [json.loads(p) for e, p in self.reviewed() if e.endswith("/flows")]
        assert {f["options"]["partialIngestionPercent"] for f in flows} == {2.5}
        dataset = shown["POST /data/foundation/catalog/dataSets"]  # only charges gets a new one
        assert dataset["tags"] == PROFILE_TAGS
        assert "state" not in flows[0]

    def test_profile_is_reviewed_in_adobes_order_descriptors_union_then_dataset(self):
        charges = [e for e, _p in self.reviewed()][-12:]  # the charges group (after shared ones)
        shown = [(e, json.loads(p)) for e, p in self.reviewed()]
        kinds = [e.split(" ", 1)[1].rsplit("/", 1)[-1] for e in charges]
        assert kinds[kinds.index("schemas") :][:5] == [
            "schemas",
            "descriptors",
            "descriptors",
            "{id of the new schema}",
            "dataSets",
        ]
        descriptors = [p for e, p in shown if e.endswith("/tenant/descriptors")]
        assert [(d["xdm:namespace"], d["xdm:isPrimary"]) for d in descriptors] == [
            ("Email", True),
            ("StripeCharge", False),
        ]
        assert descriptors[0]["xdm:sourceProperty"] == "/_acme/charges_data/billing_details/email"
        assert descriptors[0]["@type"] == "xdm:descriptorIdentity"
        patch_body = next(p for e, p in shown if e.startswith("PATCH "))
        assert patch_body == [{"op": "add", "path": "/meta:immutableTags", "value": ["union"]}]
        namespace = next(p for e, p in shown if e.endswith("/idnamespace/identities"))
        assert (namespace["code"], namespace["name"]) == ("StripeCharge", "Stripe charge")
