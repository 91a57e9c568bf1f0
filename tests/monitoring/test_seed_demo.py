"""seed_demo, which `./dev run` calls: demo users, the emulator sandbox, and what to type."""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path

from django.core.management import call_command
from django.test import TestCase, override_settings

from monitoring.models import Sandbox


class SeedDemoTestCase(TestCase):
    def setUp(self) -> None:
        super().setUp()
        folder = tempfile.TemporaryDirectory()
        self.addCleanup(folder.cleanup)
        self.var = Path(folder.name)

    def seed(self) -> str:
        out = io.StringIO()
        with override_settings(VAR_DIR=self.var, AEP_PLATFORM_URL="http://127.0.0.1:8100"):
            call_command("seed_demo", stdout=out, no_color=True)
        return out.getvalue()

    def test_it_prints_the_users_and_the_stripe_demo_keys(self):
        output = self.seed()
        passwords = json.loads((self.var / "demo-users.json").read_text())
        assert f"marketing  {passwords['marketing']}" in output
        lines = output.splitlines()
        keys_at = lines.index("Stripe stand-in demo keys (the wizard's Stripe API key):")
        assert lines[keys_at + 1].split() == [
            "sk_test_demo_stripe_sources_0001",
            "reads",
            "everything",
        ]
        assert lines[keys_at + 2].split() == [
            "rk_test_demo_readonly_0001",
            "reads",
            "charges,",
            "customers,",
            "refunds",
            "only",
        ]

    def test_the_demo_sandbox_is_the_local_emulator_and_a_second_run_keeps_it(self):
        first = self.seed()
        second = self.seed()
        sandbox = Sandbox.objects.get()
        assert sandbox.is_local_emulator
        assert first.count("sk_test_demo") == second.count("sk_test_demo") == 1
