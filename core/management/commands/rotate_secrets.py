"""Re-encrypt every stored secret with the first key of FIELD_ENCRYPTION_KEY."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import connection

from core import crypto


class Command(BaseCommand):
    help = (
        "After putting a new key first in FIELD_ENCRYPTION_KEY, re-encrypt all secrets with it; "
        "then the old key can be removed."
    )

    def handle(self, *args, **options) -> None:
        rotated = unreadable = 0
        for table, pk, column in crypto.secret_columns():
            done, failed = _rotate_column(table, pk, column)
            rotated += done
            unreadable += failed
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {rotated} secret(s)."))
        if unreadable:
            self.stdout.write(
                self.style.WARNING(
                    f"{unreadable} secret(s) could not be read with any key and were left as "
                    "they were: put their key back in FIELD_ENCRYPTION_KEY, or enter them again."
                )
            )


def _rotate_column(table: str, pk: str, column: str) -> tuple[int, int]:
    """Re-encrypt one column row by row; returns (rotated, unreadable).

    Compare-and-set: a row is written only if it still holds the token that was read, so a
    secret someone saves while the rotation runs is never overwritten with the old value (it
    is already encrypted with the first key).
    """
    quote = connection.ops.quote_name
    rotated = unreadable = 0
    for key, token in crypto.stored_tokens(table, pk, column):
        if not crypto.is_readable(token):
            unreadable += 1
            continue
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {quote(table)} SET {quote(column)} = %s "  # noqa: S608
                f"WHERE {quote(pk)} = %s AND {quote(column)} = %s",
                [crypto.rotate(token), key, token],
            )
            rotated += cursor.rowcount
    return rotated, unreadable
