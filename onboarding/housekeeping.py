"""Stripe keys of abandoned drafts are not kept: a key pasted into the wizard is kept, encrypted,
until provisioning has finished or the draft is discarded, and at most DRAFT_KEY_KEPT_FOR after
the draft was last touched. Beat runs `forget_abandoned_keys` hourly (onboarding.housekeeping).

A draft that lost its key goes back to its first step, which asks for the key again; what was
chosen in the other steps stays.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from onboarding.models import Draft

DRAFT_KEY_KEPT_FOR = timedelta(days=7)
# Drafts that may sit untouched; a draft being provisioned or discarded is a worker's business.
IDLE_STATUSES = (Draft.Status.EDITING, Draft.Status.FAILED)


def forget_abandoned_keys(now: datetime | None = None) -> int:
    cutoff = (now or timezone.now()) - DRAFT_KEY_KEPT_FOR
    return (
        Draft.objects.filter(status__in=IDLE_STATUSES, updated__lt=cutoff)
        .exclude(access_token="")
        .update(access_token="", token_last4="", reached=-1)
    )
