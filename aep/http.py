"""The one place that sends HTTP to Experience Platform.

Retries happen in exactly two narrow cases here: urllib3 re-tries a request that could not
connect (nothing reached Adobe, so even a POST is safe), and a call rejected with an invalid
token is repeated once with a fresh token. Status-code retries (429/5xx) belong to the Celery
task that made the call, so attempts never multiply across layers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from aep import quirks
from aep.config import AEPConfig
from aep.errors import (
    AEPAPIError,
    AEPConnectionError,
    AEPTimeout,
    NotFoundError,
    RateLimitError,
    error_class_for_status,
)

logger = logging.getLogger(__name__)

CONNECT_RETRIES = 3
Params = Sequence[tuple[str, Any]]


def build_session(connect_retries: int = CONNECT_RETRIES) -> requests.Session:
    """A Session whose adapters retry connection failures only (never reads or statuses)."""
    retry = Retry(
        total=connect_retries,
        connect=connect_retries,
        read=0,
        status=0,
        other=0,
        backoff_factor=0.2,
        raise_on_status=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


class TokenSource(Protocol):
    def token(self) -> str: ...

    def invalidate(self, rejected: str) -> None: ...


def json_or_none(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def transport_error(what: str, exc: requests.RequestException) -> AEPConnectionError:
    """A request that got no HTTP answer: AEPTimeout for connect and read timeouts, however
    requests and urllib3 wrap them; AEPConnectionError for refused, unreachable or reset."""
    if _timed_out(exc):
        return AEPTimeout(f"{what} timed out: {exc}")
    return AEPConnectionError(f"{what} failed: {exc}")


def _timed_out(exc: BaseException) -> bool:
    # A read timeout arrives as requests.ConnectionError around urllib3's ReadTimeoutError,
    # directly (body read) or inside MaxRetryError (headers, once the retry adapter gives up).
    pending: list[object] = [exc]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, urllib3.exceptions.NewConnectionError):
            continue  # refused or unresolvable, though urllib3 files it under ConnectTimeoutError
        if isinstance(current, (requests.Timeout, urllib3.exceptions.TimeoutError, TimeoutError)):
            return True
        pending.extend(current.args)
        pending.extend((getattr(current, "reason", None), current.__cause__))
    return False


class RequestIds:
    """Adobe's request id (`x-request-id`) of the latest answer, for an audit trail.

    Client methods return parsed objects only; a caller that records which request did what
    calls `take()` after each step (an answer without the header keeps the previous id).
    """

    def __init__(self) -> None:
        self.last = ""

    def note(self, response: requests.Response) -> None:
        self.last = response.headers.get("x-request-id", "") or self.last

    def take(self) -> str:
        """The latest id, forgetting it so the next step starts empty."""
        value, self.last = self.last, ""
        return value


class AEPHttp:
    """Adds the AEP headers, maps failures to `aep.errors`, and decodes JSON answers."""

    def __init__(self, config: AEPConfig, session: requests.Session, tokens: TokenSource) -> None:
        self.config = config
        self.session = session
        self.tokens = tokens
        self.request_ids = RequestIds()

    def headers(self, token: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The four headers every Platform call needs (notes §1.2)."""
        headers = {
            "Authorization": f"Bearer {token}",
            "x-api-key": self.config.client_id,
            "x-gw-ims-org-id": self.config.org_id,
            "x-sandbox-name": self.config.sandbox_name,
        }
        headers.update(extra or {})
        return headers

    def call(
        self,
        method: str,
        url: str,
        *,
        params: Params | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """Send one request; return the decoded JSON body (None when empty) or raise."""
        return json_or_none(self.exchange(method, url, params=params, json=json, headers=headers))

    def call_text(
        self,
        method: str,
        url: str,
        *,
        params: Params | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> str:
        """Send one request; return the body as text (files such as JSON lines) or raise."""
        return self.exchange(method, url, params=params, headers=headers).text

    def exchange(
        self,
        method: str,
        url: str,
        *,
        params: Params | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Send one request (refreshing a rejected token once); the response, or raise."""
        token = self.tokens.token()
        response = self._send(method, url, token, params, json, headers)
        if response.status_code == 401 and _token_rejected(response):
            # The cached token died early (revoked, clock skew): drop it so every sharer
            # re-fetches, and repeat this call once. A second 401 is a real auth problem.
            logger.info("Access token rejected on %s %s; refreshing once", method, url)
            self.tokens.invalidate(token)
            response = self._send(method, url, self.tokens.token(), params, json, headers)
        if response.status_code >= 400:
            raise error_for(response)
        return response

    def _send(
        self,
        method: str,
        url: str,
        token: str,
        params: Params | None,
        body: Any,
        extra_headers: Mapping[str, str] | None,
    ) -> requests.Response:
        headers = self.headers(token, extra_headers)
        if body is not None:
            headers.setdefault("Content-Type", "application/json")
        try:
            response = self.session.request(
                method,
                url,
                params=list(params) if params else None,
                json=body,
                headers=headers,
                timeout=self.config.timeout,
            )
        except requests.RequestException as exc:
            raise transport_error(f"{method} {url}", exc) from exc
        self.request_ids.note(response)
        logger.debug(
            "%s %s -> %s (request id %s)",
            method,
            url,
            response.status_code,
            response.headers.get("x-request-id"),
        )
        return response


def _token_rejected(response: requests.Response) -> bool:
    """Gateway `{"error_code": "401013", "message": "Oauth token is not valid"}` (notes §2.6)."""
    error = error_for(response)
    return error.code == "401013" or "token" in error.message.lower()


def error_for(response: requests.Response) -> AEPAPIError:
    """Turn an HTTP error response into the matching `aep.errors` exception.

    Understands gateway bodies (`error_code`/`message`), RFC 7807-style problem bodies from
    Flow Service, Schema Registry and Data Prep (`type`/`title`/`report`/`detail`/
    `errorMessage`), the older bare `errorMessage`, and plain text.
    """
    body = json_or_none(response)
    if body is None and response.text:
        body = response.text
    message, code, request_id = describe_error_body(body)
    message = message or f"HTTP {response.status_code} {response.reason or ''}".strip()
    request_id = request_id or response.headers.get("x-request-id")
    cls = error_class_for_status(response.status_code)
    if quirks.is_not_found_code(code):
        cls = NotFoundError
    if cls is RateLimitError:
        return RateLimitError(
            message,
            response.status_code,
            request_id,
            code,
            body,
            retry_after=retry_after_seconds(response.headers.get("Retry-After")),
        )
    return cls(message, response.status_code, request_id, code, body)


def describe_error_body(body: Any) -> tuple[str | None, str | None, str | None]:
    """(message, code, request id) from any error body Adobe is known to send."""
    if isinstance(body, str):
        return body.strip()[:500] or None, None, None
    if not isinstance(body, Mapping):
        return None, None, None
    if "error_code" in body:
        return body.get("message"), str(body["error_code"]), None
    report = body.get("report")
    if not isinstance(report, Mapping):
        report = {}
    message = (
        report.get("detailed-message")
        or body.get("errorMessage")
        or body.get("detail")
        or body.get("message")
        or body.get("error_description")
        or body.get("title")
    )
    code = quirks.error_code_from_type(body.get("type")) or body.get("errorCode")
    if code is None and isinstance(body.get("error"), str):
        code = body["error"]
    request_id = report.get("request-id") or report.get("registryRequestId")
    return message, code, request_id


def retry_after_seconds(value: str | None) -> float | None:
    """`Retry-After` as seconds: either a number or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def next_continuation_token(body: Any) -> str | None:
    """`_links.next.href` (`/flows?continuationToken=…`) → the token, if there is a next page."""
    href = (((body or {}).get("_links") or {}).get("next") or {}).get("href")
    if not href:
        return None
    tokens = parse_qs(urlsplit(href).query).get("continuationToken")
    return tokens[0] if tokens else None


def iter_continuation(
    http: AEPHttp, url: str, params: Params, *, headers: Mapping[str, str] | None = None
) -> Iterator[dict[str, Any]]:
    """Flow Service list paging: repeat the query with the next `continuationToken`."""
    seen: set[str] = set()
    page_params = list(params)
    while True:
        body = http.call("GET", url, params=page_params, headers=headers) or {}
        yield from body.get("items") or ()
        token = next_continuation_token(body)
        if token is None or token in seen:
            return
        seen.add(token)
        page_params = [*params, ("continuationToken", token)]


def iter_offset(fetch_page: Callable[[int], list[Any]], page_size: int) -> Iterator[Any]:
    """Catalog / Data Prep paging: advance `start` by the page length until a short page."""
    start = 0
    while True:
        items = fetch_page(start)
        yield from items
        if len(items) < page_size or not items:
            return
        start += len(items)
