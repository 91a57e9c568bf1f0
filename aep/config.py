"""Connection settings for one AEP sandbox, built by the caller (the Django side reads them)."""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_SCOPE = "openid,AdobeID,read_organizations,additional_info.projectedProductContext,session"


@dataclass(frozen=True)
class AEPConfig:
    """Everything needed to authenticate and address one sandbox.

    ``timeout`` is requests' ``(connect, read)`` pair in seconds.
    """

    platform_url: str
    ims_url: str
    client_id: str
    client_secret: str = field(repr=False)
    org_id: str
    sandbox_name: str
    scope: str = DEFAULT_SCOPE
    timeout: tuple[float, float] = (5, 30)

    @property
    def token_url(self) -> str:
        return f"{self.ims_url.rstrip('/')}/ims/token/v3"

    def service_url(self, base_path: str) -> str:
        return f"{self.platform_url.rstrip('/')}{base_path}"
