"""Stripe access: what counts as a key, the one way to build a Stripe client, and the probes.

The key probe asks Stripe what a key can read before anything is created in AEP: one
`list?limit=1` call per resource path (Stripe has no endpoint that describes a key's
permissions). The count gives backfill estimates: objects created before a moment, bounded.
Only workers call Stripe; pages show what they stored. Stripe's refusals are put into words by
core.explain.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

import stripe

from aep.flowservice import STRIPE_RESOURCE_PATHS
from core.explain import describe_stripe_error

# What a probe found for one resource path.
READABLE = "readable"
FORBIDDEN = "forbidden"
ERROR = "error"

SECRET = "secret"  # noqa: S105 - a key kind, not a password
RESTRICTED = "restricted"

KEY_PREFIXES = {
    "sk_test_": (SECRET, False),
    "sk_live_": (SECRET, True),
    "rk_test_": (RESTRICTED, False),
    "rk_live_": (RESTRICTED, True),
}
# Stripe's list limit is 100; counting stops after this many pages and says "more than".
COUNT_PAGE_SIZE = 100
COUNT_MAX_PAGES = 10
TIMEOUT_SECONDS = 20


@dataclass(frozen=True)
class ResourceAccess:
    status: str  # READABLE, FORBIDDEN or ERROR
    message: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"status": self.status, "message": self.message}


@dataclass(frozen=True)
class KeyProbe:
    """What one key can do: per-resource access, key kind and mode."""

    key_kind: str  # SECRET or RESTRICTED ("" when the prefix is unknown)
    livemode: bool
    resources: dict[str, ResourceAccess] = field(default_factory=dict)
    # Set when Stripe refused the key itself (wrong, revoked or expired): nothing is readable.
    key_error: str = ""

    @property
    def readable(self) -> list[str]:
        return [path for path, access in self.resources.items() if access.status == READABLE]

    @property
    def ok(self) -> bool:
        return not self.key_error and bool(self.readable)

    def as_dict(self) -> dict[str, dict[str, str]]:
        return {path: access.as_dict() for path, access in self.resources.items()}


# Stripe keys are letters, digits and underscores; anything else (a pasted line break, a space)
# would end up in an HTTP header.
_KEY_CHARACTERS = re.compile(r"[A-Za-z0-9_]+")


def key_shape(token: str) -> tuple[str, bool] | None:
    """(kind, livemode) from the key's prefix, or None for anything that is not a sk_/rk_ key."""
    if not _KEY_CHARACTERS.fullmatch(token):
        return None
    for prefix, shape in KEY_PREFIXES.items():
        if token.startswith(prefix):
            return shape
    return None


def stripe_client(
    token: str, api_base: str, *, retries: int = 0, timeout: float = TIMEOUT_SECONDS
) -> stripe.StripeClient:
    """A client for the Stripe API at `api_base` (settings.STRIPE_API_BASE, or a stand-in)."""
    return stripe.StripeClient(
        token,
        base_addresses={"api": api_base},
        max_network_retries=retries,
        http_client=stripe.RequestsClient(timeout=timeout),
    )


def _service(client: stripe.StripeClient, resource_path: str):
    return getattr(client.v1, resource_path)


def probe_key(token: str, api_base: str) -> KeyProbe:
    """Call `GET /v1/{path}?limit=1` for each of the six resource paths and classify the answer."""
    kind, livemode = key_shape(token) or ("", False)
    # No retries: they would hide a 429 from the probe; one call per resource is the point.
    client = stripe_client(token, api_base)
    resources: dict[str, ResourceAccess] = {}
    for path in STRIPE_RESOURCE_PATHS:
        try:
            _service(client, path).list({"limit": 1})
        except stripe.AuthenticationError as exc:
            # The key itself is refused: every other path would answer the same.
            message = describe_stripe_error(exc)
            return KeyProbe(
                kind,
                livemode,
                {p: ResourceAccess(ERROR, message) for p in STRIPE_RESOURCE_PATHS},
                key_error=message,
            )
        except stripe.PermissionError as exc:
            resources[path] = ResourceAccess(FORBIDDEN, describe_stripe_error(exc))
        except stripe.StripeError as exc:
            resources[path] = ResourceAccess(ERROR, describe_stripe_error(exc))
        else:
            resources[path] = ResourceAccess(READABLE)
    return KeyProbe(kind, livemode, resources)


def count_created_before(
    token: str, api_base: str, resource_path: str, before: datetime
) -> tuple[int, bool]:
    """(objects created before `before`, whether there are more than were counted).

    Stripe has no count endpoint, so this pages through ids (100 per call) and stops after
    COUNT_MAX_PAGES calls; the caller shows "more than N" when the second value is True.
    """
    service = _service(stripe_client(token, api_base), resource_path)
    params: dict = {"limit": COUNT_PAGE_SIZE, "created": {"lt": int(before.timestamp())}}
    total = 0
    for _page in range(COUNT_MAX_PAGES):
        page = service.list(params)
        total += len(page.data)
        if not page.has_more or not page.data:
            return total, False
        params["starting_after"] = page.data[-1].id
    return total, True
