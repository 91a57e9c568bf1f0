"""Secrets at rest: Fernet encryption with key rotation (MultiFernet).

FIELD_ENCRYPTION_KEY holds one or more keys, newest first. The first key encrypts; every key
decrypts, so a new key can be put in front and `manage.py rotate_secrets` re-encrypts old rows.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models

MASK = "••••"


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ValueError("stored secret cannot be decrypted with FIELD_ENCRYPTION_KEY") from None


def rotate(token: str) -> str:
    return fernet().rotate(token.encode()).decode()


def last4(secret: str) -> str:
    return secret[-4:] if len(secret) >= 8 else ""


class Secret:
    """A decrypted secret that will not show itself by accident (repr, str, templates)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    @property
    def last4(self) -> str:
        return last4(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __str__(self) -> str:
        return MASK

    __repr__ = __str__


if TYPE_CHECKING:
    # For django-stubs: a plain string or a Secret may be assigned; the database gives a Secret.
    _SecretTextField = models.TextField[Secret | str, Secret]
else:
    _SecretTextField = models.TextField


class EncryptedSecretField(_SecretTextField):
    """Stores a Fernet token; Python code sees a `Secret`, never the plaintext by default."""

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return Secret("")
        return Secret(decrypt(value))

    def to_python(self, value):
        if isinstance(value, Secret) or value is None:
            return value
        return Secret(value)

    def get_prep_value(self, value):
        if value is None:
            return None
        plain = value.reveal() if isinstance(value, Secret) else str(value)
        return encrypt(plain) if plain else ""

    def value_to_string(self, obj):
        # Dumps and serializers get the ciphertext, never the secret.
        return self.get_prep_value(self.value_from_object(obj))
