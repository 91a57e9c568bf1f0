"""Start the Stripe stand-in for tests, benchmarks and demos.

from emulators.stripe.testing import start_stripe_stand_in
stand_in = start_stripe_stand_in(tmp_path, charges=250)
stand_in.url, stand_in.secret_key, stand_in.count("charges"), stand_in.stop()
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from emulators.process import ServerProcess, start_server
from emulators.stripe.accounts import (
    DEMO_RESTRICTED_KEY,
    DEMO_SECRET_KEY,
    LIVE_SECRET_KEY,
    OTHER_SECRET_KEY,
)

if TYPE_CHECKING:
    import stripe

HEALTH_PATH = "/__stripe__/health"


@dataclass
class StripeStandIn:
    url: str
    db_path: Path
    process: ServerProcess
    secret_key: str = DEMO_SECRET_KEY
    restricted_key: str = DEMO_RESTRICTED_KEY
    other_key: str = OTHER_SECRET_KEY
    live_key: str = LIVE_SECRET_KEY

    @property
    def port(self) -> int:
        return self.process.port

    def stop(self) -> None:
        self.process.stop()

    def log(self) -> str:
        return self.process.log()

    def admin(self, path: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """POST ``payload`` to an admin endpoint (``path`` like ``"objects"``)."""
        response = requests.post(f"{self.url}/__stripe__/{path}", json=payload or {}, timeout=60)
        response.raise_for_status()
        return response.json()

    def count(self, resource: str | None = None, account: str = "acct_demo", **params: Any) -> int:
        """Objects stored for ``account`` (``created__gte=…`` becomes ``created[gte]=…``)."""
        query = {"account": account, **_bracketed(params)}
        if resource:
            query["resource"] = resource
        response = requests.get(f"{self.url}/__stripe__/count", params=query, timeout=30)
        response.raise_for_status()
        return response.json()["count"]

    def client(self, api_key: str | None = None, **options: Any) -> stripe.StripeClient:
        """An official ``stripe.StripeClient`` pointed at the stand-in."""
        import stripe

        return stripe.StripeClient(
            api_key or self.secret_key, base_addresses={"api": self.url}, **options
        )


def _bracketed(params: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, value in params.items():
        base, _, op = name.partition("__")
        out[f"{base}[{op}]" if op else base] = value
    return out


def start_stripe_stand_in(
    tmp_path: str | Path,
    charges: int = 250,
    *,
    rate_limit: float | None = None,
    db_path: str | Path | None = None,
    port: int | None = None,
    timeout: float = 60,
) -> StripeStandIn:
    """Run ``python -m emulators.stripe`` on a free port with its database under ``tmp_path``.

    The demo accounts are seeded with ``charges`` charges for acct_demo (a fifth of that for
    acct_other and acct_live); ``charges=0`` starts with the accounts and keys only.
    """
    tmp_path = Path(tmp_path)
    tmp_path.mkdir(parents=True, exist_ok=True)
    db = Path(db_path) if db_path else tmp_path / "stripe.sqlite3"
    args = ["--db", str(db)]
    if charges:
        args += ["--seed", str(charges)]
    if rate_limit:
        args += ["--rate-limit", str(rate_limit)]
    process = start_server(
        "emulators.stripe",
        *args,
        health_path=HEALTH_PATH,
        port=port,
        log_path=tmp_path / "stripe.log",
        timeout=timeout,
    )
    return StripeStandIn(process.url, db, process)
