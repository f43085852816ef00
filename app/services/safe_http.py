"""Requests to servers that readers name (their Mastodon server), which anyone can aim at
anything: an address inside our own network, a server that never answers, one that answers
without end.

So each request resolves the name once, refuses it if any address it resolves to is not a
public one (`address_refused`), and connects to an address it checked, never to the name
again, so that a second, different DNS answer (rebinding) changes nothing. TLS still checks
the certificate against the name. Redirects are never followed; the whole request has a
deadline, and the body a size cap.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import socket
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import certifi
import urllib3
from urllib3.exceptions import HTTPError

from app.domain.mastodon_servers import Address, MastodonServer, address_refused

TIMEOUT = 5.0  # seconds, for everything: resolving, connecting, sending, reading
CONNECT_TIMEOUT = 3.0
MAX_BODY = 128 * 1024  # a Mastodon account's JSON is a few kilobytes
MAX_ADDRESSES = 3  # tried in turn when one does not connect
USER_AGENT = "Afterword (comment sign-in)"

# getaddrinfo has no timeout of its own: it runs here, and a request gives up waiting.
_resolver = ThreadPoolExecutor(max_workers=4, thread_name_prefix="resolve")


class Unreachable(Exception):
    """Did not resolve, connect or answer in time, or broke off."""


class AddressRefused(Exception):
    """The name resolves to an address we do not connect to."""


class TooLarge(Exception):
    pass


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON; ValueError when it is not."""
        return json.loads(self.body.decode("utf-8"))


def request(
    method: str,
    server: MastodonServer,
    path: str,
    *,
    form: Mapping[str, str] | None = None,
    data: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    allow_loopback: bool = False,
    timeout: float = TIMEOUT,
    max_body: int = MAX_BODY,
) -> Answer:
    """`form` is sent urlencoded; `data` as it is, with the Content-Type `headers` give."""
    deadline = time.monotonic() + timeout
    addresses = checked_addresses(server, allow_loopback=allow_loopback, deadline=deadline)
    body = urlencode(form).encode() if form is not None else data
    sent_headers = {
        "Host": server.name,
        "User-Agent": USER_AGENT,
        "Accept": "application/json",
        "Accept-Encoding": "identity",  # no compressed body to inflate past the cap
        **(headers or {}),
    }
    if form is not None:
        sent_headers["Content-Type"] = "application/x-www-form-urlencoded"
    last: Exception | None = None
    for address in addresses[:MAX_ADDRESSES]:
        try:
            return _send(method, server, address, path, body, sent_headers, deadline, max_body)
        except _ConnectFailed as err:
            last = err
    raise Unreachable(server.name) from last


class _ConnectFailed(Exception):
    pass


def checked_addresses(
    server: MastodonServer, *, allow_loopback: bool, deadline: float | None = None
) -> list[Address]:
    """The addresses a name resolves to, if every one is an address we may connect to.

    Raises Unreachable when it does not resolve in time, AddressRefused when any is refused.
    """
    deadline = deadline if deadline is not None else time.monotonic() + TIMEOUT
    addresses = _resolve(server, deadline)
    if any(address_refused(a, allow_loopback=allow_loopback) for a in addresses):
        raise AddressRefused(server.name)
    if server.scheme == "http" and not all(a.is_loopback for a in addresses):
        raise AddressRefused(server.name)  # plain http only ever stays on this machine
    return addresses


def _resolve(server: MastodonServer, deadline: float) -> list[Address]:
    try:
        literal = ipaddress.ip_address(server.host)
    except ValueError:
        pass
    else:
        return [literal]
    future = _resolver.submit(
        socket.getaddrinfo, server.host, server.connect_port, type=socket.SOCK_STREAM
    )
    try:
        infos = future.result(timeout=max(deadline - time.monotonic(), 0.01))
    except (FutureTimeout, OSError, UnicodeError) as err:
        raise Unreachable(server.name) from err
    addresses: list[Address] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise Unreachable(server.name)
    return addresses


def _send(
    method: str,
    server: MastodonServer,
    address: Address,
    path: str,
    body: bytes | None,
    headers: dict[str, str],
    deadline: float,
    max_body: int,
) -> Answer:
    left = deadline - time.monotonic()
    if left <= 0:
        raise Unreachable(server.name)
    timeout = urllib3.Timeout(connect=min(CONNECT_TIMEOUT, left), read=left)
    pool: urllib3.HTTPConnectionPool
    opened: list[socket.socket] = []
    if server.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            str(address),
            server.connect_port,
            timeout=timeout,
            retries=False,
            maxsize=1,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
            server_hostname=server.host,  # SNI and the certificate are for the name
            assert_hostname=server.host,
        )
    else:
        pool = urllib3.HTTPConnectionPool(
            str(address), server.connect_port, timeout=timeout, retries=False, maxsize=1
        )
    # Socket timeouts bound each wait, not the sum of them: a server that trickles a byte at a
    # time would keep every wait short and the request going. At the deadline the watchdog
    # shuts the connection, and whatever was waiting for it fails.
    pool.ConnectionCls = _watched(pool.ConnectionCls, opened)
    watchdog = threading.Timer(left, _cut, args=(opened,))
    watchdog.daemon = True
    watchdog.start()
    try:
        try:
            conn_err: tuple[type[Exception], ...] = (
                urllib3.exceptions.NewConnectionError,
                urllib3.exceptions.ConnectTimeoutError,
            )
            response = pool.urlopen(
                method,
                path,
                body=body,
                headers=headers,
                redirect=False,
                retries=False,
                preload_content=False,
                decode_content=False,
            )
        except conn_err as err:
            raise _ConnectFailed(str(err)) from err
        try:
            return _read(response, server, deadline, max_body)
        finally:
            response.release_conn()
    except (HTTPError, OSError) as err:
        raise Unreachable(server.name) from err
    finally:
        watchdog.cancel()
        pool.close()


def _watched(base: type[Any], opened: list[socket.socket]) -> type[Any]:
    class Watched(base):  # type: ignore[misc]
        def connect(self) -> None:
            super().connect()
            opened.append(self.sock)

    return Watched


def _cut(opened: list[socket.socket]) -> None:
    for sock in opened:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _read(
    response: urllib3.BaseHTTPResponse, server: MastodonServer, deadline: float, max_body: int
) -> Answer:
    length = response.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > max_body:
        raise TooLarge(server.name)
    chunks: list[bytes] = []
    size = 0
    while True:
        # The socket's timeout bounds each wait; the deadline bounds a body that trickles.
        if time.monotonic() > deadline:
            raise Unreachable(server.name)
        chunk = response.read(16 * 1024, decode_content=False)
        if not chunk:
            break
        size += len(chunk)
        if size > max_body:
            raise TooLarge(server.name)
        chunks.append(chunk)
    if time.monotonic() > deadline:
        raise Unreachable(server.name)  # cut off by the watchdog: what came is not all
    return Answer(
        status=response.status,
        headers={k.lower(): v for k, v in response.headers.items()},
        body=b"".join(chunks),
    )
