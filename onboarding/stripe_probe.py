"""Ask Stripe what a key can read, before anything is created in AEP.

One `list?limit=1` call per resource path (Stripe has no endpoint that describes a key's
permissions), and a bounded count of objects created before a moment for backfill estimates.
Only workers call these; pages show what they stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

import stripe
from django.utils.translation import gettext as _

from aep.flowservice import STRIPE_RESOURCE_PATHS

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


def _client(token: str, api_base: str) -> stripe.StripeClient:
    # Retries would hide a 429 from the probe; one call per resource is the whole point.
    return stripe.StripeClient(
        token,
        base_addresses={"api": api_base},
        max_network_retries=0,
        http_client=stripe.RequestsClient(timeout=TIMEOUT_SECONDS),
    )


def _service(client: stripe.StripeClient, resource_path: str):
    return getattr(client.v1, resource_path)


def probe_key(token: str, api_base: str) -> KeyProbe:
    """Call `GET /v1/{path}?limit=1` for each of the six resource paths and classify the answer."""
    kind, livemode = key_shape(token) or ("", False)
    client = _client(token, api_base)
    resources: dict[str, ResourceAccess] = {}
    for path in STRIPE_RESOURCE_PATHS:
        try:
            _service(client, path).list({"limit": 1})
        except stripe.AuthenticationError as exc:
            # The key itself is refused: every other path would answer the same.
            message = describe(exc)
            return KeyProbe(
                kind,
                livemode,
                {p: ResourceAccess(ERROR, message) for p in STRIPE_RESOURCE_PATHS},
                key_error=message,
            )
        except stripe.PermissionError as exc:
            resources[path] = ResourceAccess(FORBIDDEN, describe(exc))
        except stripe.StripeError as exc:
            resources[path] = ResourceAccess(ERROR, describe(exc))
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
    service = _service(_client(token, api_base), resource_path)
    params: dict = {"limit": COUNT_PAGE_SIZE, "created": {"lt": int(before.timestamp())}}
    total = 0
    for _page in range(COUNT_MAX_PAGES):
        page = service.list(params)
        total += len(page.data)
        if not page.has_more or not page.data:
            return total, False
        params["starting_after"] = page.data[-1].id
    return total, True


def describe(exc: stripe.StripeError) -> str:
    if isinstance(exc, stripe.APIConnectionError):
        # Its message quotes the request that could not be sent; a key with a line break in
        # it is refused as a header value and quoted whole. The key must not be stored or shown.
        return _("Could not reach Stripe. Try again in a minute.")
    return (exc.user_message or str(exc) or type(exc).__name__).strip()
