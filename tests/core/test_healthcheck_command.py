"""`manage.py healthcheck web|beat`, the docker compose healthchecks of web and beat."""

from __future__ import annotations

import time
from io import StringIO
from unittest import mock

import pytest
from django.core.management import CommandError, call_command

from core import healthz
from core.management.commands.healthcheck import probe_host
from emulators.process import free_port
from tests.core.redis_keys import delete_prefixed, unique_prefixes

pytestmark = pytest.mark.integration  # Redis, and a live server for `web`


def healthcheck(*args, **options) -> str:
    out = StringIO()
    call_command("healthcheck", *args, stdout=out, **options)
    return out.getvalue().strip()


@pytest.fixture
def own_heartbeats(settings):
    prefixes = unique_prefixes()
    for name, value in prefixes.items():
        setattr(settings, name, value)
    settings.HEARTBEAT_SECONDS = 30
    yield
    delete_prefixed(prefixes)


def test_beat_passes_while_beat_ticks(own_heartbeats):
    healthz.beat("beat", at=time.time() - 10)
    assert healthcheck("beat").startswith("beat: ticked 10")


@pytest.mark.parametrize("tick_age", [None, 61], ids=["never", "too-old"])
def test_beat_fails_without_a_recent_tick(own_heartbeats, tick_age):
    if tick_age is not None:
        healthz.beat("beat", at=time.time() - tick_age)
    with pytest.raises(CommandError, match="beat failing"):
        healthcheck("beat")


def test_web_passes_when_the_server_is_ready(live_server):
    assert healthcheck("web", url=f"{live_server.url}/healthz/ready") == "web: ok"


def test_web_fails_when_the_server_answers_503_and_names_the_failing_check(live_server):
    down = healthz.Check(healthz.FAILING, detail="unreachable")
    redis_down = mock.patch.object(healthz, "check_redis", return_value=down)
    with redis_down, pytest.raises(CommandError, match=r"HTTP 503 .*: redis failing$"):
        healthcheck("web", url=f"{live_server.url}/healthz/ready")


def test_web_fails_when_nothing_answers():
    with pytest.raises(CommandError, match="no answer"):
        healthcheck("web", url=f"http://127.0.0.1:{free_port()}/healthz/ready")


@pytest.mark.parametrize(
    ("allowed", "host"),
    [
        (["stripe-sources.example.com"], "stripe-sources.example.com"),
        ([".example.com", "other.org"], "example.com"),
        (["*"], "localhost"),
        (["*", "example.org"], "example.org"),
    ],
)
def test_the_probe_uses_a_host_name_django_accepts(settings, allowed, host):
    settings.ALLOWED_HOSTS = allowed
    assert probe_host() == host
