"""`AEPClient`: one credential + sandbox, with a sub-client per Platform service."""

from __future__ import annotations

import requests

from aep.catalog import CatalogClient
from aep.config import AEPConfig
from aep.dataaccess import DataAccessClient
from aep.dataprep import DataPrepClient
from aep.flowservice import FlowServiceClient
from aep.http import AEPHttp, build_session
from aep.identity import IdentityClient
from aep.ims import IMSTokenProvider, TokenCache, default_token_cache
from aep.schemas import SchemaRegistryClient


class AEPClient:
    """Entry point: `client.flowservice`, `client.dataprep`, `client.schemas`, `client.catalog`,
    `client.dataaccess`, `client.identity`.

    Without a `token_cache` the process-wide in-memory cache is used; pass a
    `RedisTokenCache` to share tokens between worker processes. `client.request_ids` holds
    Adobe's request id of the latest answer, for callers that audit what they did.
    """

    def __init__(
        self,
        config: AEPConfig,
        token_cache: TokenCache | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.config = config
        self._owns_session = session is None
        self.session = session if session is not None else build_session()
        self.tokens = IMSTokenProvider(config, token_cache or default_token_cache(), self.session)
        self.http = AEPHttp(config, self.session, self.tokens)
        self.request_ids = self.http.request_ids
        self.flowservice = FlowServiceClient(self.http)
        self.dataprep = DataPrepClient(self.http)
        self.schemas = SchemaRegistryClient(self.http)
        self.catalog = CatalogClient(self.http)
        self.dataaccess = DataAccessClient(self.http)
        self.identity = IdentityClient(self.http)

    def close(self) -> None:
        """Close the HTTP session, unless the caller supplied (and so owns) it."""
        if self._owns_session:
            self.session.close()

    def __enter__(self) -> AEPClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
