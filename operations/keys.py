"""Check a new Stripe key before it replaces the old one, with the wizard's per-resource probe."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from aep.flowservice import STRIPE_RESOURCE_PATHS
from core.crypto import last4
from core.stripe import READABLE, KeyProbe, probe_key
from monitoring.models import Dataflow


@dataclass(frozen=True)
class KeyCheck:
    """What a new key can read, in the shape Account.probe_result stores."""

    key_kind: str
    livemode: bool
    key_ending: str
    resources: dict[str, dict[str, str]] = field(default_factory=dict)
    # Stripe refused the key itself (wrong, revoked, expired).
    key_error: str = ""

    def readable(self, resource_path: str) -> bool:
        return self.resources.get(resource_path, {}).get("status") == READABLE

    @property
    def readable_paths(self) -> list[str]:
        return [path for path in STRIPE_RESOURCE_PATHS if self.readable(path)]

    def as_dict(self) -> dict[str, Any]:
        return {
            "key_kind": self.key_kind,
            "livemode": self.livemode,
            "key_ending": self.key_ending,
            "resources": self.resources,
            "key_error": self.key_error,
        }


def check_key(token: str) -> KeyCheck:
    """Probe every resource path with `token` against the configured Stripe API."""
    return key_check_from_probe(probe_key(token, settings.STRIPE_API_BASE), token)


def key_check_from_probe(probe: KeyProbe, token: str) -> KeyCheck:
    """Read the wizard's KeyProbe into a KeyCheck."""
    return KeyCheck(
        key_kind=probe.key_kind,
        livemode=probe.livemode,
        key_ending=last4(token),
        resources=probe.as_dict(),
        key_error=probe.key_error,
    )


def dataflows_losing_access(dataflows: Iterable[Dataflow], check: KeyCheck) -> list[Dataflow]:
    """Dataflows whose resource path the new key cannot read: their runs would fail."""
    return [
        flow for flow in dataflows if flow.resource_path and not check.readable(flow.resource_path)
    ]
