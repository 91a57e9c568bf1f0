from __future__ import annotations

import io
from unittest import mock

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.test import TestCase, TransactionTestCase, override_settings

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
            pytest.raises(ValueError, match="cannot be read"),
        ):
            Sandbox.objects.get(pk=sandbox.pk).client_secret.reveal()


class UnreadableSecretTestCase(TestCase):
    """A secret written under a key no longer in the list breaks only what uses it (#12)."""

    def test_loading_a_row_does_not_decrypt_its_secret(self):
        sandbox = make_sandbox(display_name="Prod EU", client_secret="p8e-very-secret-value-1234")
        with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY]):
            fresh = Sandbox.objects.get(pk=sandbox.pk)
            assert fresh.display_name == "Prod EU"
            assert fresh.client_secret  # set, though unreadable
            assert not fresh.client_secret.readable

    def test_using_it_names_the_row_and_the_fix(self):
        sandbox = make_sandbox(display_name="Prod EU", client_secret="p8e-very-secret-value-1234")
        with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY]):
            fresh = Sandbox.objects.get(pk=sandbox.pk)
            with pytest.raises(crypto.UnreadableSecret) as caught:
                fresh.client_secret.reveal()
        message = str(caught.value)
        assert "Prod EU" in message
        assert "FIELD_ENCRYPTION_KEY" in message
        assert "Enter" in message or "enter" in message

    def test_saving_a_row_keeps_an_unreadable_secret_as_it_was(self):
        sandbox = make_sandbox(client_secret="p8e-very-secret-value-1234")
        before = raw_secret(sandbox)
        with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY]):
            fresh = Sandbox.objects.get(pk=sandbox.pk)
            fresh.display_name = "Renamed"
            fresh.save()
        assert raw_secret(sandbox) == before
        with override_settings(FIELD_ENCRYPTION_KEYS=[OLD_KEY]):
            assert Sandbox.objects.get(pk=sandbox.pk).client_secret.reveal().endswith("1234")

    def test_unreadable_secrets_are_counted(self):
        make_sandbox(client_secret="p8e-very-secret-value-1234")
        assert crypto.count_unreadable() == 0
        with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY]):
            assert crypto.count_unreadable() == 1
            errors = crypto.check_secrets_readable(app_configs=None)
            assert len(errors) == 1
            assert "1 stored secret" in errors[0].msg

    def test_rotate_secrets_skips_unreadable_ones_and_says_so(self):
        sandbox = make_sandbox(client_secret="p8e-very-secret-value-1234")
        before = raw_secret(sandbox)
        out = io.StringIO()
        with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY]):
            call_command("rotate_secrets", stdout=out)
        assert raw_secret(sandbox) == before
        assert "1 secret(s) could not be read" in out.getvalue()


class RotateCompareAndSetTestCase(TransactionTestCase):
    """A secret saved while rotate_secrets runs is not overwritten with the old value (#12)."""

    def test_a_secret_changed_during_rotation_is_kept(self):
        sandbox = make_sandbox(client_secret="p8e-old-secret-value-1234")
        original_rotate = crypto.rotate

        def rotate_while_someone_saves(token: str) -> str:
            rotated = original_rotate(token)
            # Another request re-enters the secret between the read and the write.
            Sandbox.objects.filter(pk=sandbox.pk).update(client_secret="p8e-new-secret-value-5678")
            return rotated

        with (
            override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]),
            mock.patch.object(crypto, "rotate", rotate_while_someone_saves),
        ):
            call_command("rotate_secrets", stdout=io.StringIO())
            assert Sandbox.objects.get(pk=sandbox.pk).client_secret.reveal().endswith("5678")
