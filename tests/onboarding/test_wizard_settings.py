"""ONBOARDING_STEP_RETRIES comes from the environment, like every other setting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRINT_RETRIES = "from django.conf import settings; print(settings.ONBOARDING_STEP_RETRIES)"


def read_setting(value: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "ONBOARDING_STEP_RETRIES"}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings_test"
    if value is not None:
        env["ONBOARDING_STEP_RETRIES"] = value
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", PRINT_RETRIES],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(("value", "expected"), [(None, "2"), ("0", "0"), ("5", "5")])
def test_the_retry_count_is_read_from_the_environment(value, expected):
    result = read_setting(value)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == expected


def test_a_negative_retry_count_stops_the_process_with_one_line():
    result = read_setting("-1")
    assert result.returncode != 0
    assert "ONBOARDING_STEP_RETRIES=-1 must be at least 0" in result.stderr
    assert "Traceback" not in result.stderr
