"""Accounts, API keys and how keys are read from a request and shown in messages."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

SECRET_PREFIXES = ("sk_test_", "sk_live_")
RESTRICTED_PREFIXES = ("rk_test_", "rk_live_")
KEY_PREFIXES = SECRET_PREFIXES + RESTRICTED_PREFIXES
LIVE_PREFIXES = ("sk_live_", "rk_live_")


@dataclass(frozen=True)
class ApiKey:
    key: str
    account: str
    # None for secret keys (every resource); a set of readable resource paths for restricted keys.
    permissions: frozenset[str] | None = None
    revoked_at: int | None = None
    expires_at: int | None = None

    @property
    def livemode(self) -> bool:
        return self.key.startswith(LIVE_PREFIXES)

    @property
    def restricted(self) -> bool:
        return self.key.startswith(RESTRICTED_PREFIXES)

    @property
    def redacted(self) -> str:
        return redact(self.key)

    def is_expired(self, now: int) -> bool:
        if self.revoked_at is not None and self.revoked_at <= now:
            return True
        return self.expires_at is not None and self.expires_at <= now

    def can_read(self, resource_path: str) -> bool:
        return self.permissions is None or resource_path in self.permissions


@dataclass(frozen=True)
class Account:
    id: str
    livemode: bool
    keys: tuple[ApiKey, ...]
    seed_share: float  # fraction of --seed N charges this account receives on first start


# Published demo keys of the stand-in, not credentials for any real account.
DEMO_SECRET_KEY = "sk_test_demo_stripe_sources_0001"  # noqa: S105
DEMO_RESTRICTED_KEY = "rk_test_demo_readonly_0001"
OTHER_SECRET_KEY = "sk_test_other_account_0002"  # noqa: S105
LIVE_SECRET_KEY = "sk_live_demo_live_0003"  # noqa: S105

DEMO_ACCOUNTS: tuple[Account, ...] = (
    Account(
        "acct_demo",
        livemode=False,
        keys=(
            ApiKey(DEMO_SECRET_KEY, "acct_demo"),
            ApiKey(
                DEMO_RESTRICTED_KEY,
                "acct_demo",
                permissions=frozenset({"charges", "customers", "refunds"}),
            ),
        ),
        seed_share=1.0,
    ),
    # Smaller accounts, so that a leak between accounts shows up as a wrong count.
    Account("acct_other", False, (ApiKey(OTHER_SECRET_KEY, "acct_other"),), seed_share=0.2),
    Account("acct_live", True, (ApiKey(LIVE_SECRET_KEY, "acct_live"),), seed_share=0.2),
)


def redact(key: str) -> str:
    """Show a key the way Stripe does in messages: type prefix, stars, last four characters."""
    prefix = next((p for p in (*KEY_PREFIXES, "pk_test_", "pk_live_") if key.startswith(p)), "")
    hidden = len(key) - len(prefix) - 4
    if hidden < 4:
        return "*" * max(len(key), 4)
    return prefix + "*" * hidden + key[-4:]


def key_from_authorization(header: str | None) -> str | None:
    """The API key in ``Authorization: Bearer <key>`` or ``Basic base64(<key>:)``, else None."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer":
        return value or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return value or None
        return decoded.partition(":")[0] or None
    return header.strip() or None
