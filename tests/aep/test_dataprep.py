from __future__ import annotations

from datetime import UTC, datetime

import pytest
import responses

from aep.dataprep import mapping_set_shape
from aep.errors import PermissionDeniedError
from aep.payloads import legacy_mapping_set, modern_mapping_set
from tests.aep.fakes import CONVERSION, body, last_request, platform_calls, query

SCHEMA_ID = "https://ns.adobe.com/acme/schemas/5f76be8c4e4b847fdac13ca42aa6b596a89a5b91dea48b16"
CREATE_ANSWER = {
    "id": "f4aad280fdec4770b7e33066945919d8",
    "version": 0,
    "createdDate": 1709860257007,
    "modifiedDate": 1709860257007,
    "createdBy": "someone",
    "modifiedBy": "someone",
}
LEGACY = legacy_mapping_set(
    SCHEMA_ID,
    [
        ("data.id", "_acme.charges_data.id", False),
        ("data.amount", "_acme.charges_data.amount", False),
    ],
)
MODERN = modern_mapping_set(SCHEMA_ID, [("data.id", "_acme.charges_data.id")])


def test_the_legacy_helper_builds_the_stripe_tutorial_shape():
    assert LEGACY == {
        "version": 0,
        "xdmSchema": SCHEMA_ID,
        "xdmVersion": "1.0",
        "mappings": [
            {
                "destinationXdmPath": "_acme.charges_data.id",
                "sourceAttribute": "data.id",
                "identity": False,
                "version": 0,
            },
            {
                "destinationXdmPath": "_acme.charges_data.amount",
                "sourceAttribute": "data.amount",
                "identity": False,
                "version": 0,
            },
        ],
    }


UNBOUND = {k: v for k, v in MODERN.items() if k != "outputSchema"}


def test_the_modern_helper_builds_the_api_reference_shape():
    assert MODERN == {
        "outputSchema": {
            "schemaRef": {
                "id": SCHEMA_ID,
                "contentType": "application/vnd.adobe.xed-full+json;version=1",
            }
        },
        "mappings": [
            {"sourceType": "ATTRIBUTE", "source": "data.id", "destination": "_acme.charges_data.id"}
        ],
    }


def test_shapes_are_recognised_and_anything_else_refused():
    assert mapping_set_shape(LEGACY) == "legacy"
    assert mapping_set_shape(MODERN) == "modern"
    with pytest.raises(ValueError):
        mapping_set_shape({"mappings": []})
    with pytest.raises(ValueError):
        mapping_set_shape({"xdmSchema": SCHEMA_ID, "mappings": [{"source": "a"}]})
    bad_type = modern_mapping_set(SCHEMA_ID, [("a", "b")], source_type="text/x.schema-path")
    with pytest.raises(ValueError, match="sourceType"):
        mapping_set_shape(bad_type)


def test_only_checks_may_leave_out_the_output_schema():
    assert mapping_set_shape(UNBOUND, require_schema=False) == "modern"
    with pytest.raises(ValueError):
        mapping_set_shape(UNBOUND)
    half_done = {**UNBOUND, "outputSchema": {"schemaRef": {}}}
    with pytest.raises(ValueError):
        mapping_set_shape(half_done, require_schema=False)
    with pytest.raises(ValueError, match="sourceType"):
        mapping_set_shape(
            {"mappings": [{"sourceType": "text/plain", "source": "a", "destination": "b"}]},
            require_schema=False,
        )


@pytest.mark.parametrize("mapping_set", [LEGACY, MODERN], ids=["legacy", "modern"])
def test_create_mapping_set_accepts_both_shapes_and_a_200(client, mocked, mapping_set):
    mocked.add(responses.POST, f"{CONVERSION}/mappingSets", status=200, json=CREATE_ANSWER)
    created = client.dataprep.create_mapping_set(mapping_set)
    assert body(last_request(mocked)) == mapping_set
    assert created.id == "f4aad280fdec4770b7e33066945919d8"
    assert created.version == 0
    assert created.created_at == datetime(2024, 3, 8, 1, 10, 57, 7000, tzinfo=UTC)


def test_create_refuses_a_malformed_body_before_calling(client, mocked):
    with pytest.raises(ValueError):
        client.dataprep.create_mapping_set({"mappings": [{"foo": 1}]})
    assert platform_calls(mocked) == []


def test_get_mapping_set_reads_both_naming_schemes(client, mocked):
    answer = {
        "id": "m1",
        "version": "2",
        "status": "PUBLISHED",
        "xdmSchema": SCHEMA_ID,
        "mappings": [
            {
                "sourceType": "text/x.schema-path",
                "source": "data.id",
                "destination": "_acme.charges_data.id",
                "identity": True,
            },
            {"sourceAttribute": "data.amount", "destinationXdmPath": "_acme.charges_data.amount"},
        ],
    }
    mocked.add(responses.GET, f"{CONVERSION}/mappingSets/m1", json=answer)
    mapping_set = client.dataprep.get_mapping_set("m1", version=2)
    assert query(last_request(mocked)) == {"version": ["2"]}
    assert mapping_set.version == 2
    assert mapping_set.schema_id == SCHEMA_ID
    assert [(m.source, m.destination, m.identity) for m in mapping_set.mappings] == [
        ("data.id", "_acme.charges_data.id", True),
        ("data.amount", "_acme.charges_data.amount", False),
    ]


def test_list_mapping_sets_pages_with_start(client, mocked):
    mocked.add(
        responses.GET,
        f"{CONVERSION}/mappingSets",
        json={"data": [{"id": "m1", "version": 0}, {"id": "m2", "version": 0}], "_page": {}},
    )
    mocked.add(
        responses.GET,
        f"{CONVERSION}/mappingSets",
        json={"data": [{"id": "m3", "version": 1}], "_page": {"count": 1, "limit": 2}},
    )
    listed = list(client.dataprep.list_mapping_sets(page_size=2, order_by="-updatedDate"))
    assert [m.id for m in listed] == ["m1", "m2", "m3"]
    first, second = platform_calls(mocked)
    assert query(first) == {"limit": ["2"], "start": ["0"], "orderBy": ["-updatedDate"]}
    assert query(second) == {"limit": ["2"], "start": ["2"], "orderBy": ["-updatedDate"]}


def test_an_empty_full_page_stops_paging(client, mocked):
    mocked.add(responses.GET, f"{CONVERSION}/mappingSets", json={"data": [{"id": "m1"}]})
    mocked.add(responses.GET, f"{CONVERSION}/mappingSets", json={"data": []})
    assert [m.id for m in client.dataprep.list_mapping_sets(page_size=1)] == ["m1"]
    assert len(platform_calls(mocked)) == 2


def test_validate_mapping_set(client, mocked):
    answer = {
        "validationResponse": [
            {"status": "SUCCESS", "errors": None},
            {"status": "FAILED", "errors": [{"code": "MAPPER-1", "message": "bad path"}]},
        ]
    }
    mocked.add(responses.POST, f"{CONVERSION}/mappingSets/validate", json=answer)
    results = client.dataprep.validate_mapping_set(MODERN)
    assert body(last_request(mocked)) == MODERN
    assert [r.ok for r in results] == [True, False]
    assert results[1].errors == ({"code": "MAPPER-1", "message": "bad path"},)


def test_preview_mapping_set(client, mocked):
    mocked.add(
        responses.POST,
        f"{CONVERSION}/mappingSets/preview",
        json=[{"data": {"_acme": {"charges_data": {"id": "ch_1"}}}, "errors": None}],
    )
    previews = client.dataprep.preview_mapping_set(MODERN, [{"data": {"id": "ch_1"}}])
    assert body(last_request(mocked)) == {"data": [{"data": {"id": "ch_1"}}], "mappingSet": MODERN}
    assert previews[0].data == {"_acme": {"charges_data": {"id": "ch_1"}}}
    assert previews[0].errors == ()


def test_validate_and_preview_without_an_output_schema_when_asked(client, mocked):
    mocked.add(
        responses.POST,
        f"{CONVERSION}/mappingSets/validate",
        json={"validationResponse": [{"status": "SUCCESS", "errors": None}]},
    )
    mocked.add(responses.POST, f"{CONVERSION}/mappingSets/preview", json=[{"data": {"x": 1}}])
    (result,) = client.dataprep.validate_mapping_set(UNBOUND, require_schema=False)
    assert result.ok
    assert body(last_request(mocked)) == UNBOUND
    (preview,) = client.dataprep.preview_mapping_set(UNBOUND, [{"id": 1}], require_schema=False)
    assert preview.data == {"x": 1}
    assert body(last_request(mocked)) == {"data": [{"id": 1}], "mappingSet": UNBOUND}


def test_checks_refuse_a_body_without_schema_by_default(client, mocked):
    with pytest.raises(ValueError):
        client.dataprep.validate_mapping_set(UNBOUND)
    with pytest.raises(ValueError):
        client.dataprep.preview_mapping_set(UNBOUND, [])
    assert platform_calls(mocked) == []


def test_delete_mapping_set(client, mocked):
    mocked.add(responses.DELETE, f"{CONVERSION}/mappingSets/m%2F1", status=204)
    assert client.dataprep.delete_mapping_set("m/1") is True
    assert last_request(mocked).url == f"{CONVERSION}/mappingSets/m%2F1"


@pytest.mark.parametrize("status", [400, 404, 405])
def test_a_refused_mapping_set_delete_leaves_it_in_place(client, mocked, status):
    # DELETE /mappingSets/{id} is not in Data Prep's public spec: a sandbox may not offer it.
    mocked.add(responses.DELETE, f"{CONVERSION}/mappingSets/m1", status=status, json={})
    assert client.dataprep.delete_mapping_set("m1") is False


def test_other_mapping_set_delete_errors_still_raise(client, mocked):
    mocked.add(responses.DELETE, f"{CONVERSION}/mappingSets/m1", status=403, json={})
    with pytest.raises(PermissionDeniedError):
        client.dataprep.delete_mapping_set("m1")


def test_update_mapping_set_puts_the_body_and_returns_the_new_version(client, mocked):
    answer = {**MODERN, "id": "m/1", "version": 3, "modifiedDate": 1709860257007}
    mocked.add(responses.PUT, f"{CONVERSION}/mappingSets/m%2F1", json=answer)
    updated = client.dataprep.update_mapping_set("m/1", MODERN)
    request = last_request(mocked)
    assert (request.method, request.url) == ("PUT", f"{CONVERSION}/mappingSets/m%2F1")
    assert request.headers["Content-Type"] == "application/json"
    assert body(request) == MODERN
    assert (updated.id, updated.version, updated.schema_id) == ("m/1", 3, SCHEMA_ID)
    assert updated.updated_at == datetime(2024, 3, 8, 1, 10, 57, 7000, tzinfo=UTC)


def test_update_names_the_mapping_set_when_the_answer_leaves_out_its_id(client, mocked):
    mocked.add(responses.PUT, f"{CONVERSION}/mappingSets/m1", json={"version": "1"})
    updated = client.dataprep.update_mapping_set("m1", LEGACY)
    assert (updated.id, updated.version) == ("m1", 1)
    assert len(platform_calls(mocked)) == 1


def test_update_reads_the_version_back_when_the_answer_has_none(client, mocked):
    mocked.add(responses.PUT, f"{CONVERSION}/mappingSets/m1", status=200, body="")
    mocked.add(
        responses.GET, f"{CONVERSION}/mappingSets/m1", json={"id": "m1", "version": 4, **MODERN}
    )
    updated = client.dataprep.update_mapping_set("m1", MODERN)
    assert updated.version == 4
    assert [r.method for r in platform_calls(mocked)] == ["PUT", "GET"]


def test_update_refuses_a_malformed_body_before_calling(client, mocked):
    with pytest.raises(ValueError):
        client.dataprep.update_mapping_set("m1", UNBOUND)
    assert platform_calls(mocked) == []
