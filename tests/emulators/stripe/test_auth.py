"""Authentication, restricted-key permissions, key administration and rate limiting."""

from __future__ import annotations

import time

import pytest
import requests

NEW_KEY = "sk_test_added_by_admin_api_9999"
NEW_RESTRICTED = "rk_test_prices_only_key_7777"


def get(
    server, path: str, key: str | None = None, headers: dict | None = None, **kwargs
) -> requests.Response:
    headers = {**(headers or {}), **({"Authorization": f"Bearer {key}"} if key else {})}
    return requests.get(server.url + path, headers=headers, timeout=10, **kwargs)


def test_bearer_and_basic_auth_both_work(stripe_server):
    bearer = get(stripe_server, "/v1/customers", stripe_server.secret_key)
    basic = requests.get(
        stripe_server.url + "/v1/customers", auth=(stripe_server.secret_key, ""), timeout=10
    )
    assert bearer.status_code == basic.status_code == 200
    assert bearer.json() == basic.json()


def test_missing_key_is_401_invalid_request(stripe_server):
    response = get(stripe_server, "/v1/charges")
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith("You did not provide an API key.")


def test_unknown_key_is_401_and_only_its_last_four_characters_show(stripe_server):
    key = "sk_test_51NotARealKeyAtAllZZZZ9876"
    response = get(stripe_server, "/v1/charges", key)
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith("Invalid API Key provided: sk_test_")
    assert error["message"].endswith("9876")
    assert "51NotARealKey" not in response.text


def test_key_of_wrong_shape_is_rejected(stripe_server):
    assert get(stripe_server, "/v1/charges", "pk_test_demo_stripe_sources_0001").status_code == 401
    assert get(stripe_server, "/v1/charges", "demo").status_code == 401


@pytest.mark.parametrize("resource", ["charges", "customers", "refunds"])
def test_restricted_key_reads_what_it_is_allowed(stripe_server, resource):
    response = get(stripe_server, f"/v1/{resource}", stripe_server.restricted_key)
    assert response.status_code == 200
    first = response.json()["data"][0]
    assert get(stripe_server, f"/v1/{resource}/{first['id']}", stripe_server.restricted_key).ok


@pytest.mark.parametrize(
    ("resource", "permission"),
    [
        ("subscriptions", "rak_subscription_read"),
        ("prices", "rak_price_read"),
        ("balance_transactions", "rak_balance_transaction_read"),
    ],
)
def test_restricted_key_without_permission_is_403(stripe_server, resource, permission):
    response = get(stripe_server, f"/v1/{resource}", stripe_server.restricted_key)
    assert response.status_code == 403
    message = response.json()["error"]["message"]
    assert message.startswith("The provided key 'rk_test_")
    assert "0001' does not have the required permissions" in message
    assert f"on account 'acct_demo'. Having the '{permission}' permission" in message
    assert "demo_readonly" not in message


def test_restricted_key_cannot_expand_into_forbidden_objects(stripe_server):
    response = get(
        stripe_server,
        "/v1/charges",
        stripe_server.restricted_key,
        params={"expand[]": "data.balance_transaction"},
    )
    assert response.status_code == 403


def test_connected_account_header_must_match_the_key(stripe_server):
    response = get(
        stripe_server,
        "/v1/charges",
        stripe_server.secret_key,
        headers={"Stripe-Account": "acct_other"},
    )
    assert response.status_code == 403
    assert "does not have access to account 'acct_other'" in response.json()["error"]["message"]


def test_added_key_works_and_revoked_key_is_expired(stripe_scratch_server):
    server = stripe_scratch_server
    added = server.admin("keys", {"key": NEW_KEY, "account": "acct_other"})
    assert added["key"].endswith("9999") and NEW_KEY not in str(added)
    response = get(server, "/v1/charges", NEW_KEY, params={"limit": 100})
    assert response.status_code == 200
    assert len(response.json()["data"]) == server.count("charges", account="acct_other")

    server.admin("keys", {"key": NEW_KEY, "revoke": True})
    revoked = get(server, "/v1/charges", NEW_KEY)
    assert revoked.status_code == 401
    assert revoked.json()["error"]["type"] == "authentication_error"
    assert revoked.json()["error"]["code"] == "api_key_expired"


def test_key_past_its_expiry_is_rejected(stripe_scratch_server):
    key = "sk_test_expires_soon_key_5555"
    stripe_scratch_server.admin("keys", {"key": key, "expires_at": int(time.time()) - 1})
    assert get(stripe_scratch_server, "/v1/charges", key).json()["error"]["code"] == (
        "api_key_expired"
    )


def test_added_restricted_key_gets_per_resource_permissions(stripe_scratch_server):
    server = stripe_scratch_server
    server.admin(
        "keys",
        {"key": NEW_RESTRICTED, "permissions": {"prices": "read", "charges": "none"}},
    )
    assert get(server, "/v1/prices", NEW_RESTRICTED).status_code == 200
    assert get(server, "/v1/charges", NEW_RESTRICTED).status_code == 403


def test_key_admin_rejects_bad_requests(stripe_scratch_server):
    url = stripe_scratch_server.url + "/__stripe__/keys"
    bad = [
        {"key": "not_a_key_at_all_000"},
        {"key": "rk_test_missing_permissions_1"},
        {"key": "sk_live_wrong_mode_for_demo_1", "account": "acct_demo"},
        {"key": "rk_test_unknown_resource_01", "permissions": ["invoices"]},
    ]
    for payload in bad:
        assert requests.post(url, json=payload, timeout=10).status_code == 400, payload


def test_logs_never_hold_a_full_key(stripe_scratch_server):
    get(stripe_scratch_server, "/v1/charges", "sk_test_some_unknown_key_4321")
    log = stripe_scratch_server.log()
    assert "unknown_key" not in log
    assert "demo_stripe_sources" not in log
    assert "rejected unknown API key sk_test_" in log


def _burst(server, key: str, n: int = 12) -> list[requests.Response]:
    return [get(server, "/v1/customers", key) for _ in range(n)]


def test_rate_limit_flag_answers_429_with_stripe_body(stripe_limited_server):
    server = stripe_limited_server
    responses = _burst(server, server.secret_key)
    limited = [r for r in responses if r.status_code == 429]
    assert limited and responses[0].status_code == 200
    assert limited[0].json() == {
        "error": {
            "code": "rate_limit",
            "doc_url": "https://stripe.com/docs/error-codes/rate-limit",
            "message": "Testmode request rate limit exceeded, the rate limits in testmode are "
            "lower than livemode. You can learn more about rate limits here "
            "https://stripe.com/docs/rate-limits.",
            "type": "invalid_request_error",
        }
    }
    # Each key has its own budget.
    assert get(server, "/v1/customers", server.other_key).status_code == 200


def test_rate_limit_set_and_cleared_at_runtime(stripe_scratch_server):
    server = stripe_scratch_server
    assert {r.status_code for r in _burst(server, server.live_key)} == {200}
    assert server.admin("rate-limit", {"rps": 2}) == {"rps": 2.0}
    try:
        statuses = [r.status_code for r in _burst(server, server.live_key)]
        assert 429 in statuses
        limited = get(server, "/v1/customers", server.live_key)
        assert limited.json()["error"]["message"].startswith("Request rate limit exceeded.")
    finally:
        server.admin("rate-limit", {"rps": None})
    assert {r.status_code for r in _burst(server, server.live_key)} == {200}
