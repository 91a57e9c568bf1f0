"""List semantics of the Stripe stand-in over HTTP: order, limit, cursors, created, filters."""

from __future__ import annotations

import itertools

import pytest

from emulators.stripe.resources import RESOURCES

ALL = sorted(RESOURCES)


def order_key(obj: dict) -> tuple[int, str]:
    return (obj["created"], obj["id"])


@pytest.fixture(scope="module")
def charges(stripe_list_all) -> list[dict]:
    return stripe_list_all("charges")


def test_list_envelope_and_default_limit(stripe_get):
    body = stripe_get("/v1/charges").json()
    assert list(body) == ["object", "data", "has_more", "url"]
    assert body["object"] == "list"
    assert body["url"] == "/v1/charges"
    assert len(body["data"]) == 10
    assert body["has_more"] is True
    assert {o["object"] for o in body["data"]} == {"charge"}


@pytest.mark.parametrize("resource", ALL)
def test_every_resource_is_newest_first_and_complete(resource, stripe_list_all, stripe_server):
    params = {"status": "all"} if resource == "subscriptions" else None
    items = stripe_list_all(resource, params)
    keys = [order_key(o) for o in items]
    assert keys == sorted(keys, reverse=True)
    assert len({o["id"] for o in items}) == len(items)
    assert len(items) == stripe_server.count(resource)
    assert {o["object"] for o in items} == {RESOURCES[resource].object}


def test_same_second_objects_are_ordered_by_id_descending(charges):
    ties = [(a, b) for a, b in itertools.pairwise(charges) if a["created"] == b["created"]]
    assert ties, "the seed should create charges that share a second"
    assert all(a["id"] > b["id"] for a, b in ties)


@pytest.mark.parametrize("limit", ["0", "-1", "101", "1000"])
def test_limit_out_of_range_is_rejected(stripe_get, limit):
    response = stripe_get("/v1/charges", {"limit": limit})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == "limit"


@pytest.mark.parametrize("limit", ["abc", "1.5", "10x"])
def test_limit_must_be_an_integer(stripe_get, limit):
    response = stripe_get("/v1/charges", {"limit": limit})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "message": f"Invalid integer: {limit}",
        "param": "limit",
        "type": "invalid_request_error",
    }


@pytest.mark.parametrize("limit", [1, 37, 100])
def test_limit_bounds_are_inclusive(stripe_get, charges, limit):
    body = stripe_get("/v1/charges", {"limit": limit}).json()
    assert [o["id"] for o in body["data"]] == [o["id"] for o in charges[:limit]]


def test_starting_after_returns_the_next_older_page(stripe_get, charges):
    body = stripe_get("/v1/charges", {"limit": 7, "starting_after": charges[6]["id"]}).json()
    assert [o["id"] for o in body["data"]] == [o["id"] for o in charges[7:14]]
    assert body["has_more"] is True


def test_last_page_has_no_more(stripe_get, charges):
    body = stripe_get("/v1/charges", {"limit": 5, "starting_after": charges[-4]["id"]}).json()
    assert [o["id"] for o in body["data"]] == [o["id"] for o in charges[-3:]]
    assert body["has_more"] is False
    exact = stripe_get("/v1/charges", {"limit": 3, "starting_after": charges[-4]["id"]}).json()
    assert exact["has_more"] is False


def test_ending_before_returns_the_previous_page(stripe_get, charges):
    body = stripe_get("/v1/charges", {"limit": 5, "ending_before": charges[20]["id"]}).json()
    assert [o["id"] for o in body["data"]] == [o["id"] for o in charges[15:20]]
    assert body["has_more"] is True
    top = stripe_get("/v1/charges", {"limit": 5, "ending_before": charges[3]["id"]}).json()
    assert [o["id"] for o in top["data"]] == [o["id"] for o in charges[0:3]]
    assert top["has_more"] is False


def test_paging_backwards_visits_every_newer_object(stripe_get, charges):
    cursor, seen = charges[150]["id"], []
    while True:
        body = stripe_get("/v1/charges", {"limit": 40, "ending_before": cursor}).json()
        seen = body["data"] + seen
        if not body["has_more"]:
            break
        cursor = body["data"][0]["id"]
    assert [o["id"] for o in seen] == [o["id"] for o in charges[:150]]


def test_both_cursors_are_rejected(stripe_get, charges):
    response = stripe_get(
        "/v1/charges", {"starting_after": charges[1]["id"], "ending_before": charges[5]["id"]}
    )
    assert response.status_code == 400
    assert response.json()["error"] == {
        "message": "Received both starting_after and ending_before parameters. "
        "Please pass in only one.",
        "type": "invalid_request_error",
    }


@pytest.mark.parametrize("param", ["starting_after", "ending_before"])
def test_unknown_cursor_is_resource_missing(stripe_get, param):
    response = stripe_get("/v1/charges", {param: "ch_doesnotexist"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "resource_missing"
    assert error["param"] == param
    assert error["message"] == "No such charge: 'ch_doesnotexist'"


def test_cursor_from_another_resource_is_missing(stripe_get, stripe_list_all):
    customer = stripe_list_all("customers")[0]
    response = stripe_get("/v1/charges", {"starting_after": customer["id"]})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "resource_missing"


def _created_window(charges: list[dict]) -> tuple[int, int]:
    return charges[-60]["created"], charges[60]["created"]


@pytest.mark.parametrize(
    ("op", "check"),
    [
        ("gt", lambda c, t: c > t),
        ("gte", lambda c, t: c >= t),
        ("lt", lambda c, t: c < t),
        ("lte", lambda c, t: c <= t),
    ],
)
def test_created_bracket_filters(stripe_list_all, charges, op, check):
    threshold = charges[100]["created"]
    found = stripe_list_all("charges", {f"created[{op}]": threshold})
    expected = [o["id"] for o in charges if check(o["created"], threshold)]
    assert [o["id"] for o in found] == expected
    assert 0 < len(expected) < len(charges)


def test_created_range_combines_bounds(stripe_list_all, charges):
    low, high = _created_window(charges)
    found = stripe_list_all("charges", {"created[gte]": low, "created[lt]": high}, page_size=9)
    expected = [o["id"] for o in charges if low <= o["created"] < high]
    assert [o["id"] for o in found] == expected


def test_created_integer_matches_exactly(stripe_get, charges):
    tied = next(a for a, b in itertools.pairwise(charges) if a["created"] == b["created"])
    body = stripe_get("/v1/charges", {"created": tied["created"], "limit": 100}).json()
    expected = [o["id"] for o in charges if o["created"] == tied["created"]]
    assert [o["id"] for o in body["data"]] == expected
    assert len(expected) >= 2


def test_created_filter_with_ending_before(stripe_get, charges):
    low, high = _created_window(charges)
    window = [o for o in charges if low <= o["created"] <= high]
    params = {"created[gte]": low, "created[lte]": high, "limit": 4}
    body = stripe_get("/v1/charges", {**params, "ending_before": window[10]["id"]}).json()
    assert [o["id"] for o in body["data"]] == [o["id"] for o in window[6:10]]


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"created[gte]": "yesterday"}, "created[gte]"),
        ({"created": "1.5"}, "created"),
        ({"created[since]": "1"}, "created[since]"),
        ({"colour": "blue"}, "colour"),
        ({"starting_after": ""}, "starting_after"),
    ],
)
def test_bad_parameters_are_rejected(stripe_get, params, param):
    response = stripe_get("/v1/customers", params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == param
    assert error["type"] == "invalid_request_error"


def test_subscriptions_leave_out_canceled_unless_asked(stripe_list_all):
    default = stripe_list_all("subscriptions")
    everything = stripe_list_all("subscriptions", {"status": "all"})
    canceled = stripe_list_all("subscriptions", {"status": "canceled"})
    assert "canceled" not in {s["status"] for s in default}
    assert canceled and {s["status"] for s in canceled} == {"canceled"}
    assert len(default) + len(canceled) == len(everything)


def test_resource_filters(stripe_get, charges, stripe_list_all):
    customer = next(c["customer"] for c in charges if c["customer"])
    by_customer = stripe_list_all("charges", {"customer": customer})
    assert [c["id"] for c in by_customer] == [c["id"] for c in charges if c["customer"] == customer]
    refund = stripe_list_all("refunds")[0]
    body = stripe_get("/v1/refunds", {"charge": refund["charge"]}).json()
    assert refund["id"] in [r["id"] for r in body["data"]]
    txns = stripe_get("/v1/balance_transactions", {"type": "refund", "limit": 100}).json()
    assert txns["data"] and {t["type"] for t in txns["data"]} == {"refund"}


def test_expand_on_lists_and_retrieve(stripe_get, charges):
    paid = next(c for c in charges if c["customer"] and c["balance_transaction"])
    body = stripe_get(
        "/v1/charges",
        {"limit": 3, "expand[]": ["data.customer", "data.balance_transaction"]},
    ).json()
    for charge in body["data"]:
        assert charge["customer"] is None or charge["customer"]["object"] == "customer"
    txn = stripe_get(
        f"/v1/balance_transactions/{paid['balance_transaction']}",
        {"expand[0]": "source", "expand[1]": "source.customer"},
    ).json()
    assert txn["source"]["id"] == paid["id"]
    assert txn["source"]["customer"]["id"] == paid["customer"]


@pytest.mark.parametrize(
    "expand",
    ["customer", "data.nonsense", "data.customer.a.b.c"],
)
def test_bad_expansions_are_rejected(stripe_get, expand):
    response = stripe_get("/v1/charges", {"expand[]": expand})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "expand"
