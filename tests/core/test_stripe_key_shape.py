"""What counts as a Stripe key, for the wizard, key rotation and reconciliation alike."""

from __future__ import annotations

import pytest

from core.stripe import key_shape


@pytest.mark.parametrize(
    ("key", "shape"),
    [
        ("sk_test_abc123", ("secret", False)),
        ("sk_live_abc123", ("secret", True)),
        ("rk_test_abc123", ("restricted", False)),
        ("rk_live_abc123", ("restricted", True)),
    ],
)
def test_secret_and_restricted_keys_are_recognised(key, shape):
    assert key_shape(key) == shape


@pytest.mark.parametrize(
    "key",
    ["pk_test_abc123", "sk_test_abc\n123", "sk_test_abc 123", "sk_test_abc\t", "", "whsec_abc"],
)
def test_anything_else_is_not_a_key(key):
    assert key_shape(key) is None
