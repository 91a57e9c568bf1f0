"""Personal API tokens: issue one (shown once), recognise it on a request, revoke it.

A token looks like `ss_<40 url-safe characters>`; the prefix makes a leaked one easy to find
with secret scanners. Only its SHA-256 digest is stored.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from api.models import ApiToken
from monitoring.audit import record

TOKEN_PREFIX = "ss_"  # noqa: S105  (a marker for secret scanners, not a secret)
SHOWN_PREFIX = 10  # "ss_" and 7 characters: enough to tell tokens apart in a list
# last_used_at is written at most this often per token, not on every call.
TOUCH_EVERY = timedelta(minutes=1)


class TokenError(ValueError):
    pass


def digest_of(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue(
    user, name: str, *, expires_at: datetime | None = None, actor=None
) -> tuple[ApiToken, str]:
    """A new token for `user`; returns the row and the token itself, which is never kept."""
    name = name.strip()
    if not name:
        raise TokenError("a token needs a name")
    if expires_at is not None and expires_at <= timezone.now():
        raise TokenError("the expiry must be in the future")
    if ApiToken.objects.filter(user=user, name=name, revoked_at=None).exists():
        raise TokenError(f"you already have a token named {name!r}")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(30)
    try:
        with transaction.atomic():
            token = ApiToken.objects.create(
                user=user,
                name=name,
                prefix=raw[:SHOWN_PREFIX],
                digest=digest_of(raw),
                expires_at=expires_at,
            )
            _audit(actor or user, "api_token.create", token)
    except IntegrityError:  # the same name created at the same moment, in another request
        raise TokenError(f"you already have a token named {name!r}") from None
    return token, raw


def authenticate(raw: str) -> ApiToken | None:
    """The live token `raw` is, or None (unknown, revoked, expired, or its owner inactive)."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    token = ApiToken.objects.select_related("user").filter(digest=digest_of(raw)).first()
    if token is None or not token.is_live or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def revoke(token: ApiToken, *, by) -> bool:
    """Revoke `token`; False when it was revoked already."""
    with transaction.atomic():
        revoked = ApiToken.objects.filter(pk=token.pk, revoked_at=None).update(
            revoked_at=timezone.now(), revoked_by=by
        )
        if revoked:
            token.refresh_from_db()
            _audit(by, "api_token.revoke", token)
    return bool(revoked)


def _audit(actor, action: str, token: ApiToken) -> None:
    record(
        actor,
        action,
        target_type="api_token",
        target_id=str(token.pk),
        target_label=f"{token.name} ({token.user.get_username()})",
        after={
            "name": token.name,
            "owner": token.user.get_username(),
            "prefix": token.prefix,
            "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        },
    )
