"""Plain-Python client for the Adobe Experience Platform APIs the product uses.

Flow Service (sources, flows, runs), Data Prep (mapping sets), Schema Registry and Catalog,
authenticated with IMS OAuth server-to-server tokens. No Django imports live here: the Django
side builds an `AEPConfig` and hands it to `AEPClient`.
"""

from __future__ import annotations

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
