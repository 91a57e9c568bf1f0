"""Plain-Python client for the Adobe Experience Platform APIs the product uses.

Flow Service (sources, flows, runs), Data Prep (mapping sets), Schema Registry and Catalog,
authenticated with IMS OAuth server-to-server tokens. No Django imports live here: the Django
side builds an `AEPConfig` and hands it to `AEPClient`. The body of every create call comes
from `aep.payloads` (pure functions), which the wizard's Review page and plan export use too.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Names are loaded on first use, not at import. Importing `aep.errors` from one thread while
# another imports `aep.client` would otherwise make both threads run this file's imports of
# each other's modules at once, and Python hands one of them a half-initialised module
# (seen with Django's autoreloader, which imports the URLconf beside the system checks).
_EXPORTS = {
    "AEPClient": "aep.client",
    "AEPConfig": "aep.config",
    "AEPAPIError": "aep.errors",
    "AEPConnectionError": "aep.errors",
    "AEPError": "aep.errors",
    "AEPTimeout": "aep.errors",
    "AuthenticationError": "aep.errors",
    "BadRequestError": "aep.errors",
    "ConflictError": "aep.errors",
    "IMSAuthError": "aep.errors",
    "NotFoundError": "aep.errors",
    "PermissionDeniedError": "aep.errors",
    "PreconditionFailedError": "aep.errors",
    "RateLimitError": "aep.errors",
    "ServerError": "aep.errors",
    "RequestIds": "aep.http",
    "MemoryTokenCache": "aep.ims",
    "RedisTokenCache": "aep.ims",
    "redact": "aep.redaction",
}

__all__ = [
    "AEPAPIError",
    "AEPClient",
    "AEPConfig",
    "AEPConnectionError",
    "AEPError",
    "AEPTimeout",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "IMSAuthError",
    "MemoryTokenCache",
    "NotFoundError",
    "PermissionDeniedError",
    "PreconditionFailedError",
    "RateLimitError",
    "RedisTokenCache",
    "RequestIds",
    "ServerError",
    "redact",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'aep' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from aep.client import AEPClient
    from aep.config import AEPConfig
    from aep.errors import (
        AEPAPIError,
        AEPConnectionError,
        AEPError,
        AEPTimeout,
        AuthenticationError,
        BadRequestError,
        ConflictError,
        IMSAuthError,
        NotFoundError,
        PermissionDeniedError,
        PreconditionFailedError,
        RateLimitError,
        ServerError,
    )
    from aep.http import RequestIds
    from aep.ims import MemoryTokenCache, RedisTokenCache
    from aep.redaction import redact
