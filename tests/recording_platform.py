"""A stand-in Platform at the HTTP layer, for tests that compare bodies with what was sent.

Every create call (POST) gets a fresh id in the shape its service answers with (a PATCH its
object); GETs are
answered from a table of canned bodies by path (without one, a GET is an error). `sent(rsps)`
lists the create requests in the order they were made, with their bodies exactly as the client
put them on the wire.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import responses

PLATFORM = "http://aep.invalid"


class RecordingPlatform:
    def __init__(
        self, reads: Mapping[str, Any] | None = None, url: str = PLATFORM, *, patches: bool = False
    ) -> None:
        self.url = url
        self.reads = dict(reads or {})
        self.ids = itertools.count(1)
        # PATCH is answered only when the caller expects one (responses insists that every
        # registered answer is used).
        self.patches = patches

    def install(self, rsps: responses.RequestsMock) -> None:
        methods = ("GET", "POST") if self.reads else ("POST",)
        for method in (*methods, "PATCH") if self.patches else methods:
            rsps.add_callback(method, re.compile(re.escape(self.url) + "/.*"), self.answer)

    def answer(self, request: Any) -> tuple[int, dict[str, str], str]:
        path = urlsplit(request.url).path
        if path.startswith("/ims/"):
            return 200, {}, json.dumps({"access_token": "token", "expires_in": 86399})
        if request.method == "GET":
            if path not in self.reads:
                return 404, {}, json.dumps({"title": "not found", "status": 404})
            return 200, {}, json.dumps(self.reads[path])
        return 200, {}, json.dumps(self.created(path, json.loads(request.body), next(self.ids)))

    @staticmethod
    def created(path: str, body: Mapping[str, Any], n: int) -> Any:
        collection = path.rsplit("/", 1)[-1]
        if path.endswith("/tenant/descriptors"):
            return {**body, "@id": f"descriptor-{n}"}
        if "/tenant/schemas/" in path:  # a PATCH answers the whole schema
            return {"$id": path.rsplit("/", 1)[-1], "title": "patched"}
        if path.startswith("/data/core/idnamespace/"):
            return {**body, "id": 10_000_000 + n, "custom": True}
        if path.startswith("/data/foundation/schemaregistry/"):
            return {"$id": f"https://ns.adobe.com/acme/{collection}/{n}", "title": body["title"]}
        if path.startswith("/data/foundation/catalog/"):
            return [f"@/dataSets/ds-{n}"]
        if path.startswith("/data/foundation/conversion/"):
            return {"id": f"map-{n}", "version": 0}
        return {"id": f"{collection}-{n}", "etag": f'"etag-{n}"'}

    @staticmethod
    def sent(rsps: responses.RequestsMock) -> list[Any]:
        """The create and update requests, in order (the IMS token request left out)."""
        return [
            call.request
            for call in rsps.calls
            if call.request.method in ("POST", "PATCH")
            and not urlsplit(call.request.url).path.startswith("/ims/")
        ]
