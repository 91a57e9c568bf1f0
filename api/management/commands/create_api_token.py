"""Print a new API token for a person (for CI and scripts); it acts with their role."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from api.tokens import TokenError, issue


class Command(BaseCommand):
    help = (
        "Create a personal API token for USERNAME and print it (it is shown only this once). "
        "The token acts with the person's role; every action through it is audited as theirs."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", required=True, help="what the token is for, e.g. ci")
        parser.add_argument(
            "--expires-in-days", type=int, default=None, help="expire after this many days"
        )

    def handle(self, *args, **options) -> None:
        try:
            user = get_user_model().objects.get(username=options["username"], is_active=True)
        except get_user_model().DoesNotExist:
            raise CommandError(f"no active user {options['username']!r}") from None
        days = options["expires_in_days"]
        if days is not None and days < 1:
            raise CommandError("--expires-in-days must be at least 1")
        expires_at = timezone.now() + timedelta(days=days) if days else None
        try:
            _token, raw = issue(user, options["name"], expires_at=expires_at)
        except TokenError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(raw)
