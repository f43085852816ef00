"""Afterword's `flask` commands; docs/cli.md describes each one."""

from __future__ import annotations

import shutil
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app.demo.routes import POSTS
from app.demo.seed import seed_demo_thread
from app.domain.errors import DomainError, ImportFormatError
from app.domain.roles import ROLES, Role
from app.domain.states import ModerationMode
from app.models import Site
from app.services import importing, links, moderators, retention, sites, transfer, webhooks
from app.services import mail as outbox
from app.services.sites import embed_snippet
from config import remember_served_url, served_url

site_cli = AppGroup("site", help="Create and list the sites that embed Afterword.")
moderator_cli = AppGroup("moderator", help="Manage moderator accounts.")


@site_cli.command("create")
@click.option("--name", required=True, help="A name for the site, shown to moderators.")
@click.option(
    "--origin",
    "origins",
    multiple=True,
    required=True,
    help="An origin allowed to embed the comments, e.g. https://blog.example (repeatable).",
)
@click.option(
    "--moderation",
    type=click.Choice([m.value for m in ModerationMode]),
    default=ModerationMode.ALL.value,
    show_default=True,
    help=(
        "all: every comment waits; first-time: signed-in readers with an approved comment "
        "skip the queue; none: no queue."
    ),
)
def create_site(name: str, origins: tuple[str, ...], moderation: str) -> None:
    """Create a site and print its id and embed snippet."""
    try:
        site = sites.create_site(name=name, origins=origins, moderation=ModerationMode(moderation))
    except DomainError as err:
        raise click.UsageError(err.message) from None
    click.echo(f"Site id: {site.id}")
    click.echo("Paste this where the comments should appear:\n")
    click.echo(embed_snippet(site.id))


@site_cli.command("list")
def list_sites() -> None:
    """List every site with its id, moderation mode and origins."""
    all_sites = sites.list_sites()
    if not all_sites:
        click.echo("No sites yet. Create one with: flask site create --name NAME --origin URL")
        return
    for site in all_sites:
        click.echo(f"{site.id}  {site.name}  moderation={site.moderation.value}")
        for origin in site.origins:
            click.echo(f"    {origin}")


@site_cli.command("update")
@click.argument("site_id")
@click.option("--name", help="A new name.")
@click.option("--add-origin", "add", multiple=True, help="An origin to allow (repeatable).")
@click.option("--remove-origin", "remove", multiple=True, help="An origin to drop (repeatable).")
@click.option("--moderation", type=click.Choice([m.value for m in ModerationMode]))
def update_site(
    site_id: str,
    name: str | None,
    add: tuple[str, ...],
    remove: tuple[str, ...],
    moderation: str | None,
) -> None:
    """Rename a site, allow or drop origins, or change how it is moderated."""
    try:
        site = sites.change_site(
            site_id,
            name=name,
            add_origins=add,
            remove_origins=remove,
            moderation=ModerationMode(moderation) if moderation else None,
        )
    except DomainError as err:
        raise click.UsageError(err.message) from None
    click.echo(f"{site.id}  {site.name}  moderation={site.moderation.value}")
    for origin in site.origins:
        click.echo(f"    {origin}")


@site_cli.command("delete")
@click.argument("site_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def delete_site(site_id: str, yes: bool) -> None:
    """Delete a site with all its threads and comments."""
    try:
        site = sites.get_site(site_id)
    except DomainError as err:
        raise click.UsageError(err.message) from None
    if not yes:
        click.confirm(
            f"Delete {site.name} ({site.id}) with all its comments? This cannot be undone",
            abort=True,
        )
    removed = sites.delete_site(site_id)
    click.echo(f"Deleted {site_id} and its {removed} comment(s).")


@moderator_cli.command("create")
@click.argument("email")
@click.option("--site", "site_ids", multiple=True, help="A site id (repeatable); default: all.")
@click.option("--password", help="Prompted for, hidden, when not given.")
def create_moderator(email: str, site_ids: tuple[str, ...], password: str | None) -> None:
    """Create a moderator who signs in to the dashboard with EMAIL and a password, an owner
    of the sites named (of every site without --site)."""
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        moderator = moderators.create_moderator(email, password, site_ids=list(site_ids))
    except DomainError as err:
        raise click.UsageError(err.message) from None
    scope = "every site" if moderator.all_sites else ", ".join(site_ids)
    click.echo(f"Moderator {moderator.email} owns {scope}.")


@moderator_cli.command("set-password")
@click.argument("email")
@click.option("--password", help="Prompted for, hidden, when not given.")
def set_moderator_password(email: str, password: str | None) -> None:
    """Give the moderator with EMAIL a new password; their sessions everywhere end."""
    try:
        moderator = moderators.find_by_email(email)
        if password is None:
            password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
        moderators.set_password(moderator, password)
    except DomainError as err:
        raise click.UsageError(err.message) from None
    click.echo(f"Moderator {moderator.email} has a new password and is signed out everywhere.")


@moderator_cli.command("list")
def list_moderators() -> None:
    """List moderators with the sites they moderate and their role on each."""
    rows = moderators.list_moderators()
    if not rows:
        click.echo("No moderators yet. Create one with: flask moderator create EMAIL")
    for moderator, grants in rows:
        named = ", ".join(f"{site_id} ({role})" for site_id, role in grants)
        scope = "every site (owner)" if moderator.all_sites else named or "no site"
        click.echo(f"{moderator.email}  {scope}")


@moderator_cli.command("remove")
@click.argument("email")
def remove_moderator(email: str) -> None:
    """Delete the moderator with EMAIL; their sessions end at once."""
    try:
        moderators.remove_moderator(email)
    except DomainError as err:
        raise click.UsageError(err.message) from None
    click.echo(f"Moderator {email} removed.")


@moderator_cli.command("add-site")
@click.argument("email")
@click.argument("site_id")
@click.option(
    "--role",
    type=click.Choice(ROLES),
    default=Role.OWNER.value,
    show_default=True,
    help="owner: settings, moderators, export; moderator: the queue.",
)
def add_moderator_site(email: str, site_id: str, role: str) -> None:
    """Let the moderator with EMAIL moderate SITE_ID too, as ROLE (on a site they have
    already, their role there becomes ROLE)."""
    try:
        moderator = moderators.add_site(email, site_id, Role(role))
    except DomainError as err:
        raise click.UsageError(err.message) from None
    if moderator.all_sites:
        click.echo(f"Moderator {moderator.email} already owns every site.")
    else:
        click.echo(f"Moderator {moderator.email} is {role} of {site_id}.")


@click.command("demo", hidden=True)
@click.option("--host", help="The host `flask run` is about to serve on (with --port).")
@click.option("--port", type=int, help="Its port: remembered, so PUBLIC_URL follows it.")
def demo(host: str | None, port: int | None) -> None:
    """Make sure the site `demo`, allowed on this service's own origin, exists, with a few
    comments under its post; say where to go next."""
    public_url = links.public_base()
    if port is not None:
        # This process read its config before the address was known: use the one the
        # server is about to read (config.py), and leave it for commands typed meanwhile.
        public_url = remember_served_url(served_url(host or "127.0.0.1", port))
    site = sites.ensure_site(name="demo", origin=public_url)
    # The same local server is reached as 127.0.0.1 or localhost; both are its own origin.
    if "://127.0.0.1" in public_url:
        site = sites.ensure_site(name="demo", origin=public_url.replace("127.0.0.1", "localhost"))
    seed_demo_thread(site, f"{public_url}/", POSTS[0].title)
    click.echo(f"Demo site {site.id} on {', '.join(site.origins)}")
    click.echo(f"\nThe demo post: {public_url}/")
    click.echo("To moderate its comments, create an account (any email will do):")
    click.echo(f"    {_flask_command()} moderator create you@example.com")
    click.echo(f"then sign in at {public_url}/dashboard/\n")


def _flask_command() -> str:
    """How to type `flask` here: the venv's own when it is not on PATH (`make run`)."""
    here = Path(sys.executable).parent / "flask"
    if shutil.which("flask") == str(here) or not here.exists():
        return "flask"
    try:
        return str(here.relative_to(Path.cwd()))
    except ValueError:
        return str(here)


@click.command("prune")
def prune() -> None:
    """Drop address hashes, expired sign-ins, old sent mail and used deletion requests past
    their retention (cron-safe)."""
    report = retention.prune(
        address_days=current_app.config["COMMENT_ADDRESS_RETENTION_DAYS"],
        mail_days=current_app.config["MAIL_RETENTION_DAYS"],
    )
    click.echo(
        f"Dropped {report.address_hashes} address hash(es) and "
        f"{report.login_flows} expired sign-in(s)."
    )
    click.echo(f"Dropped {report.mail_messages} old message(s) from the outbox.")
    click.echo(f"Dropped {report.webhook_deliveries} old webhook delivery(ies).")
    click.echo(f"Dropped {report.signed_requests} used deletion request(s) too old to replay.")
    click.echo(f"Dropped {report.reply_requests} request(s) for reply mail that cannot be sent.")
    click.echo(f"Dropped {report.invitations} invitation(s) to moderate, accepted or expired.")


mail_cli = AppGroup("mail", help="Send the mail waiting in the outbox.")


@mail_cli.command("send-pending")
@click.option("--loop", type=int, default=0, help="Keep running, waking every N seconds.")
def send_pending(loop: int) -> None:
    """Send due mail (notifications, digests) and webhook deliveries; safe to run from cron."""
    while True:
        report = outbox.send_pending()
        if report.sent or report.failed or not loop:
            click.echo(_send_summary(report))
        # The same job sends webhooks: one timer or cron line for everything that waits.
        hooks = webhooks.send_pending()
        if hooks.sent or hooks.failed:
            click.echo(_webhook_summary(hooks))
        if not loop:
            return
        time.sleep(loop)


def _messages(count: int) -> str:
    return f"{count} message" if count == 1 else f"{count} messages"


def _webhook_summary(report: webhooks.SendReport) -> str:
    summary = f"Sent {report.sent} webhook {'delivery' if report.sent == 1 else 'deliveries'}"
    if report.failed:
        summary += f"; {report.failed} failed and will be retried"
    return summary + "."


def _send_summary(report: outbox.SendReport) -> str:
    if report.logged:
        # Say so plainly: "sent" would have a newcomer wait for mail that never leaves.
        return f"Logged {_messages(report.sent)} (MAIL_SERVER is unset, so nothing was sent)."
    summary = f"Sent {_messages(report.sent)}"
    if report.failed:
        summary += f"; {_messages(report.failed)} failed and will be retried"
    return summary + "."


@click.command("export")
@click.option("--site", "site_id", required=True, help="The site's id (see `flask site list`).")
@click.option("--output", type=click.Path(dir_okay=False, writable=True), help="Default: stdout.")
def export(site_id: str, output: str | None) -> None:
    """Write a site's threads and comments as Afterword JSON."""
    site = _site_or_fail(site_id)
    if output:
        with open(output, "w", encoding="utf-8") as out:
            total = transfer.export_site(site, out)
        click.echo(f"Exported {total} comment(s) to {output}.", err=True)
    else:
        total = transfer.export_site(site, sys.stdout)
        click.echo(f"Exported {total} comment(s).", err=True)


@click.command("import")
@click.argument(
    "source",
    type=click.Choice(
        [
            "wordpress",
            "disqus",
            "isso",
            "remark42",
            "commento",
            "comentario",
            "cusdis",
            "afterword",
        ]
    ),
)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--site", "site_id", required=True, help="The site to import into.")
@click.option(
    "--map-url",
    "map_url",
    multiple=True,
    metavar="OLD=NEW",
    callback=lambda _ctx, _param, values: tuple(_url_rule(v) for v in values),
    help="Replace the start OLD of page URLs with NEW before matching them to the site's "
    "origins, e.g. http://www.blog.example=https://blog.example (repeatable).",
)
@click.option(
    "--match-path",
    is_flag=True,
    help="Place pages on origins that are not the site's by their path, on the site's origins.",
)
@click.option(
    "--project",
    metavar="ID",
    help="cusdis: the Cusdis project to import, when the database holds several.",
)
def import_comments(
    source: str,
    file: Path,
    site_id: str,
    map_url: tuple[tuple[str, str], ...],
    match_path: bool,
    project: str | None,
) -> None:
    """Import a WordPress WXR, a Disqus XML, an Isso database, a Remark42 backup, a Commento
    or Comentario export, a Cusdis database or an Afterword export.

    Safe to run again: comments already imported are skipped. Nothing is stored unless the
    whole file reads cleanly.
    """
    if project is not None and source != "cusdis":
        raise click.UsageError("--project is for cusdis only.")
    site = _site_or_fail(site_id)
    skipped: Counter[str] = Counter()
    repaired: Counter[str] = Counter()
    rules = importing.UrlRules(map_url=map_url, match_path=match_path)
    try:
        parse, total = _parser(source, file, site, skipped, repaired, project)
        if sys.stderr.isatty():
            with click.progressbar(length=total, label="Importing", file=sys.stderr) as bar:
                summary = importing.import_threads(site, parse(), progress=bar.update, urls=rules)
        else:  # cron, CI: a bar redrawn in place would be noise, so a line now and then
            summary = importing.import_threads(site, parse(), progress=_Percent(total), urls=rules)
    except importing.PagesElsewhere as err:
        origins = sorted(err.origins)
        add = " ".join(f"--add-origin {origin}" for origin in origins)
        raise click.ClickException(
            f"{file}: {err.message.rstrip('.')}. Either give --map-url OLD=NEW to move them "
            f"onto the site's origins (e.g. --map-url {origins[0]}={site.origins[0]}), or add "
            f"them with `flask site update {site.id} {add}` (dashboard settings). "
            "Nothing was imported."
        ) from None
    except ImportFormatError as err:
        message = err.message.rstrip(".")
        raise click.ClickException(f"{file}: {message}. Nothing was imported.") from None
    statuses = ", ".join(f"{n} {s}" for s, n in sorted(summary.by_status.items())) or "none"
    click.echo(
        f"Threads created: {summary.threads_created}. Comments added: {summary.comments_added} "
        f"({statuses}); already there: {summary.comments_skipped}."
    )
    repaired.update(summary.repaired)
    if skipped:
        click.echo("Left out: " + ", ".join(f"{n} {why}" for why, n in sorted(skipped.items())))
    if repaired:
        click.echo("Repaired: " + ", ".join(f"{n} {why}" for why, n in sorted(repaired.items())))


def _url_rule(value: str) -> tuple[str, str]:
    try:
        return importing.url_rule(value)
    except ValueError as err:
        raise click.BadParameter(f"{value!r}: {err}", param_hint="--map-url") from None


class _Percent:
    """Progress for a log: "Importing: 10%" each time another tenth is done."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.said = 0

    def __call__(self, n: int) -> None:
        self.done += n
        tenths = min(10, self.done * 10 // self.total) if self.total else 10
        if tenths > self.said:
            self.said = tenths
            click.echo(f"Importing: {tenths * 10}%", err=True)


def _parser(  # noqa: ANN202
    source: str,
    file: Path,
    site: Site,
    skipped: Counter[str],
    repaired: Counter[str],
    project: str | None,
):
    if source == "afterword":
        threads = list(transfer.parse(file))
        return (lambda: iter(threads)), sum(len(t.comments) for t in threads)
    from app.services.importers import PARSERS

    module = PARSERS[source]
    kwargs: dict = {"skipped": skipped}
    if source in {"wordpress", "disqus"}:
        kwargs["repaired"] = repaired
    # Paths, without a domain: on the site's first origin.
    if source in {"isso", "commento", "comentario", "cusdis"}:
        kwargs["base_url"] = site.origins[0]
    if source == "cusdis":
        return (lambda: module.parse(file, project=project, **kwargs)), module.count(
            file, project=project
        )
    return (lambda: module.parse(file, **kwargs)), module.count(file)


def _site_or_fail(site_id: str) -> Site:
    try:
        return sites.get_site(site_id)
    except DomainError as err:
        raise click.UsageError(f"{err.message} (see `flask site list`)") from None


# Addresses a provider asks for besides the callback, by provider: (label, endpoint).
_PROVIDER_EXTRA_URLS: dict[str, tuple[tuple[str, str], ...]] = {
    "facebook": (("data-deletion URL", "auth.facebook_data_deletion"),),
}
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


@click.command("providers")
def providers() -> None:
    """Show which sign-in providers are set up, and the URLs to register with each one."""
    from app.auth.authorization import callback_url
    from app.auth.providers import DEV_PROVIDER, EMAIL_PROVIDER, MASTODON_PROVIDER, all_providers

    config = current_app.config
    click.echo(f"PUBLIC_URL is {links.public_base()}")
    for spec in all_providers(config):
        missing = [key for key in spec.required_keys() if not config.get(key)]
        state = "configured" if not missing else "not configured, set " + _and(missing)
        click.echo(f"\n{spec.label} ({spec.name}): {state}")
        click.echo(f"    callback URL: {callback_url(spec.name)}")
        for label, endpoint in _PROVIDER_EXTRA_URLS.get(spec.name, ()):
            click.echo(f"    {label}: {links.public_url(endpoint)}")
    click.echo(f"\n{MASTODON_PROVIDER.label} ({MASTODON_PROVIDER.name}): {_mastodon_state()}")
    click.echo(f"    callback URL: {callback_url(MASTODON_PROVIDER.name)}")
    click.echo("    nothing to register: the app registers itself on each server at its first use")
    mailed = "on" if config.get("EMAIL_LOGIN") else "off (EMAIL_LOGIN=0)"
    how = "sent by MAIL_SERVER" if config.get("MAIL_SERVER") else "logged: MAIL_SERVER is unset"
    click.echo(f"\n{EMAIL_PROVIDER.label} ({EMAIL_PROVIDER.name}): {mailed}")
    if config.get("EMAIL_LOGIN"):
        click.echo(f"    sign-in links are {how}")
    dev = "on (DEV_LOGIN=1)" if config.get("DEV_LOGIN") else "off"
    click.echo(f"\n{DEV_PROVIDER.label} ({DEV_PROVIDER.name}): {dev}")
    base = urlsplit(links.public_base())
    if base.scheme != "https" and base.hostname not in _LOOPBACK_HOSTS:
        # The providers refuse plain-http redirect URIs on a public host.
        click.echo("\nWarning: PUBLIC_URL is not https; providers will refuse these URLs.")
    click.echo("\nHow to create each app: docs/providers.md")


def _mastodon_state() -> str:
    from app.domain.mastodon_servers import BadServerName, parse_server

    config = current_app.config
    if not config.get("MASTODON_LOGIN"):
        return "off (set MASTODON_LOGIN=1)"
    listed = [name.strip() for name in (config.get("MASTODON_SERVERS") or "").split(",")]
    hosts, bad = set(), []
    for name in filter(None, listed):
        try:
            hosts.add(parse_server(name).host)
        except BadServerName:
            bad.append(name)
    state = f"on, only {', '.join(sorted(hosts))}" if hosts else "on, any server"
    if bad:
        state += f" (MASTODON_SERVERS: not a host name, ignored: {', '.join(bad)})"
    return state


def init_app(app: Flask) -> None:
    app.cli.add_command(site_cli)
    app.cli.add_command(moderator_cli)
    app.cli.add_command(demo)
    app.cli.add_command(prune)
    app.cli.add_command(mail_cli)
    app.cli.add_command(export)
    app.cli.add_command(import_comments)
    app.cli.add_command(providers)
