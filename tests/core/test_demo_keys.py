"""The demo keys the product shows are the ones the Stripe stand-in accepts, with the same rights.

The product keeps its own copy (core/demo.py) because production installs may leave out the
emulators package; this test is what keeps the two in step.
"""

from __future__ import annotations

from core.demo import STRIPE_DEMO_KEYS
from emulators.stripe.accounts import DEMO_ACCOUNTS


def test_the_stand_in_accepts_the_shown_keys_with_the_shown_rights():
    demo_account = next(account for account in DEMO_ACCOUNTS if account.id == "acct_demo")
    stand_in = {k.key: (k.permissions, k.restricted) for k in demo_account.keys}
    shown = {
        k.key: (None if k.readable is None else frozenset(k.readable), k.restricted)
        for k in STRIPE_DEMO_KEYS
    }
    assert shown == stand_in


def test_the_shown_keys_are_test_mode_keys():
    assert all(k.key.startswith(("sk_test_", "rk_test_")) for k in STRIPE_DEMO_KEYS)
