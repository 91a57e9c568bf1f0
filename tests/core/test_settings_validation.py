"""A wrong or missing configuration value stops the process with one line naming it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOOD = {
    "SECRET_KEY": "a-secret-key-that-is-long-enough-for-production-use",
    "FIELD_ENCRYPTION_KEY": "Egff6j5QvyPRk9RUNQ381atrSywkEyE-mZAqTevzNIc=",
    "ALLOWED_HOSTS": "example.com",
    "METRICS_TOKEN": "a-metrics-token",
}


def run_check(**overrides: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in GOOD and not k.startswith("AEP_")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(GOOD)
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_good_configuration_passes_the_check():
    result = run_check()
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"SECRET_KEY": None}, "SECRET_KEY is required"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY must be at least 32 characters"),
        ({"DEBUG": "maybe"}, "DEBUG='maybe' is not a boolean"),
        ({"ALLOWED_HOSTS": ","}, "ALLOWED_HOSTS is required"),
        ({"FIELD_ENCRYPTION_KEY": None}, "FIELD_ENCRYPTION_KEY is required"),
        ({"FIELD_ENCRYPTION_KEY": "not-a-key"}, "not a Fernet key"),
        ({"DATABASE_URL": "nonsense://x"}, "DATABASE_URL is not a database URL"),
        ({"REDIS_URL": "http://localhost"}, "REDIS_URL='http://localhost' is not a URL"),
        ({"AEP_PLATFORM_URL": "platform.adobe.io"}, "AEP_PLATFORM_URL='platform.adobe.io'"),
        ({"AEP_TIMEOUT_SECONDS": "ten"}, "AEP_TIMEOUT_SECONDS='ten' is not a whole number"),
        ({"EMAIL_PORT": "0"}, "EMAIL_PORT=0 must be at least 1"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL='LOUD' must be"),
        ({"SECRET_KEY_FILE": "/nonexistent/secret"}, "SECRET_KEY_FILE=/nonexistent/secret"),
        ({"SITE_URL": "dashboard.example.com"}, "SITE_URL='dashboard.example.com' is not a URL"),
        ({"OIDC_ISSUER": "http://idp.example.com"}, "OIDC_ISSUER='http://idp.example.com' must be"),
        ({"OIDC_ISSUER": "https://idp.example.com"}, "OIDC_CLIENT_ID and OIDC_CLIENT_SECRET"),
        (
            {
                "OIDC_ISSUER": "https://idp.example.com",
                "OIDC_CLIENT_ID": "a",
                "OIDC_CLIENT_SECRET": "b",
            },
            "map at least one group to a role",
        ),
        ({"PASSWORD_LOGIN": "admins"}, "PASSWORD_LOGIN=admins needs single sign-on"),
        ({"PASSWORD_LOGIN": "sometimes"}, "PASSWORD_LOGIN='sometimes' must be one of"),
        ({"METRICS_TOKEN": None}, "METRICS_TOKEN is required when DEBUG is off"),
        ({"METRICS_TOKEN": ""}, "METRICS_TOKEN is required when DEBUG is off"),
    ],
)
def test_bad_value_gives_one_line_naming_the_variable(overrides, expected):
    result = run_check(**overrides)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Configuration error: ")
    assert expected in lines[0]


def test_with_debug_metrics_may_stay_open_for_local_use():
    assert run_check(DEBUG="True", METRICS_TOKEN=None).returncode == 0


def test_secret_can_come_from_a_file(tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text("a-secret-key-from-a-file-that-is-long-enough\n")
    result = run_check(SECRET_KEY=None, SECRET_KEY_FILE=str(secret_file))
    assert result.returncode == 0, result.stderr
