"""Structured logs: request and task ids, JSON or plain, and secrets masked on every handler."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from celery import shared_task
from cryptography.fernet import Fernet

from core.logging import (
    JSONFormatter,
    RequestContextFilter,
    SecretMaskingFilter,
    mask_secrets,
    request_id_var,
)
from tests.base import BaseTestCase

ROOT = Path(__file__).resolve().parents[2]
STRIPE_KEY = "sk_live_51HxAbCdEfGhIjKlMnOpQrStUv"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"charges with {STRIPE_KEY} failed", STRIPE_KEY),
        ("restricted rk_test_4eC39HqLyjWDarjtT1zdp7dc ok", "rk_test_4eC39HqLyjWDarjtT1zdp7dc"),
        ("key=sk_test_abcdef123456", "sk_test_abcdef123456"),
        ("signing whsec_0123456789abcdef", "whsec_0123456789abcdef"),
        ("Authorization: Bearer abc.DEF-123_xyz~+/==", "abc.DEF-123_xyz"),
        ("headers {'authorization': 'bearer 0a1b2c3d4e5f'}", "0a1b2c3d4e5f"),
        (
            "token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ0ZWNobmljYWwifQ.c2lnbmF0dXJlLXZhbHVl here",
            "eyJzdWIiOiJ0ZWNobmljYWwifQ",
        ),
    ],
)
def test_secrets_are_masked(text, secret):
    masked = mask_secrets(text)
    assert secret not in masked
    assert "[redacted" in masked


def test_a_fernet_token_is_masked():
    token = Fernet(Fernet.generate_key()).encrypt(b"sk_live_secret").decode()
    masked = mask_secrets(f"stored {token} in db")
    assert token[10:40] not in masked
    assert masked == "stored [redacted-fernet-token] in db"


@pytest.mark.parametrize(
    "text",
    ["risk_test_value_abcdef", "task_live_migration", "pk_live_publishable123", "bearer of news"],
)
def test_ordinary_text_is_left_alone(text):
    assert mask_secrets(text) == text


def capture_logger(name: str) -> tuple[logging.Logger, io.StringIO]:
    """A logger with a handler configured like settings.LOGGING's, writing to a buffer."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestContextFilter())
    handler.addFilter(SecretMaskingFilter())
    handler.setFormatter(JSONFormatter())
    logger = logging.getLogger(name)
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, stream


def test_json_lines_mask_arguments_extras_and_tracebacks():
    logger, stream = capture_logger("tests.ops.mask")
    token = request_id_var.set("req-abc")
    try:
        logger.info("using %s", STRIPE_KEY, extra={"aep_request_id": "adobe-1", "key": STRIPE_KEY})
        try:
            raise ValueError(f"bad key {STRIPE_KEY}")
        except ValueError:
            logger.exception("failed")
    finally:
        request_id_var.reset(token)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "using sk_live_[redacted]"
    assert first["request_id"] == "req-abc"
    assert first["aep_request_id"] == "adobe-1"
    assert first["key"] == "sk_live_[redacted]"
    assert first["level"] == "INFO"
    assert "ValueError: bad key sk_live_[redacted]" in second["exception"]
    assert STRIPE_KEY not in stream.getvalue()


@pytest.fixture
def console():
    """The real console handler from settings.LOGGING, writing to a buffer for the test."""
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    stream = io.StringIO()
    old = handler.setStream(stream)
    yield stream
    handler.setStream(old)


def json_lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_configured_handler_is_json_and_masks(console):
    logging.getLogger("tests.ops.console").warning("Bearer %s", "ims-token-0123456789")
    [entry] = [e for e in json_lines(console) if e["logger"] == "tests.ops.console"]
    assert entry["message"] == "Bearer [redacted]"


class RequestIdTestCase(BaseTestCase):
    def test_response_carries_a_new_request_id(self):
        r = self.client.get("/login/")
        first = r["X-Request-ID"]
        assert len(first) == 32
        assert self.client.get("/login/")["X-Request-ID"] != first

    def test_a_plain_incoming_id_is_kept_and_a_strange_one_replaced(self):
        r = self.client.get("/login/", headers={"X-Request-ID": "lb-7f3a.91:2"})
        assert r["X-Request-ID"] == "lb-7f3a.91:2"
        r = self.client.get("/login/", headers={"X-Request-ID": "x" * 129})
        assert r["X-Request-ID"] != "x" * 129
        r = self.client.get("/login/", headers={"X-Request-ID": "a b<script>"})
        assert "<" not in r["X-Request-ID"]

    @pytest.fixture(autouse=True)
    def _console(self, console):
        self.console = console

    def test_logs_inside_and_after_the_request_carry_its_id(self):
        headers = {"X-Request-ID": "req-login-1"}
        self.client.post("/login/", {"username": "mina", "password": "wrong"}, headers=headers)
        self.client.get("/no-such-page/", headers={"X-Request-ID": "req-404"})
        entries = json_lines(self.console)
        during = [e for e in entries if e["logger"].startswith("axes")]
        assert during
        assert {e.get("request_id") for e in during} == {"req-login-1"}
        not_found = [e for e in entries if e["message"].startswith("Not Found: /no-such-page/")]
        assert [e.get("request_id") for e in not_found] == ["req-404"]


@shared_task(name="tests.ops_logging.say")
def say(text: str) -> None:
    logging.getLogger("tests.ops.task").warning("task says %s", text)


@pytest.mark.integration
def test_a_task_logs_its_task_id_and_the_request_id_that_enqueued_it(celery_worker_thread, console):
    token = request_id_var.set("req-from-page")
    try:
        result = say.delay(f"hello {STRIPE_KEY}")
    finally:
        request_id_var.reset(token)
    deadline = time.monotonic() + 10
    entries: list[dict] = []
    while time.monotonic() < deadline and not entries:
        time.sleep(0.05)
        entries = [e for e in json_lines(console) if e["logger"] == "tests.ops.task"]
    [entry] = entries
    assert entry["task_id"] == result.id
    assert entry["request_id"] == "req-from-page"
    assert entry["message"] == "task says hello sk_live_[redacted]"


def settings_value(name: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "LOG_FORMAT")}
    base.pop("DJANGO_SETTINGS_MODULE", None)
    base.update(
        SECRET_KEY="a-secret-key-that-is-long-enough-for-production-use",
        FIELD_ENCRYPTION_KEY="Egff6j5QvyPRk9RUNQ381atrSywkEyE-mZAqTevzNIc=",
        ALLOWED_HOSTS="example.com",
        **env,
    )
    code = (
        "from config.boot import load_settings_or_exit; load_settings_or_exit(); "
        f"from django.conf import settings; print(settings.{name})"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "expected"),
    [({}, "json"), ({"DEBUG": "True"}, "plain"), ({"LOG_FORMAT": "PLAIN"}, "plain")],
)
def test_log_format_defaults(env, expected):
    result = settings_value("LOG_FORMAT", **env)
    assert result.stdout.strip() == expected, result.stderr


def test_an_unknown_log_format_stops_with_one_line():
    result = settings_value("LOG_FORMAT", LOG_FORMAT="xml")
    assert result.returncode == 2
    assert result.stderr.strip() == "Configuration error: LOG_FORMAT='xml' must be json or plain"
