"""Data Prep mapping sets: both request shapes, versions, list paging, validate and preview."""

from __future__ import annotations

import pytest

from emulators.aep.testing import (
    DATA_PREP,
    DEMO_TENANT_ID,
    charge_mappings,
    create_charge_schema,
    create_mapping_set,
    expect,
)

NS = f"_{DEMO_TENANT_ID}.charges_data"


@pytest.fixture
def schema_id(aep) -> str:
    return create_charge_schema(aep)[2]


def _modern(schema_id: str, mappings: list[dict]) -> dict:
    return {
        "outputSchema": {
            "schemaRef": {
                "id": schema_id,
                "contentType": "application/vnd.adobe.xed-full+json;version=1",
            }
        },
        "mappings": mappings,
    }


def _legacy(schema_id: str) -> dict:
    return {
        "version": 0,
        "xdmSchema": schema_id,
        "xdmVersion": "1.0",
        "mappings": [
            {
                "destinationXdmPath": f"{NS}.id",
                "sourceAttribute": "data.id",
                "identity": False,
                "version": 0,
            },
            {
                "destinationXdmPath": f"{NS}.amount",
                "sourceAttribute": "data.amount",
                "identity": False,
                "version": 0,
            },
        ],
    }


def test_create_returns_200_with_the_summary(aep, schema_id):
    response = aep.post(f"{DATA_PREP}/mappingSets", json=_modern(schema_id, charge_mappings()))

    body = expect(response, 200)
    assert set(body) == {"id", "version", "createdDate", "modifiedDate", "createdBy", "modifiedBy"}
    assert len(body["id"]) == 32
    assert body["version"] == 0
    assert body["createdDate"] == body["modifiedDate"]


def test_the_legacy_shape_is_accepted_and_get_shows_both_naming_sets(aep, schema_id):
    created = expect(aep.post(f"{DATA_PREP}/mappingSets", json=_legacy(schema_id)), 200)

    mapping_set = expect(aep.get(f"{DATA_PREP}/mappingSets/{created['id']}"), 200)

    assert mapping_set["xdmSchema"] == schema_id
    assert mapping_set["outputSchema"]["schemaRef"]["id"] == schema_id
    assert mapping_set["status"] == "PUBLISHED"
    first = mapping_set["mappings"][0]
    assert first["source"] == first["sourceAttribute"] == "data.id"
    assert first["destination"] == first["destinationXdmPath"] == f"{NS}.id"
    assert first["sourceType"] == "text/x.schema-path"
    assert first["identity"] is False
    assert len(first["id"]) == 32


def test_invalid_mappings_are_400_and_name_the_problem(aep, schema_id):
    mappings = [
        {"sourceType": "ATTRIBUTE", "source": "data.id", "destination": f"{NS}.id"},
        {"sourceType": "ATTRIBUTE", "source": "data.amount", "destination": f"{NS}.nope"},
    ]

    response = aep.post(f"{DATA_PREP}/mappingSets", json=_modern(schema_id, mappings))

    assert response.status_code == 400
    body = response.json()
    assert f"{NS}.nope" in body["detail"]
    assert body["report"]["sub-errors"][0]["index"] == 1
    assert expect(aep.get(f"{DATA_PREP}/mappingSets"), 200)["data"] == []


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"mappings": []}, "schema"),
        (
            {"xdmSchema": "https://ns.adobe.com/stripesources/schemas/missing", "mappings": [{}]},
            "missing",
        ),
    ],
)
def test_the_output_schema_must_exist(aep, body, fragment):
    response = aep.post(f"{DATA_PREP}/mappingSets", json=body)

    assert response.status_code == 400
    assert fragment in response.json()["detail"]


def test_put_adds_a_version_and_old_versions_stay_readable(aep, schema_id):
    mapping_id = create_mapping_set(aep, schema_id)
    fewer = charge_mappings()[:2]

    updated = expect(
        aep.put(f"{DATA_PREP}/mappingSets/{mapping_id}", json=_modern(schema_id, fewer)), 200
    )

    assert updated["version"] == 1
    assert len(updated["mappings"]) == 2
    latest = expect(aep.get(f"{DATA_PREP}/mappingSets/{mapping_id}"), 200)
    original = expect(aep.get(f"{DATA_PREP}/mappingSets/{mapping_id}?version=0"), 200)
    assert latest["version"] == 1
    assert len(original["mappings"]) == len(charge_mappings())
    assert aep.get(f"{DATA_PREP}/mappingSets/{mapping_id}?version=7").status_code == 404


def test_list_pages_with_limit_and_start(aep, schema_id):
    ids = [create_mapping_set(aep, schema_id) for _ in range(3)]

    first = expect(aep.get(f"{DATA_PREP}/mappingSets", params={"limit": 2, "start": 0}), 200)
    second = expect(aep.get(f"{DATA_PREP}/mappingSets", params={"limit": 2, "start": 2}), 200)

    assert first["_page"] == {"count": 2, "limit": 2}
    assert "next" in first["_links"]
    assert second["_page"]["count"] == 1
    assert {m["id"] for m in first["data"] + second["data"]} == set(ids)


def test_validate_reports_each_mapping(aep, schema_id):
    mappings = [
        {"sourceType": "ATTRIBUTE", "source": "data.id", "destination": f"{NS}.id"},
        {
            "sourceType": "EXPRESSION",
            "source": "upper(data.currency",
            "destination": f"{NS}.currency",
        },
    ]

    body = expect(
        aep.post(f"{DATA_PREP}/mappingSets/validate", json=_modern(schema_id, mappings)), 200
    )

    statuses = [entry["status"] for entry in body["validationResponse"]]
    assert statuses == ["SUCCESS", "FAILED"]
    assert body["validationResponse"][0]["errors"] is None
    assert body["validationResponse"][1]["errors"][0]["destination"] == f"{NS}.currency"


def test_preview_maps_sample_records(aep, schema_id):
    mappings = [
        {"sourceType": "ATTRIBUTE", "source": "data.id", "destination": f"{NS}.id"},
        {
            "sourceType": "EXPRESSION",
            "source": "upper(data.currency)",
            "destination": f"{NS}.currency",
        },
    ]
    body = {
        "data": [{"data": {"id": "ch_1", "currency": "usd"}}],
        "mappingSet": _modern(schema_id, mappings),
    }

    preview = expect(aep.post(f"{DATA_PREP}/mappingSets/preview", json=body), 200)

    assert preview == [
        {
            "data": {f"_{DEMO_TENANT_ID}": {"charges_data": {"id": "ch_1", "currency": "USD"}}},
            "errors": None,
        }
    ]


def test_mapping_sets_are_scoped_to_the_sandbox(aep, aep_server, schema_id):
    from emulators.aep.testing import PlatformSession

    mapping_id = create_mapping_set(aep, schema_id)
    with PlatformSession(aep_server.url, sandbox="dev") as dev:
        assert dev.get(f"{DATA_PREP}/mappingSets/{mapping_id}").status_code == 404
