"""Flow Service list queries over HTTP: property filters, orderby, limit, paging and count."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from emulators.aep.testing import FLOW_SERVICE, create_base_connection, expect

NAMES = ["delta", "alpha", "echo", "charlie", "bravo", "foxtrot", "golf"]


@pytest.fixture
def connections(aep, stripe_server) -> list[dict]:
    """Seven base connections, created in NAMES order; returned as GET shows them."""
    for name in NAMES:
        create_base_connection(aep, stripe_server.secret_key, name=name)
    items = expect(aep.get(f"{FLOW_SERVICE}/connections", params={"orderby": "createdAt"}), 200)
    return items["items"]


def _names(aep, **params) -> list[str]:
    body = expect(aep.get(f"{FLOW_SERVICE}/connections", params=params), 200)
    return [item["name"] for item in body["items"]]


def test_default_order_is_newest_first(aep, connections):
    assert _names(aep) == list(reversed(NAMES))


def test_orderby_ascending_and_descending(aep, connections):
    assert _names(aep, orderby="name") == sorted(NAMES)
    assert _names(aep, orderby="+name") == sorted(NAMES)
    assert _names(aep, orderby="-name") == sorted(NAMES, reverse=True)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("name==echo", {"echo"}),
        ("name==ECHO", {"echo"}),
        ("name!=echo", set(NAMES) - {"echo"}),
        ("name==echo,golf,zulu", {"echo", "golf"}),
        ("name>delta", {"echo", "foxtrot", "golf"}),
        ("name>=delta", {"delta", "echo", "foxtrot", "golf"}),
        ("name<bravo", {"alpha"}),
        ("name<=bravo", {"alpha", "bravo"}),
        ("auth.specName==OAuth2 Refresh Code", set(NAMES)),
        ("connectionSpec.version==1.0", set(NAMES)),
        ("state==disabled", set()),
    ],
)
def test_property_filters(aep, connections, expression, expected):
    assert set(_names(aep, property=expression)) == expected


def test_numeric_comparison_of_timestamps(aep, connections):
    third = connections[2]["createdAt"]

    later = _names(aep, property=f"createdAt>{third}")
    not_earlier = _names(aep, property=f"createdAt>={third}")

    assert set(later) == {c["name"] for c in connections if c["createdAt"] > third}
    assert set(not_earlier) == {c["name"] for c in connections if c["createdAt"] >= third}
    assert "echo" in not_earlier


def test_repeated_property_parameters_are_and(aep, connections):
    assert _names(aep, property=["name>bravo", "name<foxtrot"]) == ["charlie", "echo", "delta"]


def test_pages_follow_continuation_tokens_to_the_end(aep, connections):
    seen: list[str] = []
    body = expect(
        aep.get(f"{FLOW_SERVICE}/connections", params={"limit": 3, "orderby": "name"}), 200
    )
    while True:
        seen += [item["name"] for item in body["items"]]
        href = body["_links"].get("next", {}).get("href")
        if not href:
            break
        assert href.startswith("/connections?continuationToken=")
        assert href.count("=") == 1
        token = href.split("=")[1]  # how aepp reads it
        assert list(parse_qs(urlsplit(href).query)) == ["continuationToken"]
        body = expect(
            aep.get(f"{FLOW_SERVICE}/connections", params={"continuationToken": token}), 200
        )

    assert seen == sorted(NAMES)
    assert body["_links"] == {}


def test_paging_keeps_filters_and_is_not_shifted_by_new_entities(aep, connections, stripe_server):
    first = expect(
        aep.get(
            f"{FLOW_SERVICE}/connections",
            params={"limit": 2, "property": "name!=alpha"},
        ),
        200,
    )
    create_base_connection(aep, stripe_server.secret_key, name="hotel")
    token = first["_links"]["next"]["href"].split("=")[1]
    second = expect(
        aep.get(f"{FLOW_SERVICE}/connections", params={"continuationToken": token}), 200
    )

    first_names = [i["name"] for i in first["items"]]
    second_names = [i["name"] for i in second["items"]]
    assert first_names == ["golf", "foxtrot"]
    assert second_names == ["bravo", "charlie"]


def test_count_returns_only_the_count(aep, connections):
    assert expect(aep.get(f"{FLOW_SERVICE}/connections", params={"count": "true"}), 200) == {
        "count": 7
    }
    filtered = aep.get(
        f"{FLOW_SERVICE}/connections", params={"count": "true", "property": "name<c"}
    )
    assert expect(filtered, 200) == {"count": 2}


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"count": "true", "limit": "2"}, "1401-400"),
        ({"property": "name~alpha"}, "1440-400"),
        ({"property": "name!>alpha"}, "1450-400"),
        ({"property": "createdAt>=1,2"}, "1443-400"),
        ({"property": "nameonly"}, "1441-400"),
        ({"orderby": "*name"}, "1432-400"),
        ({"orderby": "na me!"}, "1433-400"),
        ({"limit": "0"}, "1444-400"),
        ({"continuationToken": "not-a-token"}, "1445-400"),
    ],
)
def test_bad_queries_are_400(aep, connections, params, code):
    response = aep.get(f"{FLOW_SERVICE}/connections", params=params)

    assert response.status_code == 400
    assert response.json()["type"].endswith(f"FLOW-{code}")
