"""The official ``stripe`` Python package pointed at the stand-in."""

from __future__ import annotations

import json

import pytest
import stripe

from emulators.stripe.resources import RESOURCES

CLASSES = {
    "charges": stripe.Charge,
    "customers": stripe.Customer,
    "refunds": stripe.Refund,
    "balance_transactions": stripe.BalanceTransaction,
    "subscriptions": stripe.Subscription,
    "prices": stripe.Price,
}


@pytest.fixture(scope="module")
def client(stripe_server) -> stripe.StripeClient:
    return stripe_server.client()


@pytest.mark.parametrize("resource", sorted(RESOURCES))
def test_auto_paging_reads_every_object_and_retrieve_matches(client, stripe_list_all, resource):
    service = getattr(client.v1, resource)
    objects = list(service.list(params={"limit": 100}).auto_paging_iter())
    expected = stripe_list_all(resource)
    assert [o.id for o in objects] == [o["id"] for o in expected]
    assert all(isinstance(o, CLASSES[resource]) for o in objects)
    step = max(1, len(objects) // 5)
    for obj, raw in zip(objects[::step], expected[::step], strict=True):
        retrieved = service.retrieve(obj.id)
        assert json.loads(retrieved.last_response.body) == raw
        assert retrieved.id == obj.id and retrieved.created == obj.created


def test_small_pages_and_created_dict_filter(client, stripe_list_all):
    charges = stripe_list_all("charges")
    threshold = charges[len(charges) // 2]["created"]
    found = client.v1.charges.list(params={"limit": 7, "created": {"gte": threshold}})
    ids = [c.id for c in found.auto_paging_iter()]
    assert ids == [c["id"] for c in charges if c["created"] >= threshold]


def test_auto_paging_backwards_from_ending_before(client, stripe_list_all):
    charges = stripe_list_all("charges")
    cursor = charges[30]["id"]
    pages = client.v1.charges.list(params={"limit": 8, "ending_before": cursor})
    ids = {c.id for c in pages.auto_paging_iter()}
    assert ids == {c["id"] for c in charges[:30]}


def test_expand_gives_sdk_objects(client):
    page = client.v1.refunds.list(params={"limit": 5, "expand": ["data.charge"]})
    for refund in page.data:
        assert isinstance(refund.charge, stripe.Charge)
        assert refund.id in [r.id for r in refund.charge.refunds.data]


def test_global_api_base_works_too(stripe_server, monkeypatch):
    monkeypatch.setattr(stripe, "api_key", stripe_server.secret_key)
    monkeypatch.setattr(stripe, "api_base", stripe_server.url)
    prices = stripe.Price.list(limit=3)
    assert len(prices.data) == 3 and prices.data[0].object == "price"


def test_authentication_error(stripe_server):
    with pytest.raises(stripe.AuthenticationError) as caught:
        stripe_server.client("sk_test_not_a_configured_key_0000").v1.charges.list()
    assert caught.value.http_status == 401
    assert caught.value.request_id.startswith("req_")


def test_expired_key_is_authentication_error(stripe_scratch_server):
    key = "sk_test_revoked_for_sdk_test_0042"
    stripe_scratch_server.admin("keys", {"key": key})
    stripe_scratch_server.client(key).v1.customers.list()
    stripe_scratch_server.admin("keys", {"key": key, "revoke": True})
    with pytest.raises(stripe.AuthenticationError) as caught:
        stripe_scratch_server.client(key).v1.customers.list()
    assert caught.value.json_body["error"]["code"] == "api_key_expired"


def test_permission_error(stripe_server):
    restricted = stripe_server.client(stripe_server.restricted_key)
    assert restricted.v1.refunds.list(params={"limit": 1}).data
    with pytest.raises(stripe.PermissionError) as caught:
        restricted.v1.prices.list()
    assert caught.value.http_status == 403
    assert "rak_price_read" in caught.value.user_message


def test_rate_limit_error(stripe_limited_server):
    client = stripe_limited_server.client(stripe_limited_server.live_key)
    with pytest.raises(stripe.RateLimitError) as caught:
        for _ in range(20):
            client.v1.customers.list()
    assert caught.value.http_status == 429
    assert caught.value.json_body["error"]["code"] == "rate_limit"


@pytest.mark.parametrize(
    ("call", "status", "param"),
    [
        (lambda c: c.v1.charges.list(params={"limit": 500}), 400, "limit"),
        (lambda c: c.v1.customers.retrieve("cus_missing"), 404, "id"),
        (
            lambda c: c.v1.refunds.list(params={"starting_after": "re_missing"}),
            400,
            "starting_after",
        ),
        (
            lambda c: c.v1.charges.list(params={"starting_after": "ch_a", "ending_before": "ch_b"}),
            400,
            None,
        ),
    ],
)
def test_invalid_request_errors(client, call, status, param):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        call(client)
    assert caught.value.http_status == status
    assert caught.value.param == param
