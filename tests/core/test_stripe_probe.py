"""The permission probe and the backfill count, against the Stripe stand-in over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.stripe import (
    ERROR,
    FORBIDDEN,
    READABLE,
    count_created_before,
    key_shape,
    probe_key,
)

pytestmark = pytest.mark.integration


def test_a_secret_test_key_reads_everything(stripe_stand_in):
    probe = probe_key(stripe_stand_in.secret_key, stripe_stand_in.url)
    assert probe.key_kind == "secret"
    assert probe.livemode is False
    assert probe.ok
    assert {r.status for r in probe.resources.values()} == {READABLE}
    assert len(probe.resources) == 6


def test_a_restricted_key_is_forbidden_where_it_lacks_permission(stripe_stand_in):
    probe = probe_key(stripe_stand_in.restricted_key, stripe_stand_in.url)
    assert probe.key_kind == "restricted"
    assert sorted(probe.readable) == ["charges", "customers", "refunds"]
    forbidden = probe.resources["subscriptions"]
    assert forbidden.status == FORBIDDEN
    assert "permission" in forbidden.message


def test_a_wrong_key_is_a_key_error_on_every_path(stripe_stand_in):
    probe = probe_key("sk_test_not_a_real_key_0000", stripe_stand_in.url)
    assert not probe.ok
    assert "Invalid API Key" in probe.key_error
    assert "not_a_real_key" not in probe.key_error  # Stripe masks the key in its message
    assert {r.status for r in probe.resources.values()} == {ERROR}


def test_a_live_key_is_reported_as_live(stripe_stand_in):
    probe = probe_key(stripe_stand_in.live_key, stripe_stand_in.url)
    assert probe.livemode is True
    assert probe.ok


def test_an_unreachable_stripe_is_an_error_per_path_not_a_crash():
    probe = probe_key("sk_test_x_0000", "http://127.0.0.1:9")
    assert {r.status for r in probe.resources.values()} == {ERROR}
    assert probe.key_error == ""


def test_key_shapes():
    assert key_shape("rk_live_abc") == ("restricted", True)
    assert key_shape("sk_test_abc") == ("secret", False)
    assert key_shape("pk_test_abc") is None


def test_count_created_before_matches_the_stand_in(stripe_stand_in):
    now = datetime.now(UTC)
    count, more = count_created_before(
        stripe_stand_in.secret_key, stripe_stand_in.url, "charges", now
    )
    assert more is False
    assert count == stripe_stand_in.count("charges", created__lt=int(now.timestamp()))
    assert count > 0


def test_count_stops_at_the_page_cap(stripe_stand_in, monkeypatch):
    monkeypatch.setattr("core.stripe.COUNT_PAGE_SIZE", 10)
    monkeypatch.setattr("core.stripe.COUNT_MAX_PAGES", 2)
    count, more = count_created_before(
        stripe_stand_in.secret_key, stripe_stand_in.url, "charges", datetime.now(UTC)
    )
    assert (count, more) == (20, True)
