"""The body builders: pure, and with the details AEP insists on.

What each body looks like on the wire is checked with the client's create calls (the other
tests of this folder) and against Adobe's specs and examples (tests/contract).
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from aep import payloads
from aep.types import Schedule

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_ID = "https://ns.adobe.com/acme/schemas/charges"


def test_importing_the_builders_loads_no_http_and_no_django():
    code = (
        "import sys, aep.payloads; "
        "loaded = {m.split('.')[0] for m in sys.modules}; "
        "assert not loaded & {'requests', 'urllib3', 'django', 'redis'}, loaded"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def flow(**overrides) -> dict:
    values = {
        "name": "Stripe charges",
        "source_connection_id": "sc-1",
        "target_connection_id": "tc-1",
        "mapping_id": "map-1",
        "mapping_version": "3",
        "schedule": Schedule(datetime(2024, 3, 12, tzinfo=UTC), "once", interval=15),
        **overrides,
    }
    return payloads.flow(**values)


def test_a_flow_body_never_carries_a_state_and_sends_options_only_when_set():
    body = flow()
    assert "state" not in body  # Flow Service refuses it on create (1410-400)
    assert "options" not in body and "options" not in flow(options={})
    assert flow(options={"errorDiagnosticsEnabled": True})["options"] == {
        "errorDiagnosticsEnabled": True
    }
    assert body["transformations"][0]["params"]["mappingVersion"] == 3
    assert body["scheduleParams"] == {"startTime": 1710201600, "frequency": "once"}
    assert flow(schedule=None)["scheduleParams"] == {}


def test_a_dataset_body_leaves_out_an_empty_description_and_no_tags():
    assert payloads.dataset(name="Charges", schema_id=SCHEMA_ID, description="", tags={}) == {
        "name": "Charges",
        "schemaRef": {"id": SCHEMA_ID, "contentType": payloads.XDM_CONTENT_TYPE},
    }


def test_a_mapping_set_without_a_schema_has_no_output_schema():
    rules = [
        payloads.mapping_rule("data.id", "_acme.id", identity=True),
        payloads.mapping_rule("upper(data.currency)", "_acme.cur", source_type="EXPRESSION"),
    ]
    assert payloads.mapping_set(None, rules) == {
        "mappings": [
            {
                "sourceType": "ATTRIBUTE",
                "source": "data.id",
                "destination": "_acme.id",
                "identity": True,
            },
            {
                "sourceType": "EXPRESSION",
                "source": "upper(data.currency)",
                "destination": "_acme.cur",
            },
        ]
    }
    named = payloads.mapping_set(SCHEMA_ID, rules, name="Stripe charges - mapping")
    assert list(named) == ["name", "outputSchema", "mappings"]


def test_a_schema_is_its_class_then_its_field_groups():
    body = payloads.schema(
        title="Charges schema", description="", class_id="cls", field_group_ids=["fg-1", "fg-2"]
    )
    assert body["allOf"] == [{"$ref": "cls"}, {"$ref": "fg-1"}, {"$ref": "fg-2"}]
    assert list(body) == ["title", "description", "type", "allOf"]
