"""Re-encrypt every stored secret with the first key of FIELD_ENCRYPTION_KEY."""

from __future__ import annotations

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from core.crypto import EncryptedSecretField, rotate


class Command(BaseCommand):
    help = (
        "After putting a new key first in FIELD_ENCRYPTION_KEY, re-encrypt all secrets with it; "
        "then the old key can be removed."
    )

    def handle(self, *args, **options) -> None:
        total = 0
        with transaction.atomic():
            for model in apps.get_models():
                pk = model._meta.pk
                for field in model._meta.fields:
                    if isinstance(field, EncryptedSecretField):
                        # Every model has a primary key; it and this (concrete) field have a column.
                        assert pk is not None and pk.column and field.column
                        total += _rotate_column(model._meta.db_table, pk.column, field.column)
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {total} secret(s)."))


def _rotate_column(table: str, pk: str, column: str) -> int:
    # Raw SQL on purpose: the field itself would decrypt on read and encrypt again on write.
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {quote(pk)}, {quote(column)} FROM {quote(table)}")  # noqa: S608
        rows = [(key, token) for key, token in cursor.fetchall() if token]
        for key, token in rows:
            cursor.execute(
                f"UPDATE {quote(table)} SET {quote(column)} = %s WHERE {quote(pk)} = %s",  # noqa: S608
                [rotate(token), key],
            )
    return len(rows)
