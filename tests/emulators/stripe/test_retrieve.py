"""Retrieving single objects, unknown ids and routes, Request-Id headers, account isolation."""

from __future__ import annotations

import re

import pytest
import requests

from emulators.stripe.resources import RESOURCES

REQUEST_ID = re.compile(r"^req_[A-Za-z0-9]{14}$")


@pytest.mark.parametrize("resource", sorted(RESOURCES))
def test_retrieve_returns_the_listed_object(stripe_get, resource):
    listed = stripe_get(f"/v1/{resource}", {"limit": 3}).json()["data"]
    for obj in listed:
        response = stripe_get(f"/v1/{resource}/{obj['id']}")
        assert response.status_code == 200
        assert response.json() == obj


@pytest.mark.parametrize(
    ("resource", "label"),
    [("charges", "charge"), ("balance_transactions", "balance transaction")],
)
def test_unknown_id_is_404_resource_missing(stripe_get, resource, label):
    response = stripe_get(f"/v1/{resource}/xx_nope")
    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "code": "resource_missing",
            "doc_url": "https://stripe.com/docs/error-codes/resource-missing",
            "message": f"No such {label}: 'xx_nope'",
            "param": "id",
            "type": "invalid_request_error",
        }
    }


def test_id_of_another_resource_is_not_found(stripe_get):
    customer = stripe_get("/v1/customers", {"limit": 1}).json()["data"][0]
    assert stripe_get(f"/v1/charges/{customer['id']}").status_code == 404


@pytest.mark.parametrize("path", ["/v1/invoices", "/v1/charges/ch_1/refunds", "/v2/charges", "/"])
def test_unknown_routes_are_404(stripe_get, path):
    response = stripe_get(path)
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith(f"Unrecognized request URL (GET: {path})")


def test_writes_are_not_served(stripe_server):
    response = requests.post(
        f"{stripe_server.url}/v1/charges",
        data={"amount": 100},
        auth=(stripe_server.secret_key, ""),
        timeout=10,
    )
    assert response.status_code == 405
    assert "error" in response.json()


def test_every_response_carries_a_fresh_request_id(stripe_get, stripe_server):
    responses = [
        stripe_get("/v1/charges", {"limit": 1}),
        stripe_get("/v1/charges", {"limit": 0}),
        stripe_get("/v1/charges", key=None),
        stripe_get("/v1/charges/ch_nope"),
        stripe_get("/v1/nowhere"),
        requests.get(f"{stripe_server.url}/__stripe__/health", timeout=10),
    ]
    ids = [r.headers.get("Request-Id", "") for r in responses]
    assert [r.status_code for r in responses] == [200, 400, 401, 404, 404, 200]
    assert all(REQUEST_ID.match(i) for i in ids), ids
    assert len(set(ids)) == len(ids)


def test_accounts_do_not_see_each_others_objects(stripe_get, stripe_server):
    demo_charge = stripe_get("/v1/charges", {"limit": 1}).json()["data"][0]
    other = stripe_server.other_key
    assert stripe_get(f"/v1/charges/{demo_charge['id']}", key=other).status_code == 404
    listed = stripe_get("/v1/charges", {"limit": 100}, key=other).json()["data"]
    other_ids = {c["id"] for c in listed}
    assert other_ids and demo_charge["id"] not in other_ids
    assert stripe_server.count("charges", account="acct_other") == 50


def test_live_key_sees_livemode_objects(stripe_get, stripe_server):
    live = stripe_get("/v1/customers", {"limit": 20}, key=stripe_server.live_key).json()["data"]
    test = stripe_get("/v1/customers", {"limit": 20}).json()["data"]
    assert live and {c["livemode"] for c in live} == {True}
    assert {c["livemode"] for c in test} == {False}
