"""What a reader may type as their Mastodon server, and which addresses we may talk to.

The name comes from anyone on the internet and makes this service send requests, so it is
read strictly: a host name (https assumed) or an `https://host[:port]` URL with nothing else
in it, no user info, path, query or fragment. Plain `http` is only for loopback addresses,
so that tests and development can run a server on this machine.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import idna

from app.domain.errors import ValidationError

MAX_INPUT = 300
MAX_HOST = 253
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_PORT = re.compile(r"^[0-9]{1,5}$")
_HOST_AND_PORT = re.compile(r"^(?P<host>\[[0-9a-fA-F:.]+\]|[^:\[\]]+)(?::(?P<port>[^:]*))?$")
LOOPBACK_NAMES = frozenset({"localhost"})

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class BadServerName(ValidationError):
    """Not something we read as a server name; the reader's own typing is at fault."""

    def __init__(self) -> None:
        super().__init__("Enter your Mastodon server, such as mastodon.social.", field="server")


class ServerNotAllowed(ValidationError):
    def __init__(self) -> None:
        super().__init__("Sign-in with that server is not allowed here.", field="server")


class ServerUnreachable(ValidationError):
    def __init__(self) -> None:
        super().__init__("That Mastodon server could not be reached.", field="server")


class NotMastodon(ValidationError):
    def __init__(self) -> None:
        super().__init__("That is not a Mastodon server.", field="server")


@dataclass(frozen=True)
class MastodonServer:
    host: str  # lowercase ASCII (IDNA), or an IP literal without brackets
    port: int | None  # None: the scheme's own
    scheme: str = "https"

    @property
    def name(self) -> str:
        """The server as we key and show it: `host` or `host:port`, IPv6 in brackets."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port is None else f"{host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.name}"

    @property
    def connect_port(self) -> int:
        return self.port if self.port is not None else (443 if self.scheme == "https" else 80)

    def url(self, path: str) -> str:
        return self.base_url + path


def parse_server(value: object) -> MastodonServer:
    """The server a reader named; raises BadServerName for anything else."""
    if not isinstance(value, str):
        raise BadServerName()
    text = value.strip()
    if not text or len(text) > MAX_INPUT or any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in text):
        raise BadServerName()
    scheme = "https"
    if "://" in text:
        parts = urlsplit(text)
        if parts.scheme.lower() not in ("http", "https") or parts.query or parts.fragment:
            raise BadServerName()
        if "?" in text or "#" in text or parts.path not in ("", "/"):
            raise BadServerName()
        scheme, text = parts.scheme.lower(), parts.netloc
    else:
        text = text.removesuffix("/")
    if "@" in text or "/" in text or "\\" in text or "%" in text:
        raise BadServerName()  # user info, paths and escapes would hide the real host
    match = _HOST_AND_PORT.match(text)
    if match is None:
        raise BadServerName()
    host, port_text = match.group("host"), match.group("port")
    port = _port(port_text)
    host = _host(host)
    server = MastodonServer(host=host, port=port, scheme=scheme)
    if scheme == "http" and not is_loopback_name(server.host):
        raise BadServerName()
    if port is not None and port == (443 if scheme == "https" else 80):
        server = MastodonServer(host=host, port=None, scheme=scheme)
    return server


def _port(text: str | None) -> int | None:
    if text is None:
        return None
    if not _PORT.match(text) or not 0 < int(text) < 65536:
        raise BadServerName()
    return int(text)


def _host(text: str) -> str:
    if text.startswith("["):
        try:
            return str(ipaddress.IPv6Address(text[1:-1]))
        except ValueError:
            raise BadServerName() from None
    text = text.removesuffix(".")
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        pass
    try:
        ascii_host = idna.encode(text, uts46=True).decode("ascii").lower()
    except (idna.IDNAError, UnicodeError, ValueError):
        raise BadServerName() from None
    labels = ascii_host.split(".")
    if len(ascii_host) > MAX_HOST or not all(_LABEL.match(label) for label in labels):
        raise BadServerName()
    if labels[-1].isdigit() or labels[-1].startswith("0x"):
        # "2130706433", "127.1", "0x7f.1": numbers the resolver reads as addresses.
        raise BadServerName()
    return ascii_host


def is_loopback_name(host: str) -> bool:
    """A name that means this machine, by itself (not by what a resolver says)."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def allowed_by_list(server: MastodonServer, allow_list: frozenset[str] | None) -> bool:
    return allow_list is None or server.host in allow_list


def parse_allow_list(raw: str | None) -> frozenset[str] | None:
    """MASTODON_SERVERS: host names, compared as readers' names are read (IDNA, lowercase).

    An entry that is no host name allows nothing (`flask providers` points it out).
    """
    if not raw or not raw.strip():
        return None
    hosts = set()
    for item in raw.split(","):
        try:
            hosts.add(parse_server(item).host)
        except BadServerName:
            continue
    return frozenset(hosts)


def address_refused(address: Address, *, allow_loopback: bool) -> bool:
    """Whether an address is one a reader-named server must never make us connect to.

    Only global unicast addresses are fine: private, loopback, link-local, multicast,
    reserved, unspecified, shared (CGNAT) and documentation ranges all reach something
    that is not a public Mastodon server, maybe our own network.
    """
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address.teredo is not None:
            embedded = address.teredo[1]
        if embedded is not None:
            return address_refused(embedded, allow_loopback=allow_loopback)
    if address.is_loopback:
        return not allow_loopback
    return (
        not address.is_global
        or address.is_multicast
        or address.is_reserved
        or address.is_link_local
        or address.is_private
        or address.is_unspecified
    )
