"""Create one demo user per role and a sandbox that points at the local AEP emulator, and print
what to log in with: the users' passwords and the Stripe stand-in's demo keys."""

from __future__ import annotations

import json
import secrets

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand

from core.demo import STRIPE_DEMO_KEYS
from core.roles import ADMIN, MARKETING_OPS, SUPPORT, ensure_roles
from monitoring.models import Sandbox

DEMO_USERS = (
    ("marketing", "Mina", "Marketing", MARKETING_OPS),
    ("admin", "Alex", "Admin", ADMIN),
    ("support", "Sam", "Support", SUPPORT),
)

# The emulator's built-in demo organisation (emulators/aep/README.md).
DEMO_ORG_ID = "DEMO0000000000000000001@AdobeOrg"
DEMO_CLIENT_ID = "stripe-sources-demo"
DEMO_CLIENT_SECRET = "demo-client-secret-0001"  # noqa: S105  (the emulator's public demo value)


class Command(BaseCommand):
    help = "Create demo users (one per role) and a demo sandbox pointing at the AEP emulator."

    def handle(self, *args, **options) -> None:
        ensure_roles()
        passwords = self._load_passwords()
        for username, first, last, role in DEMO_USERS:
            passwords[username] = self._ensure_user(username, first, last, role, passwords)
        self._save_passwords(passwords)
        self._ensure_sandbox()
        self.stdout.write(self.style.SUCCESS("Demo users (username / password / role):"))
        for username, _first, _last, role in DEMO_USERS:
            self.stdout.write(f"  {username:<10} {passwords[username]:<22} {role}")
        self._show_stripe_keys()

    def _show_stripe_keys(self) -> None:
        # The wizard asks for a Stripe key first thing: say which ones the stand-in takes.
        self.stdout.write(
            self.style.SUCCESS("Stripe stand-in demo keys (the wizard's Stripe API key):")
        )
        for demo in STRIPE_DEMO_KEYS:
            reads = "everything" if demo.readable is None else ", ".join(demo.readable) + " only"
            self.stdout.write(f"  {demo.key:<34} reads {reads}")

    def _ensure_user(self, username, first, last, role, passwords) -> str:
        password = passwords.get(username) or secrets.token_urlsafe(12)
        user, created = User.objects.get_or_create(
            username=username, defaults={"first_name": first, "last_name": last}
        )
        if created or not user.check_password(password):
            user.set_password(password)
        user.email = f"{username}@example.com"
        user.is_staff = user.is_superuser = role == ADMIN
        user.save()
        user.groups.set([Group.objects.get(name=role)])
        return password

    def _ensure_sandbox(self) -> None:
        sandbox, _created = Sandbox.objects.get_or_create(
            org_id=DEMO_ORG_ID,
            sandbox_name="prod",
            platform_url=settings.AEP_PLATFORM_URL,
            defaults={
                "display_name": "Demo organization (emulator)",
                "client_id": DEMO_CLIENT_ID,
                "client_secret": DEMO_CLIENT_SECRET,
                "ims_url": settings.AEP_IMS_URL,
            },
        )
        self.stdout.write(f"Demo sandbox: {sandbox} at {sandbox.platform_url}")

    def _passwords_path(self):
        return settings.VAR_DIR / "demo-users.json"

    def _load_passwords(self) -> dict:
        path = self._passwords_path()
        return json.loads(path.read_text()) if path.exists() else {}

    def _save_passwords(self, passwords: dict) -> None:
        path = self._passwords_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(passwords, indent=2))
        path.chmod(0o600)
