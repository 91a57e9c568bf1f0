"""The six Stripe resources the stand-in serves, and how their ids look."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Resource:
    path: str  # URL segment: /v1/<path>
    object: str  # value of the "object" field
    prefix: str  # id prefix, e.g. "ch_"
    id_length: int  # characters after the prefix, as in real Stripe ids
    label: str  # how Stripe names it in "No such ..." messages


RESOURCES: dict[str, Resource] = {
    r.path: r
    for r in (
        Resource("charges", "charge", "ch_", 24, "charge"),
        Resource("customers", "customer", "cus_", 14, "customer"),
        Resource("refunds", "refund", "re_", 24, "refund"),
        Resource("balance_transactions", "balance_transaction", "txn_", 24, "balance transaction"),
        Resource("subscriptions", "subscription", "sub_", 24, "subscription"),
        Resource("prices", "price", "price_", 24, "price"),
    )
}

RESOURCE_BY_OBJECT: dict[str, Resource] = {r.object: r for r in RESOURCES.values()}


def resource_for_id(object_id: str) -> Resource | None:
    """Guess the resource from an id prefix (used when expanding references)."""
    for resource in RESOURCES.values():
        if object_id.startswith(resource.prefix):
            return resource
    return None


def permission_name(resource: Resource) -> str:
    """The restricted-key permission Stripe names in its 403 message."""
    return f"rak_{resource.object}_read"
