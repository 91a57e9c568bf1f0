"""Single sign-on with OpenID Connect, and the password sign-in policy beside it.

mozilla-django-oidc runs the authorization code flow (with PKCE and a nonce) and checks the ID
token. This module adds what it leaves to us:

- the provider's endpoints, read from its discovery document (OpenID Connect Discovery 1.0), so
  the only setting is the issuer;
- the person matched by issuer + subject (never by username or email);
- their role re-derived from their groups at every sign-in; no mapped group, no entry;
- signing out at the provider (RP-Initiated Logout 1.0) when it offers an end-session endpoint;
- PASSWORD_LOGIN: passwords for everyone, for a break-glass Admin only, or for no one.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from typing import Any
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from django.dispatch import Signal
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings

from config.env import PASSWORD_LOGIN_MODES
from core.models import SSOIdentity
from core.roles import ADMIN, MARKETING_OPS, ROLE_CAPABILITIES, SUPPORT, role_of

log = logging.getLogger(__name__)

SSO_BACKEND = "core.sso.SSOBackend"
EVERYONE, ADMINS_ONLY, NO_ONE = PASSWORD_LOGIN_MODES
# The most powerful role a person's groups grant wins.
ROLES_BY_POWER = (ADMIN, SUPPORT, MARKETING_OPS)
DISCOVERY_TTL_SECONDS = 3600
# mozilla-django-oidc's endpoint settings and the discovery fields that hold them (Discovery §3).
ENDPOINTS = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
}
REQUIRED_METADATA = ("authorization_endpoint", "token_endpoint", "jwks_uri")
# Why the last sign-in was refused, for the page the callback shows (kept in the session).
REFUSAL_SESSION_KEY = "sso_refused"

# Sent after each SSO sign-in: user, role, previous_role ("" for a new person), groups, created.
# monitoring records it in the audit trail (core cannot import the audit model).
signed_in = Signal()


class SSOUnavailable(Exception):
    """The identity provider's discovery document could not be read or does not fit."""


_metadata_cache: dict[str, tuple[float, dict[str, Any]]] = {}


def enabled() -> bool:
    return bool(settings.OIDC_ISSUER)


def provider_metadata() -> dict[str, Any]:
    """The discovery document of OIDC_ISSUER, cached for an hour in this process."""
    issuer = settings.OIDC_ISSUER
    cached = _metadata_cache.get(issuer)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    url = f"{issuer}/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise SSOUnavailable(f"{url}: {type(exc).__name__}") from exc
    if not isinstance(document, dict):
        raise SSOUnavailable(f"{url} is not a discovery document")
    # Discovery §4.3: the issuer in the document must be the one we asked.
    if str(document.get("issuer", "")).rstrip("/") != issuer:
        raise SSOUnavailable(f"{url} names another issuer: {document.get('issuer')!r}")
    missing = [field for field in REQUIRED_METADATA if not document.get(field)]
    if missing:
        raise SSOUnavailable(f"{url} lacks {', '.join(missing)}")
    _metadata_cache[issuer] = (time.monotonic() + DISCOVERY_TTL_SECONDS, document)
    return document


def forget_provider_metadata() -> None:
    _metadata_cache.clear()


def oidc_setting(attr: str, *default: Any) -> Any:
    """mozilla-django-oidc's settings, with the endpoints taken from the discovery document."""
    field = ENDPOINTS.get(attr)
    if field:
        return provider_metadata().get(field) or (default[0] if default else None)
    return import_from_settings(attr, *default)


# --- Roles from groups ---------------------------------------------------------------------------


def groups_of(claims: dict[str, Any]) -> list[str]:
    """The person's groups from OIDC_GROUPS_CLAIM: a list, or one string."""
    value = claims.get(settings.OIDC_GROUPS_CLAIM)
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list | tuple):
        return [str(group) for group in value if group not in (None, "")]
    return []


def role_for(groups: list[str]) -> str:
    """The most powerful role the groups grant, or "" when none of them is mapped."""
    held = set(groups)
    for role in ROLES_BY_POWER:
        if held & set(settings.SSO_ROLE_GROUPS.get(role, ())):
            return role
    return ""


def set_role(user, role: str) -> None:
    """Make the role the user's only role group."""
    role_groups = Group.objects.filter(name__in=ROLE_CAPABILITIES)
    user.groups.remove(*role_groups)
    if role:
        user.groups.add(Group.objects.get(name=role))


# --- The backends --------------------------------------------------------------------------------


class SSOBackend(OIDCAuthenticationBackend):
    """Signs in a person the identity provider vouches for, with the role their groups grant."""

    get_settings = staticmethod(oidc_setting)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Django builds every backend for each authenticate() and for every request's get_user():
        # the provider is asked for its endpoints only when a sign-in needs them (the properties
        # below), so pages keep working while it is down.
        self.UserModel = get_user_model()

    @property
    def OIDC_OP_TOKEN_ENDPOINT(self) -> str:
        return oidc_setting("OIDC_OP_TOKEN_ENDPOINT")

    @property
    def OIDC_OP_USER_ENDPOINT(self) -> str | None:
        return oidc_setting("OIDC_OP_USER_ENDPOINT", None)

    @property
    def OIDC_OP_JWKS_ENDPOINT(self) -> str:
        return oidc_setting("OIDC_OP_JWKS_ENDPOINT")

    @property
    def OIDC_RP_CLIENT_ID(self) -> str:
        return settings.OIDC_RP_CLIENT_ID

    @property
    def OIDC_RP_CLIENT_SECRET(self) -> str:
        return settings.OIDC_RP_CLIENT_SECRET

    @property
    def OIDC_RP_SIGN_ALGO(self) -> str:
        return settings.OIDC_RP_SIGN_ALGO

    OIDC_RP_IDP_SIGN_KEY = None

    def authenticate(self, request, **kwargs):
        if not enabled():
            return None
        return super().authenticate(request, **kwargs)

    def verify_token(self, token, **kwargs):
        """mozilla-django-oidc checks the signature, expiry and nonce; we add the issuer and the
        audience (Core §3.1.3.7), which it leaves unchecked."""
        payload = super().verify_token(token, **kwargs)
        check_id_token(payload)
        return payload

    def get_user(self, user_id):
        # Switching single sign-on off ends the sessions it started.
        return super().get_user(user_id) if enabled() else None

    def get_userinfo(self, access_token, id_token, payload):
        """The ID token's claims, completed by the userinfo answer where the provider has one.

        Azure AD puts groups in the ID token only; Okta can put them in either.
        """
        claims = dict(payload)
        if self.OIDC_OP_USER_ENDPOINT:
            userinfo = super().get_userinfo(access_token, id_token, payload)
            # Core §5.3.2: the userinfo subject must be the ID token's.
            if userinfo.get("sub") != payload.get("sub"):
                raise SuspiciousOperation("userinfo subject differs from the ID token's")
            claims.update(userinfo)
        return claims

    def verify_claims(self, claims):
        if not claims.get("sub"):
            return False
        groups = groups_of(claims)
        if not role_for(groups):
            self._refuse(claims, groups)
            return False
        return True

    def filter_users_by_claims(self, claims):
        return self.UserModel.objects.filter(
            sso_identity__issuer=settings.OIDC_ISSUER, sso_identity__subject=claims["sub"]
        )

    def create_user(self, claims):
        with transaction.atomic():
            user = self.UserModel.objects.create_user(unique_username(claims))
            SSOIdentity.objects.create(
                user=user, issuer=settings.OIDC_ISSUER, subject=claims["sub"]
            )
            return self._signed_in(user, claims, created=True)

    def update_user(self, user, claims):
        with transaction.atomic():
            return self._signed_in(user, claims, created=False)

    def _signed_in(self, user, claims: dict[str, Any], *, created: bool):
        previous_role = "" if created else role_of(user)
        groups = groups_of(claims)
        role = role_for(groups)
        user.email = claims.get("email") or user.email
        user.first_name = str(claims.get("given_name") or user.first_name)[:150]
        user.last_name = str(claims.get("family_name") or user.last_name)[:150]
        user.save(update_fields=["email", "first_name", "last_name"])
        set_role(user, role)
        SSOIdentity.objects.filter(user=user).update(groups=groups, last_sign_in=timezone.now())
        signed_in.send(
            sender=type(self),
            user=user,
            role=role,
            previous_role=previous_role,
            groups=groups,
            created=created,
        )
        return user

    def _refuse(self, claims: dict[str, Any], groups: list[str]) -> None:
        name = claims.get("preferred_username") or claims.get("email") or claims.get("sub")
        log.warning("single sign-on refused: no mapped group for %s", name)
        if getattr(self, "request", None) is not None:
            self.request.session[REFUSAL_SESSION_KEY] = {"name": str(name), "groups": groups}


def check_id_token(payload: dict[str, Any]) -> None:
    """An ID token must come from our issuer and be meant for our client."""
    if str(payload.get("iss", "")).rstrip("/") != settings.OIDC_ISSUER:
        raise SuspiciousOperation("ID token from another issuer")
    audience = payload.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if settings.OIDC_RP_CLIENT_ID not in audiences:
        raise SuspiciousOperation("ID token meant for another client")


USERNAME_UNSAFE = re.compile(r"[^\w.@+-]")


def unique_username(claims: dict[str, Any]) -> str:
    """A readable username from the provider's name for the person, unique among users.

    A local user of the same name keeps theirs: the new one gets a suffix from the subject.
    """
    email = str(claims.get("email") or "")
    base = str(claims.get("preferred_username") or email.split("@")[0] or "sso-user")
    base = USERNAME_UNSAFE.sub("-", base)[:120] or "sso-user"
    users = get_user_model().objects
    if not users.filter(username=base).exists():
        return base
    suffix = hashlib.sha256(str(claims["sub"]).encode()).hexdigest()[:6]
    candidate, counter = f"{base}-{suffix}", 1
    while users.filter(username=candidate).exists():
        counter += 1
        candidate = f"{base}-{suffix}-{counter}"
    return candidate


def password_login_allowed(user) -> bool:
    mode = settings.PASSWORD_LOGIN
    if mode == EVERYONE:
        return True
    if mode == ADMINS_ONLY:
        return user.is_superuser or role_of(user) == ADMIN
    return False


class PasswordBackend(ModelBackend):
    """Django's password check within PASSWORD_LOGIN.

    Django asks it again on every request (get_user), so a session started with a password ends
    as soon as the policy no longer allows it.
    """

    def user_can_authenticate(self, user) -> bool:
        return super().user_can_authenticate(user) and password_login_allowed(user)


def end_session_url(request: HttpRequest, id_token: str | None) -> str | None:
    """Where to send the browser so the provider ends its session too (None: it cannot)."""
    try:
        endpoint = provider_metadata().get("end_session_endpoint")
    except SSOUnavailable:
        return None
    if not endpoint:
        return None
    params = {
        "client_id": settings.OIDC_RP_CLIENT_ID,
        "post_logout_redirect_uri": request.build_absolute_uri(reverse("login")),
    }
    if id_token:
        params["id_token_hint"] = id_token
    return f"{endpoint}?{urlencode(params)}"
