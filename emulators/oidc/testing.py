"""Start the local OpenID Connect provider for tests and demos.

from emulators.oidc.testing import start_oidc_provider
provider = start_oidc_provider(tmp_path, site_urls=["http://localhost:8000"])
provider.issuer, provider.client_id, provider.client_secret, provider.password, provider.stop()
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from emulators.oidc.__main__ import DEMO_PEOPLE
from emulators.process import ServerProcess, start_server

HEALTH_PATH = "/openid/.well-known/openid-configuration"
CALLBACK_PATH = "/login/sso/callback/"
SIGNED_OUT_PATH = "/login/"


@dataclass
class OIDCProvider:
    url: str
    client_id: str
    client_secret: str
    password: str
    process: ServerProcess

    @property
    def issuer(self) -> str:
        return f"{self.url}/openid"

    @property
    def people(self) -> dict[str, str]:
        """Demo username → the one group the provider puts them in."""
        return {username: group for username, _first, _last, group in DEMO_PEOPLE}

    def stop(self) -> None:
        self.process.stop()

    def log(self) -> str:
        return self.process.log()


def start_oidc_provider(
    tmp_path: str | Path,
    site_urls: list[str],
    *,
    client_id: str = "stripe-sources",
    port: int | None = None,
    timeout: float = 60,
) -> OIDCProvider:
    """Run ``python -m emulators.oidc`` on a free port, registered for the dashboards at
    ``site_urls`` (each base URL's SSO callback and signed-out page)."""
    tmp_path = Path(tmp_path)
    tmp_path.mkdir(parents=True, exist_ok=True)
    client_secret = secrets.token_urlsafe(24)
    password = secrets.token_urlsafe(12)
    args = [
        "--db",
        str(tmp_path / "oidc.sqlite3"),
        "--client-id",
        client_id,
        # "=": a generated value may start with "-", which argparse would take for an option.
        f"--client-secret={client_secret}",
        f"--password={password}",
        "--quiet",
    ]
    for site in site_urls:
        args += ["--redirect-uri", site.rstrip("/") + CALLBACK_PATH]
        args += ["--post-logout-redirect-uri", site.rstrip("/") + SIGNED_OUT_PATH]
    process = start_server(
        "emulators.oidc",
        *args,
        health_path=HEALTH_PATH,
        port=port,
        log_path=tmp_path / "oidc.log",
        timeout=timeout,
    )
    return OIDCProvider(process.url, client_id, client_secret, password, process)
