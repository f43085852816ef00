"""A fake Mastodon server on loopback, speaking Mastodon's own wire format.

The parts a sign-in touches, as Mastodon (Rails and Doorkeeper) answers them:
`POST /api/v1/apps` registers an app; `/oauth/authorize` shows a consent page and redirects
back with a code (or `error=access_denied`); `POST /oauth/token` exchanges the code with the
client's id and secret and checks the PKCE verifier, answering Doorkeeper's errors
(`invalid_client` before anything else, then `invalid_grant`); `GET
/api/v1/accounts/verify_credentials` answers the signed-in account. Several can run at once,
each its own server with its own apps and accounts.

`mode` makes it hostile: "timeout" (answers nothing for a long while), "drip" (answers its
apps endpoint a byte at a time, each soon after the last, for ever), "html" (a web page for
everything), "not_mastodon" (404 for /api/v1/apps), "redirect_private" (its apps endpoint
redirects to a private address), "huge" (an apps answer past any sane size).
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple, Self
from urllib.parse import urlencode

import requests
from flask import Flask, Response, jsonify, redirect, request
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

MODES = ("ok", "timeout", "drip", "html", "not_mastodon", "redirect_private", "huge")
DEFAULT_ACCOUNTS: dict[str, dict[str, Any]] = {
    "109348573495873945": {
        "username": "ada",
        "display_name": "Ada Lovelace",
        "avatar": "https://files.example/accounts/avatars/ada.png",
    },
    "110001": {"username": "grace", "display_name": ""},
}
UNKNOWN_CLIENT = (
    "Client authentication failed due to unknown client, no client authentication included, "
    "or unsupported authentication method."
)


class LoggedRequest(NamedTuple):
    method: str
    path: str
    headers: dict[str, str]
    data: dict[str, str]


@dataclass
class App:
    client_id: str
    client_secret: str
    name: str
    redirect_uris: list[str]
    scopes: list[str]
    website: str | None


@dataclass
class Grant:
    code: str
    client_id: str
    redirect_uri: str
    account_id: str
    challenge: str
    used: bool = False


@dataclass
class State:
    accounts: dict[str, dict[str, Any]]
    mode: str = "ok"
    delay: float = 0.0  # seconds each apps registration takes (to make first uses overlap)
    signed_in: str = ""
    apps: dict[str, App] = field(default_factory=dict)
    grants: dict[str, Grant] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # access token -> account id
    log: list[LoggedRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _error(status: int, error: str, description: str | None = None) -> Response:
    body: dict[str, str] = {"error": error}
    if description:
        body["error_description"] = description
    response = jsonify(body)
    response.status_code = status
    return response


def create_fake_mastodon(accounts: dict[str, dict[str, Any]] | None = None) -> Flask:
    app = Flask(__name__)
    state = State(accounts={k: dict(v) for k, v in (accounts or DEFAULT_ACCOUNTS).items()})
    state.signed_in = next(iter(state.accounts))
    app.extensions["fake_mastodon"] = state

    @app.before_request
    def log_and_misbehave() -> Response | None:
        data = request.form.to_dict() if request.method == "POST" else request.args.to_dict()
        state.log.append(LoggedRequest(request.method, request.path, dict(request.headers), data))
        if state.mode == "timeout":
            time.sleep(10)  # the server's socket outlives the test; nobody reads this
            return Response("late", status=200)
        if state.mode == "html":
            return Response("<!doctype html><h1>Welcome to my blog</h1>", mimetype="text/html")
        return None

    @app.post("/api/v1/apps")
    def register() -> Response:
        if state.mode == "not_mastodon":
            return Response("<h1>Not Found</h1>", status=404, mimetype="text/html")
        if state.mode == "redirect_private":
            return redirect("http://10.0.0.7/api/v1/apps", code=307)  # type: ignore[return-value]
        if state.mode == "drip":

            def trickle() -> Iterator[bytes]:
                yield b'{"client_id": "'
                for _ in range(100):
                    time.sleep(0.1)
                    yield b"a"

            return Response(trickle(), mimetype="application/json")
        if state.mode == "huge":

            def endless() -> Iterator[bytes]:
                yield b'{"client_id": "x", "client_secret": "y", "name": "'
                for _ in range(512):
                    yield b"a" * 4096
                yield b'"}'

            return Response(endless(), mimetype="application/json")
        if state.delay:
            time.sleep(state.delay)
        form = request.form if request.form else (request.get_json(silent=True) or {})
        name = form.get("client_name")
        redirect_uris = (form.get("redirect_uris") or "").split()
        if not name or not redirect_uris:
            return _error(
                422, "Validation failed: Name can't be blank, Redirect URI can't be blank"
            )
        scopes = (form.get("scopes") or "read").split()
        app_ = App(
            client_id=secrets.token_urlsafe(32),
            client_secret=secrets.token_urlsafe(32),
            name=name,
            redirect_uris=redirect_uris,
            scopes=scopes,
            website=form.get("website"),
        )
        with state.lock:
            state.apps[app_.client_id] = app_
        return jsonify(
            id=str(len(state.apps)),
            name=app_.name,
            website=app_.website,
            scopes=app_.scopes,
            redirect_uri="\n".join(app_.redirect_uris),
            redirect_uris=app_.redirect_uris,
            client_id=app_.client_id,
            client_secret=app_.client_secret,
            vapid_key="BCk-QqERU0q-CfYZjcuB6lnyyOYfJ2AifKqfeGIm7Z-HiTU5T9eTG5GxVA0_OH5mMlI4UkkDTpaZwozy0TzdZ2M=",
        )

    @app.route("/oauth/authorize", methods=["GET", "POST"])
    def authorize() -> Response:
        params = request.values
        client = state.apps.get(params.get("client_id", ""))
        if client is None:
            return Response(f"<h1>An error has occurred</h1><p>{UNKNOWN_CLIENT}</p>", status=401)
        redirect_uri = params.get("redirect_uri", "")
        if redirect_uri not in client.redirect_uris:
            return Response("<p>The redirect uri included is not valid.</p>", status=400)

        def back(**query: str) -> Response:
            query["state"] = params.get("state", "")
            return redirect(f"{redirect_uri}?{urlencode(query)}")  # type: ignore[return-value]

        if params.get("response_type") != "code":
            return back(error="unsupported_response_type")
        if not set(params.get("scope", "read").split()) <= set(client.scopes):
            return back(error="invalid_scope")
        if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
            return back(error="invalid_request")
        if request.method == "GET":
            return Response(
                "<form method=post><p>Authorize "
                f"{html.escape(client.name)} to use your account?</p>"
                "<button name=action value=allow>Authorize</button>"
                "<button name=action value=deny>Deny</button></form>",
                mimetype="text/html",
            )
        if request.form.get("action") != "allow":
            return back(
                error="access_denied",
                error_description="The resource owner or authorization server denied the request.",
            )
        code = secrets.token_urlsafe(32)
        with state.lock:
            state.grants[code] = Grant(
                code=code,
                client_id=client.client_id,
                redirect_uri=redirect_uri,
                account_id=request.form.get("account") or state.signed_in,
                challenge=params["code_challenge"],
            )
        return back(code=code)

    @app.post("/oauth/token")
    def token() -> Response:
        form = request.form
        client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
        if request.authorization and request.authorization.type == "basic":
            client_id = request.authorization.username or ""
            client_secret = request.authorization.password or ""
        client = state.apps.get(client_id)
        if client is None or not secrets.compare_digest(client.client_secret, client_secret):
            return _error(401, "invalid_client", UNKNOWN_CLIENT)
        if form.get("grant_type") != "authorization_code":
            return _error(400, "unsupported_grant_type")
        invalid_grant = _error(
            400,
            "invalid_grant",
            "The provided authorization grant is invalid, expired, revoked, does not match "
            "the redirection URI used in the authorization request, or was issued to another "
            "client.",
        )
        with state.lock:
            grant = state.grants.get(form.get("code", ""))
            if grant is None or grant.used or grant.client_id != client.client_id:
                return invalid_grant
            grant.used = True
        if form.get("redirect_uri") != grant.redirect_uri:
            return invalid_grant
        verifier = form.get("code_verifier", "")
        digest = hashlib.sha256(verifier.encode()).digest()
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant.challenge:
            return invalid_grant
        access = secrets.token_urlsafe(32)
        with state.lock:
            state.tokens[access] = grant.account_id
        return jsonify(
            access_token=access,
            token_type="Bearer",
            scope=" ".join(client.scopes),
            created_at=int(time.time()),
        )

    @app.get("/api/v1/accounts/verify_credentials")
    def verify_credentials() -> Response:
        auth = request.headers.get("Authorization", "")
        account_id = state.tokens.get(auth.removeprefix("Bearer ")) if auth else None
        if account_id is None:
            return _error(401, "The access token is invalid")
        account = state.accounts[account_id]
        host = request.host
        return jsonify(
            id=account_id,
            username=account["username"],
            acct=account["username"],
            display_name=account.get("display_name", ""),
            locked=False,
            bot=False,
            note="<p>Hello</p>",
            url=f"http://{host}/@{account['username']}",
            avatar=account.get("avatar", f"http://{host}/avatars/original/missing.png"),
            avatar_static=account.get("avatar", f"http://{host}/avatars/original/missing.png"),
            header=f"http://{host}/headers/original/missing.png",
            followers_count=3,
            following_count=5,
            statuses_count=42,
            source={"privacy": "public", "sensitive": False, "language": "en", "note": "Hello"},
            emojis=[],
            fields=[],
        )

    return app


class _Quiet(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def make_tls_files(directory: Path, host: str) -> tuple[Path, Path, Path]:
    """A CA of our own and a certificate it signed for `host`: (ca.pem, cert.pem, key.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Fake Mastodon test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .add_extension(x509.ExtendedKeyUsage([x509.OID_SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


class FakeMastodon:
    """`with FakeMastodon() as server:` a Mastodon server at `server.name` (127.0.0.1:PORT).

    With `tls=(cert.pem, key.pem)` it speaks https (see `make_tls_files`).
    """

    def __init__(
        self,
        accounts: dict[str, dict[str, Any]] | None = None,
        *,
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        self.app = create_fake_mastodon(accounts)
        self.tls = tls
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def state(self) -> State:
        state: State = self.app.extensions["fake_mastodon"]
        return state

    def __enter__(self) -> Self:
        context = None
        if self.tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
        self._server = make_server(
            "127.0.0.1", 0, self.app, threaded=True, request_handler=_Quiet, ssl_context=context
        )
        self._server.daemon_threads = True  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="fake-mastodon",
            daemon=True,
        )
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def port(self) -> int:
        assert self._server is not None, "the fake Mastodon server is not running"
        return self._server.server_port

    @property
    def name(self) -> str:
        """The server as Afterword shows it: host and port (a reader types `base_url`)."""
        return f"127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.name}"

    def reset(self, mode: str = "ok") -> None:
        assert mode in MODES
        with self.state.lock:
            self.state.mode = mode
            self.state.delay = 0.0
            self.state.apps.clear()
            self.state.grants.clear()
            self.state.tokens.clear()
            self.state.log.clear()
            self.state.signed_in = next(iter(self.state.accounts))

    def requests_to(self, path: str) -> list[LoggedRequest]:
        return [r for r in self.state.log if r.path == path]

    @property
    def apps(self) -> list[App]:
        return list(self.state.apps.values())

    def delete_apps(self) -> None:
        """As when the server's admin removes the app: its client id is unknown from now on."""
        with self.state.lock:
            self.state.apps.clear()

    def consent(
        self, authorize_url: str, *, approve: bool = True, account: str | None = None
    ) -> str:
        """Act as the reader's browser on their server; returns the redirect back to us."""
        page = requests.get(authorize_url, allow_redirects=False, timeout=5)
        if page.status_code in (302, 303):
            return page.headers["Location"]
        assert page.status_code == 200, page.text
        answer = requests.post(
            authorize_url,
            data={"action": "allow" if approve else "deny", "account": account or ""},
            allow_redirects=False,
            timeout=5,
        )
        assert answer.status_code in (302, 303), answer.text
        return answer.headers["Location"]
