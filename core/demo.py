"""The published demo keys of the local Stripe stand-in, and how to tell a sandbox on this machine.

The product only shows these keys: the wizard offers them for a sandbox whose AEP is the local
emulator, and `seed_demo` prints them for `./dev run`. They are copied here rather than imported
from `emulators`, which production installs may leave out; tests/core/test_demo_keys.py checks
that the stand-in (emulators/stripe/accounts.py) accepts exactly these keys with these rights.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlparse


@dataclass(frozen=True)
class DemoKey:
    key: str
    # The Stripe resource paths the key may read; None for a secret key, which reads them all.
    readable: tuple[str, ...] | None = None

    @property
    def restricted(self) -> bool:
        return self.key.startswith("rk_")


STRIPE_DEMO_KEYS = (
    DemoKey("sk_test_demo_stripe_sources_0001"),
    DemoKey("rk_test_demo_readonly_0001", readable=("charges", "customers", "refunds")),
)


def on_this_machine(url: str) -> bool:
    """Whether `url` points at this machine: localhost or a loopback address.

    That is where `./dev run` starts the AEP emulator and the Stripe stand-in; a real AEP
    sandbox never is.
    """
    host = (urlparse(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
