"""Read settings from the environment and fail loudly, in one line, on a bad value.

Each helper raises ``ConfigError`` naming the variable and what it expects; ``config.boot`` turns
that into a single line on stderr instead of a traceback from deep inside Django.
"""

from __future__ import annotations

import os
from urllib.parse import urlparse

from django.core.exceptions import ImproperlyConfigured


class ConfigError(ImproperlyConfigured):
    pass


def env_str(name: str, default: str | None = None) -> str:
    """A string; `NAME_FILE` may name a file holding it (Docker secrets)."""
    path = os.getenv(f"{name}_FILE")
    if path:
        try:
            with open(path) as fh:
                return fh.read().strip()
        except OSError as exc:
            raise ConfigError(f"{name}_FILE={path}: cannot read the file ({exc.strerror})") from exc
    value = os.getenv(name)
    if value is None or value == "":
        if default is None:
            raise ConfigError(f"{name} is required but not set (see .env.example)")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    value = os.getenv(name, "").strip()
    if value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={value!r} is not a boolean; use True or False")


def env_int(name: str, default: int, minimum: int | None = None) -> int:
    value = os.getenv(name, "").strip()
    if value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r} is not a whole number") from None
    if minimum is not None and number < minimum:
        raise ConfigError(f"{name}={number} must be at least {minimum}")
    return number


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


def env_url(name: str, default: str | None = None, schemes: tuple[str, ...] = ("http", "https")):
    value = env_str(name, default)
    parsed = urlparse(value)
    if parsed.scheme not in schemes or not (parsed.netloc or parsed.path):
        raise ConfigError(f"{name}={value!r} is not a URL; expected {' or '.join(schemes)}://…")
    return value.rstrip("/")


def env_fernet_keys(name: str) -> list[str]:
    """Comma-separated Fernet keys, newest first (the first encrypts, all decrypt)."""
    from cryptography.fernet import Fernet

    keys = env_list(name, "")
    if not keys:
        raise ConfigError(
            f"{name} is required: generate one with python -c "
            "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
        )
    for key in keys:
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise ConfigError(
                f"{name} holds a value that is not a Fernet key (32 url-safe base64 bytes)"
            ) from None
    return keys


def env_choice(name: str, choices: tuple[str, ...], default: str) -> str:
    value = os.getenv(name, "").strip().lower() or default
    if value not in choices:
        raise ConfigError(f"{name}={value!r} must be one of: {', '.join(choices)}")
    return value


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
# PASSWORD_LOGIN: everyone, a break-glass Admin only, no one.
PASSWORD_LOGIN_MODES = ("on", "admins", "off")


def env_oidc_issuer(name: str, *, debug: bool) -> str:
    """The identity provider's issuer URL: https, or http on this machine or with DEBUG."""
    value = env_str(name, "").rstrip("/")
    if not value:
        return ""
    parsed = urlparse(value)
    local = parsed.hostname in LOOPBACK_HOSTS
    if parsed.scheme != "https" and not (parsed.scheme == "http" and (local or debug)):
        raise ConfigError(f"{name}={value!r} must be an https:// URL (the provider's issuer)")
    return value


def check_sso_settings(
    *,
    issuer: str,
    client_id: str,
    client_secret: str,
    role_groups: dict[str, list[str]],
    password_login: str,
) -> None:
    """Refuse a single sign-on set-up that cannot work, in one line naming what is missing."""
    if not issuer:
        if password_login != PASSWORD_LOGIN_MODES[0]:
            raise ConfigError(
                f"PASSWORD_LOGIN={password_login} needs single sign-on: set OIDC_ISSUER too"
            )
        return
    if not client_id or not client_secret:
        raise ConfigError("OIDC_ISSUER is set: OIDC_CLIENT_ID and OIDC_CLIENT_SECRET are required")
    if not any(role_groups.values()):
        raise ConfigError(
            "OIDC_ISSUER is set: map at least one group to a role "
            "(OIDC_ADMIN_GROUPS, OIDC_SUPPORT_GROUPS or OIDC_MARKETING_OPS_GROUPS)"
        )
