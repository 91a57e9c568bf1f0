"""Container healthchecks (docker-compose.yml): exit 0 when healthy, else 1 with one line.

- ``healthcheck web``: asks this container's web server for /healthz/ready, as a load balancer
  would, under a host name ALLOWED_HOSTS accepts.
- ``healthcheck beat``: beat's last tick, recorded in Redis, is younger than two heartbeat
  periods (there is exactly one beat, so its tick is this container's).

Workers are checked with ``celery inspect ping`` instead: it asks the worker process itself.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core import healthz

READY_URL = "http://127.0.0.1:8000/healthz/ready"
TIMEOUT_SECONDS = 5


class Command(BaseCommand):
    help = "Exit 0 when this container's web server is ready, or when beat ticks; 1 otherwise."
    # Probed every few seconds: only what the probe needs, not Django's system checks.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser) -> None:
        parser.add_argument("component", choices=("web", "beat"))
        parser.add_argument("--url", default=READY_URL, help=f"web only (default {READY_URL})")

    def handle(self, *args, component: str, url: str, **options) -> None:
        summary = check_web(url) if component == "web" else check_beat()
        self.stdout.write(f"{component}: {summary}")


def check_web(url: str) -> str:
    request = urllib.request.Request(url, headers={"Host": probe_host()})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            return json.load(response)["status"]
    except urllib.error.HTTPError as exc:
        raise CommandError(f"HTTP {exc.code} from {url}: {failing_checks(exc)}") from exc
    except (OSError, ValueError) as exc:
        raise CommandError(f"no answer from {url}: {exc}") from exc


def failing_checks(error: urllib.error.HTTPError) -> str:
    try:
        checks = json.load(error).get("checks", {})
    except (OSError, ValueError):
        return "no health report"
    return ", ".join(f"{name} {c['status']}" for name, c in checks.items() if c["status"] != "ok")


def probe_host() -> str:
    """A host name Django accepts for a probe that reaches the server by its address."""
    for host in settings.ALLOWED_HOSTS:
        name = host.lstrip(".")  # ".example.com" also allows example.com itself
        if name and name != "*":
            return name
    return "localhost"


def check_beat() -> str:
    redis_ok = healthz.check_redis().status == healthz.OK
    check = healthz.check_heartbeat("beat", redis_ok)
    if check.status != healthz.OK:
        raise CommandError(f"beat {check.status}: {check.detail}")
    return f"ticked {check.age_seconds}s ago"
