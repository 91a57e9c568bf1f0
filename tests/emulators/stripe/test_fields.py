"""`POST /__stripe__/fields`: a field appears on, or goes away from, every object of a resource."""

from __future__ import annotations

import requests

from emulators.stripe.accounts import OTHER_SECRET_KEY


def charges(server, key: str = OTHER_SECRET_KEY) -> list[dict]:
    response = requests.get(
        f"{server.url}/v1/charges", params={"limit": 100}, auth=(key, ""), timeout=10
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_set_and_remove_change_every_object_of_one_account_and_resource(stripe_scratch_server):
    server = stripe_scratch_server
    demo_before = charges(server, server.secret_key)
    result = server.admin(
        "fields",
        {
            "account": "acct_other",
            "resource": "charges",
            "set": {"outcome.risk_score": 42, "fraud_review": {"state": "clear"}},
            "remove": ["metadata.order_id", "receipt_email"],
        },
    )
    assert result["updated"] == server.count("charges", account="acct_other")
    changed = charges(server)
    assert changed and all(c["outcome"]["risk_score"] == 42 for c in changed)
    assert all(c["fraud_review"] == {"state": "clear"} for c in changed)
    assert all("order_id" not in c["metadata"] and "receipt_email" not in c for c in changed)
    # Other accounts, and the rest of each object, are left alone.
    assert charges(server, server.secret_key) == demo_before
    assert all(c["object"] == "charge" and "outcome" in c for c in changed)


def test_it_rejects_bad_requests(stripe_scratch_server):
    url = f"{stripe_scratch_server.url}/__stripe__/fields"
    for payload in (
        {"resource": "charges"},
        {"resource": "invoices", "set": {"a": 1}},
        {"account": "acct_nobody", "resource": "charges", "set": {"a": 1}},
        {"resource": "charges", "set": ["a"]},
        {"resource": "charges", "remove": "metadata"},
        {"resource": "charges", "remove": ["metadata..x"]},
        {"resource": "charges", "set": {"id": "ch_other"}},
        {"resource": "charges", "remove": ["created"]},
    ):
        response = requests.post(url, json=payload, timeout=10)
        assert response.status_code == 400, payload
        assert response.json()["error"]["type"] == "invalid_request_error"
