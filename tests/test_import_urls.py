"""Old addresses still find their threads: `--map-url`, `--match-path`, http and https."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Comment, Thread
from app.services.importing import (
    ImportedComment,
    ImportedThread,
    PagesElsewhere,
    UrlRules,
    import_threads,
    url_rule,
)
from tests.factories import make_comment, make_site
from tests.helpers import IMPORT_DATA

WHEN = datetime(2020, 5, 1, 12, 0, tzinfo=UTC)
BRULEE = "https://blog.example/2019/04/creme-brulee/"
ABOUT = "https://blog.example/about/"


def moved(tmp_path: Path, *replacements: tuple[str, str]) -> Path:
    """The sample WXR with its links written as `replacements` say."""
    text = (IMPORT_DATA / "wordpress.xml").read_text(encoding="utf-8")
    for old, new in replacements:
        text = text.replace(old, new)
    path = tmp_path / "moved.xml"
    path.write_text(text, encoding="utf-8")
    return path


def thread_urls(site_id: str) -> set[str]:
    return set(db.session.scalars(select(Thread.url).where(Thread.site_id == site_id)))


def page(url: str, key: str) -> ImportedThread:
    comment = ImportedComment(key=key, parent_key=None, name="Zoë", body=key, created_at=WHEN)
    return ImportedThread(url=url, comments=[comment])


def test_map_url_moves_an_old_address_onto_the_site(runner, site, tmp_path):
    wxr = moved(tmp_path, ("https://blog.example", "http://www.blog.example"))
    args = ["import", "wordpress", str(wxr), "--site", site.id]
    result = runner.invoke(
        args=[*args, "--map-url", "http://WWW.blog.example=https://blog.example"]
    )
    assert result.exit_code == 0, result.output
    assert thread_urls(site.id) == {BRULEE, ABOUT}
    assert all(url.startswith("https://blog.example/") for url in thread_urls(site.id))


def test_map_url_takes_the_first_rule_that_matches_a_whole_segment(app):
    site = make_site(origins=["https://blog.example", "https://cook.example"])
    rules = UrlRules(
        map_url=(
            url_rule("https://old.example/recipes=https://cook.example"),
            url_rule("https://old.example=https://blog.example"),
        )
    )
    import_threads(
        site,
        [
            page("https://old.example/recipes/bread/", "a"),
            page("https://old.example/recipes-menu/", "b"),
            page("https://old.example/about/", "c"),
        ],
        urls=rules,
    )
    assert thread_urls(site.id) == {
        "https://cook.example/bread/",
        "https://blog.example/recipes-menu/",
        "https://blog.example/about/",
    }


def test_a_map_url_that_is_not_old_equals_new_is_a_usage_error(runner, site):
    wxr = IMPORT_DATA / "wordpress.xml"
    args = ["import", "wordpress", str(wxr), "--site", site.id, "--map-url", "blog.example"]
    result = runner.invoke(args=args)
    assert result.exit_code == 2 and "--map-url" in result.output and "OLD=NEW" in result.output


def test_pages_elsewhere_are_listed_with_both_ways_out(runner, site, tmp_path):
    wxr = moved(
        tmp_path,
        ("https://blog.example/2019/04/", "http://old.example/2019/04/"),
        ("https://blog.example/about/", "https://www.blog.example/about/"),
    )
    result = runner.invoke(args=["import", "wordpress", str(wxr), "--site", site.id])
    assert result.exit_code == 1
    out = " ".join(result.output.split())
    assert "not on one of the site's origins (https://blog.example)" in out
    assert "2 pages are not" in out
    assert "pages on http://old.example (1 page), https://www.blog.example (1 page)" in out
    assert (
        f"flask site update {site.id} --add-origin http://old.example "
        "--add-origin https://www.blog.example" in out
    )
    assert "--map-url OLD=NEW" in out and "--map-url http://old.example=https://blog.example" in out
    assert out.endswith("Nothing was imported.")
    assert db.session.scalar(select(func.count(Comment.id))) == 0
    assert thread_urls(site.id) == set()


def test_match_path_places_pages_by_path_where_their_thread_is(runner, tmp_path):
    site = make_site(origins=["https://blog.example", "https://news.example"])
    make_comment(site, url="https://news.example/about/", body="Written here")
    wxr = moved(tmp_path, ("https://blog.example", "https://old.example"))
    args = ["import", "wordpress", str(wxr), "--site", site.id]
    assert runner.invoke(args=args).exit_code == 1
    result = runner.invoke(args=[*args, "--match-path"])
    assert result.exit_code == 0, result.output
    urls = thread_urls(site.id)
    assert urls == {BRULEE, "https://news.example/about/"}
    on_about = select(func.count(Comment.id)).join(Thread)
    assert db.session.scalar(on_about.where(Thread.url == "https://news.example/about/")) == 2


@pytest.mark.parametrize(
    "origins",
    [["https://blog.example"], ["https://blog.example", "http://blog.example"]],
)
def test_one_post_under_http_and_https_is_one_thread(app, origins):
    site = make_site(origins=origins)
    summary = import_threads(
        site, [page("http://blog.example/post/", "a"), page("https://blog.example/post/", "b")]
    )
    assert summary.threads_created == 1 and summary.comments_added == 2
    assert thread_urls(site.id) == {"https://blog.example/post/"}


def test_an_http_thread_already_there_takes_the_https_pages_too(app):
    site = make_site(origins=["https://blog.example", "http://blog.example"])
    make_comment(site, url="http://blog.example/post/", body="Written over http")
    import_threads(site, [page("https://blog.example/post/", "a")])
    assert thread_urls(site.id) == {"http://blog.example/post/"}


def test_the_service_names_every_origin_elsewhere(app):
    site = make_site()
    with pytest.raises(PagesElsewhere) as caught:
        import_threads(
            site,
            [
                page("https://a.example/1", "a"),
                page("https://blog.example/ok", "b"),
                page("https://b.example/2", "c"),
                page("https://a.example/3", "d"),
            ],
        )
    assert dict(caught.value.origins) == {"https://a.example": 2, "https://b.example": 1}
    assert db.session.scalar(select(func.count(Thread.id))) == 0
