"""Settings of the local OpenID Connect provider (never loaded by the dashboard itself)."""

from __future__ import annotations

import os
import secrets

# A fresh key each start: the provider's own sign-in sessions end when it restarts, nothing else.
SECRET_KEY = os.environ.get("OIDC_PROVIDER_SECRET_KEY") or secrets.token_urlsafe(50)
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]
SITE_URL = os.environ.get("OIDC_PROVIDER_SITE_URL", "http://127.0.0.1:9400")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "oidc_provider",
    "emulators.oidc",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "emulators.oidc.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
            ]
        },
    }
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("OIDC_PROVIDER_DB", "oidc-provider.sqlite3"),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
LOGIN_URL = "/login/"
# Browsers share cookies across the ports of one host: with Django's default names, signing in
# here (127.0.0.1:9400) would overwrite the dashboard's session (127.0.0.1:8000) mid-sign-in.
SESSION_COOKIE_NAME = "oidc_provider_sessionid"
CSRF_COOKIE_NAME = "oidc_provider_csrftoken"

# Claims: the standard profile and email, plus `groups` (scope "groups"), in the userinfo answer
# and in the ID token, as Okta and Azure AD can be configured to send them.
OIDC_USERINFO = "emulators.oidc.claims.userinfo"
OIDC_EXTRA_SCOPE_CLAIMS = "emulators.oidc.claims.GroupsScopeClaims"
OIDC_IDTOKEN_INCLUDE_CLAIMS = True
OIDC_IDTOKEN_SUB_GENERATOR = "emulators.oidc.claims.subject"
