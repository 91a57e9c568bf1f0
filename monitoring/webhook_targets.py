"""Where alert webhooks may go: hosts on the public internet, over HTTPS.

An admin types the webhook URL and the worker POSTs to it, so without a check a rule could make
the worker call the cloud metadata service (169.254.169.254), Redis, PostgreSQL or anything else
only the server can reach (server-side request forgery). A URL is vetted when the rule is saved,
again right before each delivery (DNS answers change), and once more when the delivery opens
its connection: `post` connects only to addresses it has just vetted, so a name that resolves
to a public address for the check and to a private one for the connection (DNS rebinding)
gets nowhere. Redirects are never followed; the receiver must answer at the address given.

A webhook URL is a credential: Slack, Teams and most receivers carry their secret in the path
or the query. The rule keeps it encrypted; everywhere else (deliveries, audit records, error
text, pages, logs) it appears only as `label`: scheme, host and a short hash of the whole URL,
enough to tell two receivers apart and nothing to post with.

A delivery reads at most MAX_RESPONSE_BYTES of the answer, all within one overall deadline, so
a receiver that answers slowly or endlessly holds no worker.

ALERT_WEBHOOK_ALLOW_PRIVATE turns the address rules off, and allows plain http, for development
and tests whose receiver runs on localhost. Without it only https is accepted: a delivery
carries alert details and a signature that anyone on the path could read and replay within the
signature's tolerance, and receivers on the internet (Slack, PagerDuty, a company endpoint)
offer TLS as a matter of course.
"""

from __future__ import annotations

import hashlib
import ipaddress
import socket
import time
from typing import Any
from urllib.parse import SplitResult, urlsplit

import requests
from django.conf import settings
from django.utils.translation import gettext as _
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ReadTimeoutError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

DEFAULT_PORTS = {"http": 80, "https": 443}
# IPv6 prefixes that carry an IPv4 address the packets may end up at: NAT64 (RFC 6052).
# IPv4-mapped, 6to4 and Teredo have their own properties on IPv6Address.
NAT64_PREFIX = ipaddress.IPv6Network("64:ff9b::/96")


# The receiver's answer is read only to see that it came: a few kilobytes are plenty.
MAX_RESPONSE_BYTES = 64 * 1024
READ_CHUNK_BYTES = 8 * 1024
HASH_CHARS = 8


def label(url: str) -> str:
    """`https://hooks.slack.com/…#1a2b3c4d`: what may be stored and shown of a webhook URL."""
    if not url:
        return ""
    digest = hashlib.sha256(url.encode()).hexdigest()[:HASH_CHARS]
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = (
            f":{parts.port}" if parts.port and parts.port != DEFAULT_PORTS.get(parts.scheme) else ""
        )
    except ValueError:
        return f"…#{digest}"
    return f"{parts.scheme}://{host}{port}/…#{digest}"


def host_of(url: str) -> str:
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


class WebhookTargetRefused(Exception):
    """The URL may not receive webhooks; the message says why, in words for the admin.

    `permanent` is False only when the host could not be resolved, which may be a passing DNS
    failure worth retrying; every other refusal would be refused again.
    """

    def __init__(self, message: str, permanent: bool = True) -> None:
        super().__init__(message)
        self.permanent = permanent


def allow_private() -> bool:
    return bool(getattr(settings, "ALERT_WEBHOOK_ALLOW_PRIVATE", False))


def vet_url(url: str) -> None:
    """Raise WebhookTargetRefused unless `url` may receive webhooks (see the module docstring)."""
    parts = urlsplit(url)
    allowed = ("http", "https") if allow_private() else ("https",)
    if parts.scheme not in allowed:
        if allow_private():
            raise WebhookTargetRefused(_("Use an address starting with https:// or http://."))
        raise WebhookTargetRefused(_("Use an address starting with https://."))
    if parts.username is not None or parts.password is not None:
        raise WebhookTargetRefused(
            _(
                "Leave the user name and password out of the address: the signing secret "
                "proves that deliveries come from here."
            )
        )
    host, port = _host_and_port(parts)
    if not allow_private():
        vetted_addresses(host, port)


def _host_and_port(parts: SplitResult) -> tuple[str, int]:
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:  # a port that is not a number, or out of range
        port = None
    if not parts.hostname or port is None:
        raise WebhookTargetRefused(
            _("Enter a complete address, such as https://hooks.example.com/alerts.")
        )
    return parts.hostname, port


def vetted_addresses(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, when all are public; else WebhookTargetRefused.

    All of them, not just the first: a client may connect to any, and a name that mixes a
    public address with a private one is exactly how a check of only the first is bypassed.
    """
    addresses = _resolve(host, port)
    for address in addresses:
        if not is_public(address):
            # Which address is not said: the form would otherwise map the internal network.
            raise WebhookTargetRefused(
                _(
                    "%(host)s points inside the network. Webhooks can only go to addresses "
                    "on the public internet."
                )
                % {"host": host}
            )
    return [str(address) for address in addresses]


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):  # gaierror is an OSError; bad IDNA labels a UnicodeError
        infos = []
    addresses = []
    for _family, _type, _proto, _name, sockaddr in infos:
        try:
            addresses.append(ipaddress.ip_address(sockaddr[0]))
        except ValueError:
            continue
    if not addresses:
        raise WebhookTargetRefused(
            _("%(host)s could not be found. Check the host name.") % {"host": host},
            permanent=False,
        )
    return list(dict.fromkeys(addresses))  # one per address, in the resolver's order


def is_public(address: IPAddress) -> bool:
    """Whether `address`, and any IPv4 address carried inside it, is on the public internet.

    `is_global` alone lets multicast through (224.0.0.0/4, ff00::/8 count as global), and
    whether it sees through IPv4-mapped and NAT64 addresses depends on the Python release.
    """
    embedded = _embedded_ipv4(address)
    if embedded is not None and not is_public(embedded):
        return False
    return address.is_global and not (
        address.is_multicast
        or address.is_loopback
        or address.is_link_local
        or address.is_private
        or address.is_reserved
        or address.is_unspecified
    )


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]  # (server, client): the client is the one reached
    if address in NAT64_PREFIX:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


# -- sending -------------------------------------------------------------------------------


class ResponseTooSlow(Exception):
    """The receiver did not finish its answer within the delivery's deadline."""


def post(url: str, *, deadline_seconds: float, **kwargs: Any) -> requests.Response:
    """POST without following redirects, connecting only to vetted addresses.

    Connecting, sending and reading the answer all end within `deadline_seconds`; at most
    MAX_RESPONSE_BYTES of the answer are read (`content` holds them), the rest is dropped.

    Through a proxy (HTTPS_PROXY in the environment) the proxy opens the connection, so only the
    check in `vet_url` applies; such a proxy should refuse internal addresses itself.
    """
    deadline = time.monotonic() + deadline_seconds
    with requests.Session() as session:
        session.mount("http://", _VettedAdapter())
        session.mount("https://", _VettedAdapter())
        response = session.post(
            url, allow_redirects=False, stream=True, timeout=deadline_seconds, **kwargs
        )
        try:
            response._content = _read_limited(response, deadline)
        finally:
            response.close()
        return response


def _read_limited(response: requests.Response, deadline: float) -> bytes:
    """Up to MAX_RESPONSE_BYTES of the body, taking what each read brings (read1), each read
    allowed only the time left before the deadline: a trickle cannot stretch it."""
    raw = response.raw
    body = b""
    while len(body) < MAX_RESPONSE_BYTES:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ResponseTooSlow
        _set_read_timeout(raw, remaining)
        try:
            chunk = raw.read1(min(READ_CHUNK_BYTES, MAX_RESPONSE_BYTES - len(body)))
        except (ReadTimeoutError, TimeoutError):
            raise ResponseTooSlow from None
        if not chunk:
            break
        body += chunk
    return body


def _set_read_timeout(raw: Any, seconds: float) -> None:
    sock = getattr(getattr(raw, "connection", None), "sock", None)
    if sock is not None:
        sock.settimeout(max(seconds, 0.001))


class _VettedConnectionMixin:
    """Resolve and vet the host when connecting, then connect to those very addresses.

    TLS still checks the certificate against the host name: only the socket's destination
    changes, not the name used for SNI and verification.
    """

    _dns_host: str
    port: int

    def _new_conn(self) -> socket.socket:
        if allow_private():
            return super()._new_conn()  # type: ignore[misc]
        addresses = vetted_addresses(self._dns_host.rstrip("."), self.port)
        for address in addresses[:-1]:
            try:
                return self._connect_to(address)
            except (NewConnectionError, ConnectTimeoutError):
                continue  # like socket.create_connection: the next address may answer
        return self._connect_to(addresses[-1])

    def _connect_to(self, address: str) -> socket.socket:
        host, self._dns_host = self._dns_host, address
        try:
            return super()._new_conn()  # type: ignore[misc]
        finally:
            self._dns_host = host


class _VettedHTTPConnection(_VettedConnectionMixin, HTTPConnection):
    pass


class _VettedHTTPSConnection(_VettedConnectionMixin, HTTPSConnection):
    pass


class _VettedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _VettedHTTPConnection


class _VettedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _VettedHTTPSConnection


class _VettedAdapter(HTTPAdapter):
    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any
    ) -> None:
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _VettedHTTPConnectionPool,
            "https": _VettedHTTPSConnectionPool,
        }
