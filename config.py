"""Configuration classes. Every environment variable Afterword reads is read here.

Per-site settings (origins, moderation mode) live in the database, not here.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from pathlib import Path
from typing import ClassVar

BASE_DIR = Path(__file__).resolve().parent
# A checkout keeps migrations/ and instance/ beside this file. An installed package carries
# its migrations inside `app` (setup.py), and keeps its instance data under the environment's
# prefix, as Flask does for installed apps: never inside site-packages, never in whatever
# directory a command happens to be run from.
_CHECKOUT = (BASE_DIR / "pyproject.toml").is_file() and (BASE_DIR / "migrations").is_dir()
MIGRATIONS_DIR = BASE_DIR / "migrations" if _CHECKOUT else BASE_DIR / "app" / "migrations"
INSTANCE_DIR = Path(
    os.environ.get(
        "AFTERWORD_INSTANCE_DIR",
        BASE_DIR / "instance" if _CHECKOUT else Path(sys.prefix) / "var" / "afterword-instance",
    )
)


def _flag(name: str, default: str = "0") -> bool:
    return os.environ.get(name, default).strip().lower() in {"1", "true", "yes", "on"}


def _dev_secret_key() -> str:
    """A key generated on first use and kept in instance/, so dev sessions survive restarts.

    O_EXCL makes the first writer win when several processes start at once.
    """
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    path = INSTANCE_DIR / "secret_key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


DEFAULT_PUBLIC_URL = "http://127.0.0.1:5000"
# Where `make run` leaves the address it serves on, so that a `flask site create` typed in
# another terminal prints snippets for the server that is actually running.
SERVING_FILE = "serving.json"


def served_url(host: str, port: int) -> str:
    """The base URL a browser on this machine uses for a server bound to host:port."""
    if host in {"", "0.0.0.0", "::"}:  # noqa: S104 - every interface includes the loopback one
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def remember_served_url(url: str, instance_dir: Path | None = None) -> str:
    """Keep the PUBLIC_URL of the development server about to serve on `url`, and return it.

    That is the environment's PUBLIC_URL when there is one (a tunnel, say), else `url`: what
    the other commands of this checkout then use when their own environment has none.
    """
    url = os.environ.get("PUBLIC_URL") or url
    directory = instance_dir or INSTANCE_DIR
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / SERVING_FILE
    # Written whole then renamed, so a command reading it meanwhile never sees half a file.
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps({"url": url.rstrip("/")}) + "\n")
    partial.replace(path)
    return url.rstrip("/")


def remembered_served_url(instance_dir: Path | None = None) -> str | None:
    """The address `make run` last served on, if it left one."""
    path = (instance_dir or INSTANCE_DIR) / SERVING_FILE
    try:
        url = json.loads(path.read_text())["url"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return url.rstrip("/") if isinstance(url, str) and url.startswith("http") else None


def _development_public_url() -> str:
    url = os.environ.get("PUBLIC_URL") or remembered_served_url() or DEFAULT_PUBLIC_URL
    return url.rstrip("/")


MIN_SECRET_KEY_BYTES = 32
HOW_TO_MAKE_A_KEY = 'python -c "import secrets; print(secrets.token_hex(32))"'
# Compared with the key lowercased and stripped of everything but letters and digits; only
# words long enough that a random key never contains one by chance.
_PLACEHOLDER_WORDS = (
    "changeme",
    "replaceme",
    "secretkey",
    "yoursecret",
    "notforproduction",
    "insecure",
    "placeholder",
    "password",
)


def weak_secret_key(key: str | bytes) -> str | None:
    """Why `key` is too weak to sign sessions and links, or None if it will do.

    Each rule catches keys people type instead of generate: short, a placeholder copied from
    an example (possibly padded to length), a short pattern repeated.
    """
    raw = key if isinstance(key, bytes) else key.encode()
    key = raw.decode(errors="replace")
    if len(raw) < MIN_SECRET_KEY_BYTES:
        return f"it is shorter than {MIN_SECRET_KEY_BYTES} bytes"
    letters = "".join(ch for ch in key.lower() if ch.isalnum())
    if any(word in letters for word in _PLACEHOLDER_WORDS):
        return "it looks like a placeholder"
    if len(set(key)) < 8:
        return "it uses fewer than 8 different characters"
    if key in (key + key)[1:-1]:
        return "it repeats a shorter pattern"
    return None


def _default_database_uri() -> str:
    return f"sqlite:///{INSTANCE_DIR / 'afterword.db'}"


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", _default_database_uri())
    SQLALCHEMY_ENGINE_OPTIONS: ClassVar[dict] = {"pool_pre_ping": True}
    REDIS_URL = os.environ.get("REDIS_URL")
    PUBLIC_URL = os.environ.get("PUBLIC_URL", DEFAULT_PUBLIC_URL).rstrip("/")
    # The demo blog at `/` (app/demo); otherwise `/` only names the service.
    DEMO = _flag("DEMO")
    # Send (or log) the mail a request queued right after it, instead of waiting for
    # `flask mail send-pending`: for development, where nobody runs the sender.
    MAIL_SEND_AFTER_REQUEST = False
    # How many reverse proxies stand in front (each appends to X-Forwarded-For); 0: none.
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
    METRICS_TOKEN = os.environ.get("METRICS_TOKEN")
    # "json": one object per line, for collectors; "text": Python's default, for people.
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")

    TWITTER_CLIENT_ID = os.environ.get("TWITTER_CLIENT_ID")
    TWITTER_CLIENT_SECRET = os.environ.get("TWITTER_CLIENT_SECRET")
    TWITTER_AUTHORIZE_URL = os.environ.get(
        "TWITTER_AUTHORIZE_URL", "https://x.com/i/oauth2/authorize"
    )
    TWITTER_TOKEN_URL = os.environ.get("TWITTER_TOKEN_URL", "https://api.x.com/2/oauth2/token")
    TWITTER_USERINFO_URL = os.environ.get("TWITTER_USERINFO_URL", "https://api.x.com/2/users/me")
    FACEBOOK_CLIENT_ID = os.environ.get("FACEBOOK_CLIENT_ID")
    FACEBOOK_CLIENT_SECRET = os.environ.get("FACEBOOK_CLIENT_SECRET")
    FACEBOOK_AUTHORIZE_URL = os.environ.get(
        "FACEBOOK_AUTHORIZE_URL", "https://www.facebook.com/v26.0/dialog/oauth"
    )
    FACEBOOK_TOKEN_URL = os.environ.get(
        "FACEBOOK_TOKEN_URL", "https://graph.facebook.com/v26.0/oauth/access_token"
    )
    FACEBOOK_USERINFO_URL = os.environ.get(
        "FACEBOOK_USERINFO_URL", "https://graph.facebook.com/v26.0/me"
    )
    WORDPRESS_CLIENT_ID = os.environ.get("WORDPRESS_CLIENT_ID")
    WORDPRESS_CLIENT_SECRET = os.environ.get("WORDPRESS_CLIENT_SECRET")
    WORDPRESS_AUTHORIZE_URL = os.environ.get(
        "WORDPRESS_AUTHORIZE_URL", "https://public-api.wordpress.com/oauth2/authorize"
    )
    WORDPRESS_TOKEN_URL = os.environ.get(
        "WORDPRESS_TOKEN_URL", "https://public-api.wordpress.com/oauth2/token"
    )
    WORDPRESS_USERINFO_URL = os.environ.get(
        "WORDPRESS_USERINFO_URL", "https://public-api.wordpress.com/rest/v1.1/me"
    )
    GITHUB_CLIENT_ID = os.environ.get("GITHUB_CLIENT_ID")
    GITHUB_CLIENT_SECRET = os.environ.get("GITHUB_CLIENT_SECRET")
    GITHUB_AUTHORIZE_URL = os.environ.get(
        "GITHUB_AUTHORIZE_URL", "https://github.com/login/oauth/authorize"
    )
    GITHUB_TOKEN_URL = os.environ.get(
        "GITHUB_TOKEN_URL", "https://github.com/login/oauth/access_token"
    )
    GITHUB_USERINFO_URL = os.environ.get("GITHUB_USERINFO_URL", "https://api.github.com/user")
    GOOGLE_CLIENT_ID = os.environ.get("GOOGLE_CLIENT_ID")
    GOOGLE_CLIENT_SECRET = os.environ.get("GOOGLE_CLIENT_SECRET")
    GOOGLE_DISCOVERY_URL = os.environ.get(
        "GOOGLE_DISCOVERY_URL", "https://accounts.google.com/.well-known/openid-configuration"
    )
    # Any other OpenID Connect provider (a Keycloak, an Authentik, a university's): its button
    # says "Log in with {OIDC_NAME}".
    OIDC_NAME = os.environ.get("OIDC_NAME")
    OIDC_DISCOVERY_URL = os.environ.get("OIDC_DISCOVERY_URL")
    OIDC_CLIENT_ID = os.environ.get("OIDC_CLIENT_ID")
    OIDC_CLIENT_SECRET = os.environ.get("OIDC_CLIENT_SECRET")
    DEV_LOGIN = _flag("DEV_LOGIN")
    # Sign-in with any Mastodon server the reader names (app/services/mastodon.py); the app
    # registers itself on each server at its first use. MASTODON_SERVERS: comma-separated
    # host names to allow (unset: any).
    MASTODON_LOGIN = _flag("MASTODON_LOGIN")
    MASTODON_SERVERS = os.environ.get("MASTODON_SERVERS")
    # Lets a Mastodon server on this machine (127.0.0.1, localhost) be named, for tests and a
    # local server in development; refused in production, where it would let readers aim
    # requests at the service's own machine.
    MASTODON_ALLOW_LOOPBACK = _flag("MASTODON_ALLOW_LOOPBACK")
    # Seconds for each request to a reader-named server, all of it (resolve, connect, read).
    MASTODON_TIMEOUT = 5.0
    # Lets a site's Webhook URL point at this machine (http://127.0.0.1:9000/hook), for tests
    # and development; refused in production, where a moderator could aim the service's
    # requests at its own machine. Private and link-local addresses are refused everywhere.
    WEBHOOK_ALLOW_LOOPBACK = _flag("WEBHOOK_ALLOW_LOOPBACK")
    # Sign-in with a link mailed to the reader's address (app/services/email_login.py): on
    # wherever mail can be sent or logged, which is everywhere, unless turned off.
    EMAIL_LOGIN = _flag("EMAIL_LOGIN", "1")

    MAIL_SERVER = os.environ.get("MAIL_SERVER")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "587"))
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_USE_TLS = _flag("MAIL_USE_TLS", "1")
    MAIL_FROM = os.environ.get("MAIL_FROM", "afterword@localhost")
    MODERATION_DIGEST_HOUR = int(os.environ.get("MODERATION_DIGEST_HOUR", "8"))  # UTC

    # Guests may fix a typo for this long; after that replies may already quote them.
    COMMENT_EDIT_SECONDS = int(os.environ.get("COMMENT_EDIT_SECONDS", "900"))
    # More links than this hold a comment for a moderator, whatever the moderation mode.
    COMMENT_MAX_LINKS = int(os.environ.get("COMMENT_MAX_LINKS", "3"))
    # The learning spam filter scores nothing before a site's moderators decided this many
    # comments (at least five approved and five rejected or spam among them).
    FILTER_MIN_DECISIONS = int(os.environ.get("FILTER_MIN_DECISIONS", "20"))
    # A form sent sooner than this after it appeared was not typed by a person.
    COMMENT_MIN_FILL_MS = int(os.environ.get("COMMENT_MIN_FILL_MS", "2000"))
    AKISMET_KEY = os.environ.get("AKISMET_KEY")
    AKISMET_URL = os.environ.get("AKISMET_URL", "https://rest.akismet.com/1.1/comment-check")
    # Address hashes help spot floods of spam; after this many days they are dropped.
    COMMENT_ADDRESS_RETENTION_DAYS = int(os.environ.get("COMMENT_ADDRESS_RETENTION_DAYS", "30"))
    # Sent mail (and mail given up on) stays in the outbox this long, then `flask prune` drops
    # it: long enough to look into a complaint, short enough not to become an archive.
    MAIL_RETENTION_DAYS = int(os.environ.get("MAIL_RETENTION_DAYS", "14"))
    # Requests larger than this are refused before Flask reads them.
    MAX_CONTENT_LENGTH = 256 * 1024

    # Readers' browsers and CDNs may reuse a thread page this long; ETags make it cheap after.
    THREAD_MAX_AGE = int(os.environ.get("THREAD_MAX_AGE", "10"))
    # Thread pages and counts: shared through Redis when there is one, per process otherwise.
    CACHE_TYPE = "RedisCache" if REDIS_URL else "SimpleCache"
    CACHE_REDIS_URL = REDIS_URL
    # The number changes whenever the shape of what is cached changes, so that processes of a
    # new release never read entries an older one left in Redis.
    CACHE_KEY_PREFIX = "afterword:3:"
    # Without Redis each process has its own cache and cannot learn of another's writes, so
    # its entries live only as long as browsers may keep a page anyway (THREAD_MAX_AGE).
    CACHE_DEFAULT_TIMEOUT = 3600 if REDIS_URL else max(THREAD_MAX_AGE, 1)
    CACHE_THRESHOLD = 2000  # in-process entries per worker (a page is kept gzipped: ~15 KB)
    # Cache hits of public reads are answered in front of Flask (app/api/fast_reads.py).
    CACHED_READS_FAST_PATH = True
    # A Redis that stops answering must not hold requests up: give up quickly, read the DB.
    CACHE_OPTIONS: ClassVar[dict] = (
        {"socket_timeout": 0.5, "socket_connect_timeout": 0.5} if REDIS_URL else {}
    )
    COMPRESS_MIMETYPES: ClassVar[list] = [
        "application/json",
        "text/javascript",
        "text/html",
        "text/css",
    ]
    COMPRESS_ALGORITHM: ClassVar[list] = ["br", "gzip"]
    COMPRESS_MIN_SIZE = 500

    # Shared between processes through Redis; a Redis outage falls back to per-process limits.
    RATELIMIT_STORAGE_URI = REDIS_URL or "afterword-memory://"  # app/rate_limits.py
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    # No X-RateLimit-* headers: each would cost another round trip to Redis on every request.
    # A refusal still says when to come back (Retry-After, app/errors.py).
    RATELIMIT_HEADERS_ENABLED = False
    # Per address (and per signed-in reader for posting); "N per period" joined by ";".
    RATELIMIT_POST = os.environ.get("RATELIMIT_POST", "6 per minute;60 per hour")
    RATELIMIT_READ = os.environ.get("RATELIMIT_READ", "600 per minute")
    RATELIMIT_LOGIN = os.environ.get("RATELIMIT_LOGIN", "20 per minute")
    # Previews render on the server (the same renderer as a stored comment) and store nothing.
    RATELIMIT_PREVIEW = os.environ.get("RATELIMIT_PREVIEW", "30 per minute")
    # Likes and unlikes, per address (and per signed-in reader).
    RATELIMIT_LIKE = os.environ.get("RATELIMIT_LIKE", "30 per minute")
    # Guests' likes of one comment from one address: a household or an office shares one, a
    # script inflating a count does too. Beyond it a guest's like is refused (`like_limit`).
    LIKE_GUESTS_PER_ADDRESS = int(os.environ.get("LIKE_GUESTS_PER_ADDRESS", "3"))
    # Reports, per address (and per signed-in reader): a few a day is what readers send.
    RATELIMIT_REPORT = os.environ.get("RATELIMIT_REPORT", "10 per hour")
    # Guests' reports of one comment from one address. Reports can take a comment down (the
    # site's threshold), so a script making up browser ids counts once per address.
    REPORT_GUESTS_PER_ADDRESS = int(os.environ.get("REPORT_GUESTS_PER_ADDRESS", "1"))
    # Links mailed to guests for their data: per address and per email, so nobody floods a
    # mailbox with them.
    RATELIMIT_PRIVACY = os.environ.get("RATELIMIT_PRIVACY", "3 per hour")
    # Mail that anyone can make us send to an address not proven theirs (subscription
    # confirmations, links to a guest's data), per recipient and per kind: beyond it the
    # request answers as always and no mail is queued, so it cannot flood a stranger's mailbox.
    RATELIMIT_RECIPIENT = os.environ.get("RATELIMIT_RECIPIENT", "3 per hour;10 per day")
    # Sign-in links mailed: per address (whoever asks), and per requesting address. A refusal
    # says so (429): the reader waits for the link already sent.
    RATELIMIT_EMAIL_LOGIN = os.environ.get("RATELIMIT_EMAIL_LOGIN", "3 per 10 minutes;10 per day")
    RATELIMIT_EMAIL_LOGIN_IP = os.environ.get("RATELIMIT_EMAIL_LOGIN_IP", "10 per hour")
    # Failed dashboard sign-ins allowed per address and per email before a lockout.
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "5 per 15 minutes")

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = PUBLIC_URL.startswith("https://")
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    JSON_SORT_KEYS = False

    @classmethod
    def init_app(cls, app) -> None:  # noqa: ANN001 - Flask app, kept import-free
        """Settings that depend on others; nothing here touches the database."""
        uri = app.config["SQLALCHEMY_DATABASE_URI"]
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(
            uri, app.config["SQLALCHEMY_ENGINE_OPTIONS"]
        )
        if uri == _default_database_uri():
            # SQLite creates the file but not its directory: the first `flask db upgrade` of
            # a fresh install would fail without it.
            INSTANCE_DIR.mkdir(parents=True, exist_ok=True)


def engine_options(uri: str, base: dict) -> dict:
    """Fail fast instead of hanging when the database is away or stuck.

    A request waits at most a few seconds for a connection or a statement, then answers 503,
    so workers never pile up behind a restarting PostgreSQL.
    """
    options = {"pool_pre_ping": True, **base}
    if uri.startswith("postgresql"):
        options.setdefault("pool_timeout", 5)
        options.setdefault(
            "connect_args", {"connect_timeout": 5, "options": "-c statement_timeout=15000"}
        )
    return options


class DevelopmentConfig(Config):
    DEBUG = False  # the reloader is `flask run --debug`'s business, not ours
    # Unless PUBLIC_URL is set, links and snippets follow the address `make run` serves on.
    PUBLIC_URL = _development_public_url()
    SESSION_COOKIE_SECURE = REMEMBER_COOKIE_SECURE = PUBLIC_URL.startswith("https://")
    DEMO = _flag("DEMO", "1")
    MAIL_SEND_AFTER_REQUEST = True
    WEBHOOK_ALLOW_LOOPBACK = _flag("WEBHOOK_ALLOW_LOOPBACK", "1")

    @classmethod
    def init_app(cls, app) -> None:  # noqa: ANN001
        super().init_app(app)
        if not app.config.get("SECRET_KEY"):
            app.config["SECRET_KEY"] = _dev_secret_key()


class ProductionConfig(Config):
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "json")

    @classmethod
    def init_app(cls, app) -> None:  # noqa: ANN001
        super().init_app(app)
        key = app.config.get("SECRET_KEY")
        if not key:
            raise RuntimeError(
                "SECRET_KEY must be set in production (AFTERWORD_ENV=production). "
                f"Make one with: {HOW_TO_MAKE_A_KEY}"
            )
        if reason := weak_secret_key(key):
            raise RuntimeError(
                f"SECRET_KEY is too weak for production: {reason}. "
                f"Make one with: {HOW_TO_MAKE_A_KEY}"
            )
        if app.config.get("DEV_LOGIN"):
            # The Dev provider signs anyone in under any name they type.
            raise RuntimeError(
                "DEV_LOGIN must be off in production: it lets anyone sign in as anyone."
            )
        if app.config.get("MASTODON_ALLOW_LOOPBACK"):
            raise RuntimeError(
                "MASTODON_ALLOW_LOOPBACK must be off in production: it lets readers make the "
                "service send requests to its own machine."
            )
        if app.config.get("WEBHOOK_ALLOW_LOOPBACK"):
            raise RuntimeError(
                "WEBHOOK_ALLOW_LOOPBACK must be off in production: it lets a moderator make the "
                "service send requests to its own machine."
            )


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret-key-not-for-production"  # noqa: S105
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    SQLALCHEMY_RECORD_QUERIES = True
    PUBLIC_URL = DEFAULT_PUBLIC_URL
    DEMO = True  # the demo pages have tests; tests/test_demo.py turns it off
    DEV_LOGIN = False
    # Tests list the providers they configure; those about email sign-in turn it on.
    EMAIL_LOGIN = False
    SESSION_COOKIE_SECURE = False
    # Tests post far faster than people; the limits have tests of their own.
    RATELIMIT_POST = "10000 per minute"
    RATELIMIT_READ = "10000 per minute"
    RATELIMIT_LOGIN = "10000 per minute"
    RATELIMIT_LIKE = "10000 per minute"
    RATELIMIT_REPORT = "10000 per minute"
    COMMENT_MIN_FILL_MS = 0  # browser tests type faster than people; tests/test_spam.py sets it
    # With REDIS_URL set (as in CI), tests use Redis too; each test app gets its own key
    # prefixes (tests/conftest.py) so that tests never see each other's entries.
    # Tests post forms with real tokens; a test that wants them off says so.
    WTF_CSRF_ENABLED = True
    WEBHOOK_ALLOW_LOOPBACK = True  # tests' receivers listen on 127.0.0.1


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "production": ProductionConfig,
    "testing": TestingConfig,
}


def config_from_env() -> type[Config]:
    """The class named by AFTERWORD_ENV (development, production, testing)."""
    name = os.environ.get("AFTERWORD_ENV", "development")
    try:
        return CONFIGS[name]
    except KeyError:
        raise RuntimeError(f"AFTERWORD_ENV must be one of {', '.join(CONFIGS)}") from None
