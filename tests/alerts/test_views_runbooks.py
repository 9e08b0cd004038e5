"""The runbook wiki: shipped pages linked to the default rules, search, Markdown rendered and
sanitised, edits with preview and a revision each, history with diffs, links from rules,
sources and alerts."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client

from alerts.models import AlertRule, Runbook, RunbookRevision
from alerts.runbooks import wiki
from alerts.runbooks.defaults import DEFAULT_RUNBOOKS, create_default_runbooks
from confops.accounts.models import AuditEntry
from tests.alerts import factories as f
from tests.alerts.incidents import incident

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


# Shipped pages


def test_the_default_rules_link_to_shipped_runbooks() -> None:
    linked = dict(AlertRule.objects.values_list("name", "runbook__slug"))
    assert linked["Run failed"] == "scraper-failure"
    assert linked["Consecutive failures"] == "scraper-failure"
    assert linked["Stale (no success when expected)"] == "stale-source"
    assert linked["Volume drop"] == "volume-drop"
    assert linked["Asset check ERROR"] == "asset-check-failed"
    assert linked["Deployment unreachable"] == "deployment-unreachable"


EXAMPLE_WORDS = ("confradar", "elra", "wikicfp", "crawl_job", "store_conferences")


def test_shipped_runbooks_are_generic_dagster_pages() -> None:
    for default in DEFAULT_RUNBOOKS:
        page = Runbook.objects.get(slug=default.slug)
        text = f"{page.title}\n{page.body}".lower().replace("/runbooks/scraper-failure/", "")
        assert [word for word in (*EXAMPLE_WORDS, "scraper") if word in text] == [], default.slug
    failure = Runbook.objects.get(slug="scraper-failure")
    assert "Re-execute" in failure.body and "Dagster UI" in failure.body
    assert "outside any step" in failure.body and "Theirs or ours" in failure.body
    assert "freshness policy" in Runbook.objects.get(slug="stale-source").body
    assert failure.revisions.get().summary == "Shipped with confops"


def test_a_page_still_as_shipped_follows_the_shipped_text() -> None:
    page = Runbook.objects.get(slug="stale-source")
    RunbookRevision.objects.filter(runbook=page).update(body="old example text")
    Runbook.objects.filter(pk=page.pk).update(body="old example text")
    assert create_default_runbooks() == []
    page.refresh_from_db()
    assert "freshness policy" in page.body and page.revisions.count() == 2


def test_the_code_location_and_daemon_rules_link_the_control_plane_page() -> None:
    linked = dict(AlertRule.objects.values_list("name", "runbook__slug"))
    assert linked["Code location or daemon unhealthy"] == "dagster-control-plane"
    assert linked["Schedule or sensor tick failed"] == "dagster-control-plane"


def test_the_default_control_plane_rules_link_the_control_plane_page_which_names_them() -> None:
    linked = dict(AlertRule.objects.values_list("name", "runbook__slug"))
    body = Runbook.objects.get(slug="dagster-control-plane").body
    for name in (
        "Schedule or sensor stopped",
        "Queued runs not starting",
        "Runs stuck starting or canceling",
    ):
        assert linked[name] == "dagster-control-plane", name
        assert name in body, name


def test_loading_the_shipped_runbooks_again_changes_nothing() -> None:
    page = Runbook.objects.get(slug="scraper-failure")
    wiki.save_page(
        slug=page.slug, title=page.title, body="our own text", author=None, now=page.updated_at
    )
    rule = AlertRule.objects.get(name="Run failed")
    own = wiki.save_page(slug="ours", title="Ours", body="x", author=None, now=page.updated_at)
    rule.runbook = own
    rule.save()
    assert create_default_runbooks() == []
    assert Runbook.objects.get(slug="scraper-failure").body == "our own text"
    assert AlertRule.objects.get(name="Run failed").runbook == own
    assert Runbook.objects.count() == len(DEFAULT_RUNBOOKS) + 1


def test_a_deleted_shipped_runbook_comes_back() -> None:
    Runbook.objects.filter(slug="volume-drop").delete()
    assert create_default_runbooks() == ["volume-drop"]
    assert AlertRule.objects.get(name="Volume drop").runbook.slug == "volume-drop"


# List and search


def test_the_list_shows_every_page_and_searches_titles_and_text(viewer_user_client: Client) -> None:
    html = viewer_user_client.get("/runbooks/").content.decode()
    for default in DEFAULT_RUNBOOKS:
        assert default.title in html
    found = viewer_user_client.get("/runbooks/", {"q": "Retry-After"}).content.decode()
    assert "Run failure" in found and "Volume drop" not in found
    none = viewer_user_client.get("/runbooks/", {"q": "kubernetes"}).content.decode()
    assert "No page mentions" in none


def test_search_as_you_type_gets_only_the_results(viewer_user_client: Client) -> None:
    response = viewer_user_client.get("/runbooks/", {"q": "stale"}, headers=HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="runbook-results">') and "<html" not in html
    assert "Stale source" in html


# A page and its links


def test_a_page_renders_markdown_and_lists_what_links_to_it(viewer_user_client: Client) -> None:
    dep = f.deployment()
    src = f.source("elra_conferences", dep, runbook_slug="scraper-failure")
    alert = incident("Run failed", src, summary="elra failed: HTTP 503")
    html = viewer_user_client.get("/runbooks/scraper-failure/").content.decode()
    assert "<h2>1. Read the error</h2>" in html and "<table>" in html
    assert "Run failed" in html and "Consecutive failures" in html
    assert "elra_conferences" in html
    assert f"/alerts/{alert.pk}/" in html and "elra failed: HTTP 503" in html
    assert "Edit" not in html.split('id="runbook-content"')[0].split("<h1>")[1]


def test_an_operator_gets_an_edit_button(operator_client: Client) -> None:
    html = operator_client.get("/runbooks/scraper-failure/").content.decode()
    assert 'href="/runbooks/scraper-failure/edit/"' in html


def test_a_page_nobody_wrote_is_a_404_offering_to_write_it(operator_client: Client) -> None:
    response = operator_client.get("/runbooks/elra-specials/")
    assert response.status_code == 404
    assert "/runbooks/new/?slug=elra-specials" in response.content.decode()


# Sanitising


class Elements(HTMLParser):
    """Every tag and attribute of a piece of HTML, to judge what a browser would act on."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += [(name, value or "") for name, value in attrs]


def what_could_run(html: str) -> list[str]:
    """Script-like elements, event handlers, and URLs with a scheme that is not web or mail."""
    found = Elements(html)
    bad = [
        t
        for t in found.tags
        if t
        in {
            "script",
            "style",
            "iframe",
            "object",
            "embed",
            "svg",
            "math",
            "form",
            "input",
            "base",
            "meta",
            "link",
        }
    ]
    bad += [name for name, _ in found.attributes if name.startswith("on") or name == "style"]
    for name, value in found.attributes:
        scheme = value.strip().split(":", 1)[0].lower() if ":" in value else ""
        if name in {"href", "src", "action", "formaction"} and scheme not in {
            "",
            "http",
            "https",
            "mailto",
        }:
            bad.append(f"{name}={value}")
    return bad


ATTACKS = [
    "<script>alert('x')</script>",
    '<img src="x.png" onerror="alert(1)">',
    "<img src=x onerror=alert(1)//>",
    '<a href="#" onclick="steal()">x</a>',
    "[click](javascript:alert(1))",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href=" javascript:alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    "![img](data:image/png;base64,iVBORw0KGgo=)",
    '<img src="data:image/svg+xml;base64,PHN2Zz4=">',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<iframe src="https://evil.example"></iframe>',
    "<style>body{display:none}</style>",
    '<svg onload="alert(1)"><circle/></svg>',
    '<form action="https://evil.example"><input name="p"></form>',
    '<p style="position:fixed">x</p>',
    '<details open ontoggle="alert(1)"><summary>x</summary></details>',
]


@pytest.mark.parametrize("markdown", ATTACKS)
def test_rendering_removes_anything_that_could_run(markdown: str) -> None:
    html = str(wiki.render_markdown(markdown))
    assert what_could_run(html) == [], html
    assert "<script" not in html and "alert('x')" not in html  # a script's text goes too


def test_the_checker_itself_sees_an_attack() -> None:
    assert what_could_run('<a href="javascript:x" onclick="y">z</a><script></script>') == [
        "script",
        "onclick",
        "href=javascript:x",
    ]


def test_rendering_keeps_what_a_runbook_needs() -> None:
    html = str(
        wiki.render_markdown(
            "# Title\n\n1. step `code`\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
            "[other](/runbooks/volume-drop/) [site](https://www.elra.info/) "
            "[mail](mailto:ops@example.com)\n\n<details><summary>more</summary>hidden</details>"
        )
    )
    assert "<h1>Title</h1>" in html and "<code>code</code>" in html and "<td>1</td>" in html
    assert 'href="/runbooks/volume-drop/"' in html and 'href="https://www.elra.info/"' in html
    assert 'href="mailto:ops@example.com"' in html and "noopener" in html
    assert "<details><summary>more</summary>" in html


def test_a_saved_page_with_a_script_renders_inert(operator_client: Client) -> None:
    body = (
        "Hello <script>alert('xss')</script> <img src=x onerror=alert(2)> [x](javascript:alert(3))"
    )
    operator_client.post(
        "/runbooks/scraper-failure/edit/",
        {"title": "Scraper failure", "body": body, "base_revision": "1"},
    )
    html = operator_client.get("/runbooks/scraper-failure/").content.decode()
    content = html.split('id="runbook-content">')[1].split("</article>")[0]
    assert "Hello" in content
    assert what_could_run(content) == [] and "<script" not in content


# Editing


def test_an_edit_saves_a_revision_with_author_and_summary(
    operator_client: Client, operator_user: Any
) -> None:
    response = operator_client.post(
        "/runbooks/scraper-failure/edit/",
        {
            "title": "Scraper failure",
            "body": "New text\n",
            "summary": "shorter",
            "base_revision": "1",
        },
    )
    assert response.status_code == 303 and response["Location"] == "/runbooks/scraper-failure/"
    page = Runbook.objects.get(slug="scraper-failure")
    assert page.body == "New text\n" and page.updated_by == operator_user
    latest = page.revisions.first()
    assert latest is not None
    assert (latest.number, latest.author, latest.summary) == (2, operator_user, "shorter")
    entry = AuditEntry.objects.get(action="changed", object_type="alerts.Runbook")
    assert entry.actor == operator_user and entry.changes["body"] == ["revision 1", "revision 2"]


def test_saving_unchanged_text_adds_no_revision(operator_client: Client) -> None:
    page = Runbook.objects.get(slug="volume-drop")
    operator_client.post(
        "/runbooks/volume-drop/edit/",
        {"title": page.title, "body": page.body, "base_revision": "1"},
    )
    assert page.revisions.count() == 1


def test_an_edit_over_a_newer_revision_is_refused_and_keeps_the_text(
    operator_client: Client,
) -> None:
    page = Runbook.objects.get(slug="stale-source")
    wiki.save_page(
        slug=page.slug, title=page.title, body="theirs", author=None, now=page.updated_at
    )
    response = operator_client.post(
        "/runbooks/stale-source/edit/",
        {"title": page.title, "body": "mine", "base_revision": "1"},
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert "Someone saved revision 2" in html and ">mine</textarea>" in html
    assert Runbook.objects.get(slug="stale-source").body == "theirs"


def test_an_operator_creates_a_page(operator_client: Client, operator_user: Any) -> None:
    response = operator_client.post(
        "/runbooks/new/", {"title": "ELRA specials", "slug": "elra-specials", "body": "Call Bob."}
    )
    assert response.status_code == 303
    page = Runbook.objects.get(slug="elra-specials")
    assert page.revisions.get().author == operator_user
    assert AuditEntry.objects.get(action="created", object_id=str(page.pk)).actor == operator_user


@pytest.mark.parametrize("slug", ["new", "preview", "scraper-failure", "not a slug"])
def test_a_page_address_must_be_free_and_valid(operator_client: Client, slug: str) -> None:
    response = operator_client.post("/runbooks/new/", {"title": "T", "slug": slug, "body": "b"})
    assert response.status_code == 422


def test_the_preview_renders_sanitised_markdown(operator_client: Client) -> None:
    response = operator_client.post(
        "/runbooks/preview/",
        {"body": "## Steps\n<script>alert(1)</script><img src=x onerror=alert(1)>"},
        headers=HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert "<h2>Steps</h2>" in html and "<script" not in html and "onerror" not in html


def test_the_edit_form_previews_as_you_type(operator_client: Client) -> None:
    html = operator_client.get("/runbooks/scraper-failure/edit/").content.decode()
    assert 'hx-post="/runbooks/preview/"' in html and 'name="base_revision" value="1"' in html


# History


def test_the_history_lists_revisions_with_author_and_time(
    operator_client: Client, viewer_user_client: Client
) -> None:
    operator_client.post(
        "/runbooks/volume-drop/edit/",
        {"title": "Volume drop", "body": "v2", "summary": "trim", "base_revision": "1"},
    )
    html = viewer_user_client.get("/runbooks/volume-drop/history/").content.decode()
    assert "#2" in html and "#1" in html and "otto-operator" in html and "trim" in html
    assert "confops" in html  # the shipped revision has no human author


def test_a_revision_shows_its_diff_escaped(
    operator_client: Client, viewer_user_client: Client
) -> None:
    page = Runbook.objects.get(slug="volume-drop")
    new_body = page.body.replace("## 1. Look at the numbers", "## 1. Look <b>closely</b>")
    operator_client.post(
        "/runbooks/volume-drop/edit/",
        {"title": "Volume drop", "body": new_body, "base_revision": "1"},
    )
    html = viewer_user_client.get("/runbooks/volume-drop/history/2/").content.decode()
    assert '<span class="diff-del">-## 1. Look at the numbers</span>' in html
    assert '<span class="diff-add">+## 1. Look &lt;b&gt;closely&lt;/b&gt;</span>' in html
    assert "Changes since revision 1" in html


def test_diff_lines_mark_additions_removals_and_hunks() -> None:
    lines = wiki.diff_lines("a\nb\nc\n", "a\nB\nc\nd\n")
    kinds = [(line.kind, line.text) for line in lines]
    assert ("del", "-b") in kinds and ("add", "+B") in kinds and ("add", "+d") in kinds
    assert kinds[0][0] == "hunk"


def test_an_unknown_revision_is_a_404(viewer_user_client: Client) -> None:
    assert viewer_user_client.get("/runbooks/volume-drop/history/9/").status_code == 404
    assert RunbookRevision.objects.filter(runbook__slug="volume-drop").count() == 1


def test_an_edit_in_the_django_admin_is_a_revision_with_its_author(
    admin_client: Any, admin_user: Any
) -> None:
    from alerts.models import Runbook

    runbook = Runbook.objects.create(slug="admin-edited", title="Admin edited", body="one")
    response = admin_client.post(
        f"/admin/alerts/runbook/{runbook.pk}/change/",
        {"title": "Admin edited", "body": "two"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    runbook.refresh_from_db()
    revision = runbook.revisions.get()
    assert (runbook.body, revision.body, revision.author) == ("two", "two", admin_user)


TRACKING_PIXELS = [
    "![pixel](https://tracker.example/p.gif?who=me)",
    '<img src="http://tracker.example/p.gif" alt="pixel">',
    '<img src="//tracker.example/p.gif" alt="pixel">',
    '<img src="/\\tracker.example/p.gif" alt="pixel">',
    '<img src="/&#9;/tracker.example/p.gif" alt="pixel">',
    '<img src=" HTTPS://tracker.example/p.gif" alt="pixel">',
]


@pytest.mark.parametrize("markdown", TRACKING_PIXELS)
def test_an_image_from_another_host_loses_its_source(markdown: str) -> None:
    html = str(wiki.render_markdown(markdown))
    assert "tracker.example" not in html, html
    assert 'alt="pixel"' in html  # the alt text still says what was there


def test_an_image_from_this_site_still_shows() -> None:
    html = str(wiki.render_markdown("![diagram](/static/confops/flow.png) ![rel](flow.png)"))
    assert 'src="/static/confops/flow.png"' in html and 'src="flow.png"' in html
