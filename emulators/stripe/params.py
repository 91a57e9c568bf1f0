"""Parse and check list parameters the way Stripe does, including its bracket syntax.

Stripe clients encode nested parameters as ``created[gte]=…`` and arrays as ``expand[0]=…``
(or ``expand[]=…``); these helpers turn a query string in that form into a ``ListQuery``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from emulators.stripe.errors import StripeError, invalid_request
from emulators.stripe.store import CreatedRange

DEFAULT_LIMIT = 10
MAX_LIMIT = 100
CREATED_OPS = ("gt", "gte", "lt", "lte")
COMMON_LIST_PARAMS = frozenset({"limit", "starting_after", "ending_before", "created", "expand"})

# Filters the stand-in answers, as SQL over the stored object, per resource.
FILTERS: dict[str, dict[str, str]] = {
    "charges": {
        "customer": "json_extract(body, '$.customer') = ?",
        "payment_intent": "json_extract(body, '$.payment_intent') = ?",
        "transfer_group": "json_extract(body, '$.transfer_group') = ?",
    },
    "customers": {"email": "json_extract(body, '$.email') = ?"},
    "refunds": {
        "charge": "json_extract(body, '$.charge') = ?",
        "payment_intent": "json_extract(body, '$.payment_intent') = ?",
    },
    "balance_transactions": {
        "source": "json_extract(body, '$.source') = ?",
        "type": "json_extract(body, '$.type') = ?",
        "currency": "json_extract(body, '$.currency') = ?",
    },
    "prices": {
        "currency": "json_extract(body, '$.currency') = ?",
        "product": "json_extract(body, '$.product') = ?",
        "type": "json_extract(body, '$.type') = ?",
        "active": "status = ?",
    },
    "subscriptions": {
        "customer": "json_extract(body, '$.customer') = ?",
        "price": "json_extract(body, '$.items.data[0].price.id') = ?",
        "collection_method": "json_extract(body, '$.collection_method') = ?",
        "status": "",  # handled by subscription_status()
    },
}
# Real Stripe filters the stand-in knows about but does not implement.
UNSUPPORTED_FILTERS: dict[str, frozenset[str]] = {
    "customers": frozenset({"test_clock"}),
    "balance_transactions": frozenset({"payout"}),
    "prices": frozenset({"lookup_keys", "recurring"}),
    "subscriptions": frozenset(
        {"automatic_tax", "current_period_end", "current_period_start", "test_clock"}
    ),
}
SUBSCRIPTION_STATUSES = frozenset(
    {
        "active",
        "all",
        "canceled",
        "ended",
        "incomplete",
        "incomplete_expired",
        "past_due",
        "paused",
        "trialing",
        "unpaid",
    }
)

_BRACKETS = re.compile(r"^([a-z_]+)((?:\[[^\]]*\])*)$")


@dataclass
class ListQuery:
    limit: int = DEFAULT_LIMIT
    starting_after: str | None = None
    ending_before: str | None = None
    created: CreatedRange = field(default_factory=CreatedRange)
    expand: list[str] = field(default_factory=list)
    filter_sql: list[str] = field(default_factory=list)
    filter_args: list[object] = field(default_factory=list)


def split_key(key: str) -> tuple[str, list[str]]:
    """``created[gte]`` -> (``created``, [``gte``]); ``expand[]`` -> (``expand``, [``""``])."""
    match = _BRACKETS.match(key)
    if not match:
        return key, []
    return match.group(1), re.findall(r"\[([^\]]*)\]", match.group(2))


def parse_int(value: str, param: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise invalid_request(f"Invalid integer: {value}", param=param) from None


def reject_empty(items: Iterable[tuple[str, str]]) -> None:
    for key, value in items:
        if value == "":
            raise invalid_request(
                f"You passed an empty string for '{key}'. We assume empty values are an attempt "
                f"to unset a parameter; however '{key}' cannot be unset. You should remove "
                f"'{key}' from your request or supply a non-empty value.",
                param=key,
            )


def parse_expand(items: list[tuple[str, str]]) -> list[str]:
    paths = []
    for key, value in items:
        base, subs = split_key(key)
        if base == "expand":
            if len(subs) > 1 or (subs and subs[0] and not subs[0].isdigit()):
                raise invalid_request(f"Received unknown parameter: {key}", param=key)
            paths.append(value)
    return paths


def parse_list_query(resource: str, items: list[tuple[str, str]]) -> ListQuery:
    reject_empty(items)
    allowed = COMMON_LIST_PARAMS | FILTERS.get(resource, {}).keys()
    unsupported = UNSUPPORTED_FILTERS.get(resource, frozenset())
    query = ListQuery()
    bounds: dict[str, int] = {}
    for key, value in items:
        base, subs = split_key(key)
        if base in unsupported:
            raise invalid_request(
                f"The Stripe stand-in does not implement the '{base}' filter.", param=key
            )
        if base not in allowed or (subs and base not in ("created", "expand")):
            raise invalid_request(f"Received unknown parameter: {key}", param=key)
        if base == "limit":
            query.limit = parse_limit(value)
        elif base == "starting_after":
            query.starting_after = value
        elif base == "ending_before":
            query.ending_before = value
        elif base == "created":
            _add_created_bound(bounds, key, subs, value)
        elif base != "expand":
            _add_filter(query, resource, base, value)
    if query.starting_after and query.ending_before:
        raise invalid_request(
            "Received both starting_after and ending_before parameters. Please pass in only one."
        )
    query.created = CreatedRange(**bounds)
    query.expand = parse_expand(items)
    if resource == "subscriptions" and not any(k == "status" for k, _ in items):
        _add_subscription_status(query, None)
    return query


def parse_limit(value: str) -> int:
    limit = parse_int(value, "limit")
    if limit < 1:
        raise invalid_request("This value must be greater than or equal to 1.", param="limit")
    if limit > MAX_LIMIT:
        raise invalid_request("This value must be less than or equal to 100.", param="limit")
    return limit


def _add_created_bound(bounds: dict[str, int], key: str, subs: list[str], value: str) -> None:
    if not subs:
        exact = parse_int(value, "created")
        bounds["gte"] = max(bounds.get("gte", exact), exact)
        bounds["lte"] = min(bounds.get("lte", exact), exact)
        return
    if len(subs) != 1 or subs[0] not in CREATED_OPS:
        raise invalid_request(f"Received unknown parameter: {key}", param=key)
    bounds[subs[0]] = parse_int(value, key)


def _add_filter(query: ListQuery, resource: str, name: str, value: str) -> None:
    if resource == "subscriptions" and name == "status":
        _add_subscription_status(query, value)
        return
    if resource == "prices" and name == "active":
        if value not in ("true", "false"):
            raise invalid_request(f"Invalid boolean: {value}", param="active")
        value = "active" if value == "true" else "inactive"
    query.filter_sql.append(FILTERS[resource][name])
    query.filter_args.append(value)


def _add_subscription_status(query: ListQuery, status: str | None) -> None:
    """Stripe leaves canceled subscriptions out of a list unless ``status`` asks for them."""
    if status is None:
        query.filter_sql.append("status NOT IN ('canceled', 'incomplete_expired')")
    elif status == "ended":
        query.filter_sql.append("status IN ('canceled', 'incomplete_expired')")
    elif status in SUBSCRIPTION_STATUSES - {"all"}:
        query.filter_sql.append("status = ?")
        query.filter_args.append(status)
    elif status != "all":
        raise StripeError(
            400,
            f"Invalid status: must be one of {', '.join(sorted(SUBSCRIPTION_STATUSES))}",
            param="status",
        )


def parse_created_args(args: dict[str, str]) -> CreatedRange:
    """``created`` / ``created[op]`` from a flat dict (used by the admin count endpoint)."""
    bounds: dict[str, int] = {}
    for key, value in args.items():
        base, subs = split_key(key)
        if base == "created":
            _add_created_bound(bounds, key, subs, value)
    return CreatedRange(**bounds)
