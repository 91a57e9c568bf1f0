"""Secrets at rest: Fernet encryption with key rotation (MultiFernet).

FIELD_ENCRYPTION_KEY holds one or more keys, newest first. The first key encrypts; every key
decrypts, so a new key can be put in front and `manage.py rotate_secrets` re-encrypts old rows.

A secret is decrypted only when it is used (`Secret.reveal`), never when its row is loaded: a
secret written under a key that is no longer in the list (a restored backup, an old key dropped
too early) breaks only the action that needs it, with a sentence naming the row and the fix,
and every page that shows no secret keeps working. `count_unreadable` counts such secrets for
`manage.py check --deploy` and /healthz/background.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core import checks
from django.db import connection, models
from django.db.models.query_utils import DeferredAttribute
from django.utils.translation import gettext as _

from core.explain import ExplainedError

MASK = "••••"

QuerySetT = TypeVar("QuerySetT", bound=models.QuerySet)


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
        raise ValueError("stored secret cannot be read with FIELD_ENCRYPTION_KEY") from None


def rotate(token: str) -> str:
    return fernet().rotate(token.encode()).decode()


class FieldKeySealer:
    """Encryption with the field key for values kept outside the database (IMS tokens in
    Redis): aep.ims.Sealer."""

    def seal(self, text: str) -> str:
        return encrypt(text)

    def open(self, sealed: str) -> str:
        return decrypt(sealed)


def is_readable(token: str) -> bool:
    try:
        fernet().decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def last4(secret: str) -> str:
    return secret[-4:] if len(secret) >= 8 else ""


class UnreadableSecret(ExplainedError, ValueError):
    """A stored secret none of the keys in FIELD_ENCRYPTION_KEY can decrypt; the message names
    whose secret it is and how to fix it."""


def unreadable_message(owner: str) -> str:
    return _(
        "The stored secret of %(owner)s cannot be read with the current FIELD_ENCRYPTION_KEY. "
        "Enter the secret again, or put the key it was "
        "written with back in FIELD_ENCRYPTION_KEY (after the current one)."
    ) % {"owner": owner}


class Secret:
    """A secret that will not show itself by accident (repr, str, templates).

    Built from plaintext (`Secret("…")`) or from a stored token (`Secret.stored(token)`), which
    is decrypted on first use: `reveal` raises UnreadableSecret when no key can read it.
    """

    __slots__ = ("_owner", "_token", "_value")

    def __init__(self, value: str) -> None:
        self._value: str | None = value
        self._token = ""
        self._owner = ""

    @classmethod
    def stored(cls, token: str) -> Secret:
        secret = cls("")
        secret._value = None if token else ""
        secret._token = token
        return secret

    def describe_owner(self, owner: str) -> None:
        """Name the row this secret belongs to, for the message when it cannot be read."""
        if not self._owner:
            self._owner = owner

    @property
    def token(self) -> str:
        """The stored token this secret was loaded from and has not been changed since."""
        return self._token if self._value is None else ""

    @property
    def readable(self) -> bool:
        return self._value is not None or is_readable(self._token)

    def reveal(self) -> str:
        if self._value is None:
            try:
                self._value = fernet().decrypt(self._token.encode()).decode()
            except InvalidToken:
                raise UnreadableSecret(
                    unreadable_message(self._owner or _("a saved item")),
                    code="unreadable_secret",
                ) from None
        return self._value

    @property
    def last4(self) -> str:
        if not self.readable:
            return ""
        return last4(self.reveal())

    def __bool__(self) -> bool:
        return bool(self._token) if self._value is None else bool(self._value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return False
        if self._value is None and other._value is None:
            return self._token == other._token
        try:
            return other.reveal() == self.reveal()
        except UnreadableSecret:
            return False

    def __hash__(self) -> int:
        return hash(self._token) if self._value is None else hash(self._value)

    def __str__(self) -> str:
        return MASK

    __repr__ = __str__


class _SecretAttribute(DeferredAttribute):
    """Tells each Secret read from a row whose it is, for the message when it is unreadable.

    A data descriptor (it has __set__), so reads come here although the value sits in the
    instance's __dict__.
    """

    def __set__(self, instance: Any, value: Any) -> None:
        instance.__dict__[self.field.attname] = value

    def __get__(self, instance: Any, cls: Any = None) -> Any:
        value = super().__get__(instance, cls)
        if instance is not None and isinstance(value, Secret):
            value.describe_owner(
                f"{instance._meta.verbose_name} “{instance}” ({self.field.verbose_name})"
            )
        return value


if TYPE_CHECKING:
    # For django-stubs: a plain string or a Secret may be assigned; the database gives a Secret.
    _SecretTextField = models.TextField[Secret | str, Secret]
else:
    _SecretTextField = models.TextField


class EncryptedSecretField(_SecretTextField):
    """Stores a Fernet token; Python code sees a `Secret`, never the plaintext by default."""

    descriptor_class = _SecretAttribute

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return Secret("")
        return Secret.stored(value)

    def to_python(self, value):
        if isinstance(value, Secret) or value is None:
            return value
        return Secret(value)

    def get_prep_value(self, value):
        if value is None:
            return None
        if isinstance(value, Secret):
            if value.token:
                # Unchanged since it was loaded: written back as it was, readable or not.
                return value.token
            plain = value.reveal()
        else:
            plain = str(value)
        return encrypt(plain) if plain else ""

    def value_to_string(self, obj):
        # Dumps and serializers get the ciphertext, never the secret.
        return self.get_prep_value(self.value_from_object(obj))


# -- secrets the current keys cannot read ---------------------------------------------------


def secret_columns() -> list[tuple[str, str, str]]:
    """(table, primary key column, secret column) of every EncryptedSecretField."""
    from django.apps import apps

    columns = []
    for model in apps.get_models():
        pk = model._meta.pk
        for field in model._meta.fields:
            if isinstance(field, EncryptedSecretField):
                # Every model has a primary key; it and this (concrete) field have a column.
                assert pk is not None and pk.column and field.column
                columns.append((model._meta.db_table, pk.column, field.column))
    return columns


def stored_tokens(table: str, pk: str, column: str) -> list[tuple[Any, str]]:
    # Raw SQL on purpose: the field would wrap each token in a Secret.
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {quote(pk)}, {quote(column)} FROM {quote(table)} "  # noqa: S608
            f"WHERE {quote(column)} <> ''"
        )
        return [(key, token) for key, token in cursor.fetchall() if token]


def count_unreadable() -> int:
    """How many stored secrets none of the keys in FIELD_ENCRYPTION_KEY can decrypt."""
    return sum(
        not is_readable(token)
        for table, pk, column in secret_columns()
        for _key, token in stored_tokens(table, pk, column)
    )


@checks.register(checks.Tags.security, deploy=True)
def check_secrets_readable(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """`manage.py check --deploy`: every stored secret reads with the current keys."""
    try:
        unreadable = count_unreadable()
    except Exception:
        return []
    if not unreadable:
        return []
    return [
        checks.Error(
            f"{unreadable} stored secret(s) cannot be read with the current FIELD_ENCRYPTION_KEY.",
            hint="Put the key they were written with back in FIELD_ENCRYPTION_KEY (after the "
            "current one) and run rotate_secrets, or enter those secrets again.",
            id="core.E001",
        )
    ]


def defer_secrets(queryset: QuerySetT, *related: str) -> QuerySetT:
    """`queryset` without the secret columns of its model and of each `related` path
    (select_related ones): list pages never load a secret, readable or not."""
    names = [field.name for field in _secret_fields(queryset.model)]
    for path in related:
        model: Any = queryset.model
        for part in path.split("__"):
            model = model._meta.get_field(part).related_model
        names += [f"{path}__{field.name}" for field in _secret_fields(model)]
    return queryset.defer(*names) if names else queryset


def _secret_fields(model: Any) -> list[EncryptedSecretField]:
    return [field for field in model._meta.fields if isinstance(field, EncryptedSecretField)]
