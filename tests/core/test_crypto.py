from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.test import TestCase, override_settings

from core import crypto
from monitoring.models import Sandbox
from tests.base import make_sandbox

OLD_KEY = "Egff6j5QvyPRk9RUNQ381atrSywkEyE-mZAqTevzNIc="
NEW_KEY = Fernet.generate_key().decode()


def raw_secret(sandbox: Sandbox) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT client_secret FROM monitoring_sandbox WHERE id = %s", [sandbox.pk])
        return cursor.fetchone()[0]


class EncryptedSecretFieldTestCase(TestCase):
    def test_secret_is_encrypted_at_rest(self):
        sandbox = make_sandbox(client_secret="p8e-very-secret-value-1234")
        stored = raw_secret(sandbox)
        assert "very-secret" not in stored
        assert crypto.decrypt(stored) == "p8e-very-secret-value-1234"

    def test_secret_reads_back_but_does_not_print_itself(self):
        sandbox = make_sandbox(client_secret="p8e-very-secret-value-1234")
        fresh = Sandbox.objects.get(pk=sandbox.pk)
        assert fresh.client_secret.reveal() == "p8e-very-secret-value-1234"
        assert fresh.client_secret.last4 == "1234"
        assert "secret" not in str(fresh.client_secret)
        assert "secret" not in repr(fresh.client_secret)

    def test_short_secrets_do_not_reveal_a_last4(self):
        assert crypto.Secret("abc").last4 == ""

    def test_rotate_secrets_reencrypts_with_the_new_key(self):
        sandbox = make_sandbox(client_secret="p8e-very-secret-value-1234")
        before = raw_secret(sandbox)
        with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
            call_command("rotate_secrets", stdout=open("/dev/null", "w"))  # noqa: SIM115
            after = raw_secret(sandbox)
            assert after != before
            assert Fernet(NEW_KEY).decrypt(after.encode()) == b"p8e-very-secret-value-1234"
        # With only the new key left, the row still reads.
        with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY]):
            assert Sandbox.objects.get(pk=sandbox.pk).client_secret.reveal().endswith("1234")

    def test_unknown_key_gives_a_clear_error(self):
        sandbox = make_sandbox(client_secret="p8e-very-secret-value-1234")
        with (
            override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY]),
            pytest.raises(ValueError, match="cannot be decrypted"),
        ):
            Sandbox.objects.get(pk=sandbox.pk)
