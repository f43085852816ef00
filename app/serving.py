"""A warning at start when PUBLIC_URL is not the address this server answers on.

PUBLIC_URL goes into every snippet, mailed link and OAuth callback, so a wrong one breaks
things far from where it is set. Only the process that binds the socket knows the address,
and only at start: `flask run` parsed `--host`/`--port` before it builds the app, so
`create_app` finds them in the running click command (this module); gunicorn's master knows
its listeners once they are bound (`when_ready` in gunicorn.conf.py). A first-request check of
the Host header was the alternative, but a health check or a proxy's internal name would set
it off in a sound deployment, and it would come late, after a snippet was already printed.
"""

from __future__ import annotations

import ipaddress
import logging
from urllib.parse import urlsplit

import click
from flask import Flask

log = logging.getLogger(__name__)
_EVERY_INTERFACE = {"", "0.0.0.0", "::"}  # noqa: S104 - compared with, never bound


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def public_url_mismatch(public_url: str, host: str, port: int) -> str | None:
    """Why a server bound to host:port is not what PUBLIC_URL names, or None when it is.

    Bound to every interface, it answers on any host name; on a loopback address, under any
    loopback name (127.0.0.1 and localhost are one server, as the demo relies on).
    """
    parts = urlsplit(public_url)
    public_host = (parts.hostname or "").lower()
    public_port = parts.port or (443 if parts.scheme == "https" else 80)
    host = host.strip("[]").lower()
    if public_port != port:
        return f"port {public_port} is not the port served, {port}"
    same_host = (
        host in _EVERY_INTERFACE
        or host == public_host
        or (_is_loopback(host) and _is_loopback(public_host))
    )
    if not same_host:
        return f"host {public_host} is not the host served, {host}"
    if parts.scheme != "http":
        return f"it is {parts.scheme}, and this server speaks plain http"
    return None


def warn_on_mismatch(public_url: str, host: str, port: int, server: str) -> bool:
    """Log a warning when PUBLIC_URL cannot be what this server serves; say whether it did."""
    reason = public_url_mismatch(public_url, host, port)
    if reason is None:
        return False
    log.warning(
        "PUBLIC_URL is %s but %s serves on %s:%s (%s): snippets, mailed links and sign-in "
        "callbacks will point at PUBLIC_URL. Set PUBLIC_URL to the address readers use; in "
        "development, `make run HOST=... PORT=...` makes it follow the address served.",
        public_url,
        server,
        host,
        port,
        reason,
    )
    return True


def check_flask_run(app: Flask) -> None:
    """Under `flask run`, compare PUBLIC_URL with its --host and --port."""
    ctx = click.get_current_context(silent=True)
    if ctx is None or ctx.info_name != "run":
        return
    host, port = ctx.params.get("host"), ctx.params.get("port")
    if isinstance(host, str) and isinstance(port, int):
        warn_on_mismatch(app.config["PUBLIC_URL"], host, port, "flask run")


def check_gunicorn(public_url: str, listeners: list[tuple[str, int]]) -> None:
    """Under gunicorn, compare PUBLIC_URL with the addresses bound, when it names a loopback
    address: a public name normally reaches gunicorn through a proxy on another address, but
    nothing stands between a browser on this machine and a loopback PUBLIC_URL."""
    if not _is_loopback((urlsplit(public_url).hostname or "").lower()) or not listeners:
        return
    if all(public_url_mismatch(public_url, host, port) for host, port in listeners):
        host, port = listeners[0]
        warn_on_mismatch(public_url, host, port, "gunicorn")
