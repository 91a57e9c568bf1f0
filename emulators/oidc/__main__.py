"""Run the local OpenID Connect provider.

python -m emulators.oidc --port 9400 --db PATH --client-id ID [--client-secret SECRET] \
    --redirect-uri URI [--redirect-uri URI …] [--post-logout-redirect-uri URI …] \
    [--password PW]

Its issuer is http://HOST:PORT/openid (discovery at /openid/.well-known/openid-configuration).
It registers one confidential client (authorization code flow, no consent screen) and the demo
people below, each in their own group, and prints who they are.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import signal
import sys
from pathlib import Path
from types import FrameType

# (username, first name, last name, group): one person per dashboard role, and one whose group
# the dashboard does not map, to show how it refuses them.
DEMO_PEOPLE = (
    ("sofia", "Sofia", "Support", "stripe-sources-support"),
    ("mateo", "Mateo", "Marketing", "stripe-sources-marketing"),
    ("ava", "Ava", "Admin", "stripe-sources-admins"),
    ("felix", "Felix", "Finance", "finance"),
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Local OpenID Connect provider.")
    parser.add_argument("--port", type=int, default=9400)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--db", required=True, help="SQLite file (created if missing)")
    parser.add_argument("--client-id", required=True)
    parser.add_argument(
        "--client-secret",
        default=os.environ.get("OIDC_CLIENT_SECRET"),
        help="default: $OIDC_CLIENT_SECRET (kept off the command line)",
    )
    parser.add_argument("--redirect-uri", action="append", required=True, default=[])
    parser.add_argument("--post-logout-redirect-uri", action="append", default=[])
    parser.add_argument(
        "--password",
        help="the demo people's password (default: one generated the first time, kept beside --db)",
    )
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    return parser.parse_args(argv)


def set_up_django(args: argparse.Namespace) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "emulators.oidc.settings"
    os.environ["OIDC_PROVIDER_DB"] = str(args.db)
    os.environ["OIDC_PROVIDER_SITE_URL"] = f"http://{args.host}:{args.port}"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)


def ensure_signing_key() -> None:
    from oidc_provider.models import RSAKey

    if not RSAKey.objects.exists():
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        RSAKey.objects.create(key=pem.decode())


def ensure_client(args: argparse.Namespace) -> None:
    """The dashboard's registration, as an IdP admin would set it up (updated on each start)."""
    from oidc_provider.models import Client, ResponseType

    client, _ = Client.objects.update_or_create(
        client_id=args.client_id,
        defaults={
            "name": "Stripe Sources",
            "client_type": "confidential",
            "client_secret": args.client_secret,
            "jwt_alg": "RS256",
            "require_consent": False,
            "reuse_consent": True,
        },
    )
    client.redirect_uris = args.redirect_uri
    client.post_logout_redirect_uris = args.post_logout_redirect_uri
    client.save()
    client.response_types.set([ResponseType.objects.get(value="code")])


def demo_password(args: argparse.Namespace) -> str:
    if args.password:
        return args.password
    path = Path(args.db).with_suffix(".password")
    if not path.exists():
        path.write_text(secrets.token_urlsafe(12))
        path.chmod(0o600)
    return path.read_text().strip()


def ensure_people(password: str) -> None:
    from django.contrib.auth.models import Group, User

    for username, first, last, group_name in DEMO_PEOPLE:
        user, _ = User.objects.get_or_create(username=username)
        user.first_name, user.last_name = first, last
        user.email = f"{username}@example.com"
        if not user.check_password(password):
            user.set_password(password)
        user.save()
        group, _ = Group.objects.get_or_create(name=group_name)
        user.groups.set([group])


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.client_secret:
        print("--client-secret or OIDC_CLIENT_SECRET is required", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if args.quiet:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    set_up_django(args)
    ensure_signing_key()
    ensure_client(args)
    password = demo_password(args)
    ensure_people(password)

    from django.core.wsgi import get_wsgi_application
    from werkzeug.serving import make_server

    server = make_server(args.host, args.port, get_wsgi_application(), threaded=True)
    signal.signal(signal.SIGTERM, _stop)
    issuer = f"http://{args.host}:{args.port}/openid"
    print(f"Local OpenID Connect provider at {issuer}", flush=True)
    print("SSO demo people (username / group), password " + password + ":", flush=True)
    for username, _first, _last, group in DEMO_PEOPLE:
        print(f"  {username:<8} {group}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
