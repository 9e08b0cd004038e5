"""API tokens are shown once when created (admin or command), never again, and can be revoked."""

from __future__ import annotations

import importlib
import json
import re
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.utils import timezone

from confops.accounts.choices import TokenScope
from confops.accounts.models import ApiToken
from monitoring.choices import SourceKind
from monitoring.models import Deployment, Run, Source

pytestmark = pytest.mark.django_db
RAW_TOKEN = re.compile(r"cfo_[0-9a-f]{8}_[A-Za-z0-9_-]{20,}")
ADD_URL = "/admin/accounts/apitoken/add/"
LIST_URL = "/admin/accounts/apitoken/"


@pytest.fixture
def pushed() -> Source:
    return Source.objects.create(kind=SourceKind.PUSHED, key="scraper", slug="scraper")


def add_form(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "temporal worker",
        "scopes": [TokenScope.PUSH],
        "expires_at_0": "",
        "expires_at_1": "",
    }
    data.update(overrides)
    return data


def test_adding_a_token_shows_it_once(admin_client: Client, pushed: Source) -> None:
    response = admin_client.post(ADD_URL, add_form(sources=[pushed.pk]), follow=True)

    assert response.status_code == 200
    html = response.content.decode()
    raw = RAW_TOKEN.search(html)
    assert raw is not None, html
    assert "copy it now" in html and "only this once" in html
    token = ApiToken.find(raw.group())
    assert token is not None and token.name == "temporal worker"
    assert token.scopes == ["push"] and list(token.sources.all()) == [pushed]
    assert token.created_by is not None and token.created_by.username == "admin"

    for url in (LIST_URL, f"/admin/accounts/apitoken/{token.pk}/change/"):
        page = admin_client.get(url).content.decode()
        assert raw.group() not in page and token.token_hash not in page
        assert f"cfo_{token.prefix}_…" in page


def test_the_list_shows_name_prefix_scopes_and_sources_never_the_secret(
    admin_client: Client, admin_user: Any, pushed: Source
) -> None:
    token, raw = ApiToken.issue(
        "scraper job", [TokenScope.PUSH, TokenScope.READ], admin_user, sources=[pushed]
    )

    html = admin_client.get(LIST_URL).content.decode()

    assert "scraper job" in html and f"cfo_{token.prefix}_…" in html
    assert "push, read" in html
    assert raw not in html and token.token_hash not in html
    assert not RAW_TOKEN.search(html)


def test_the_change_page_never_contains_the_token_or_its_hash(
    admin_client: Client, admin_user: Any
) -> None:
    token, raw = ApiToken.issue("scraper job", [TokenScope.PUSH], admin_user)
    secret_part = raw.split("_", 2)[2]  # cfo_<prefix>_<secret>

    html = admin_client.get(f"/admin/accounts/apitoken/{token.pk}/change/").content.decode()

    assert "scraper job" in html
    assert secret_part not in html and token.token_hash not in html


def test_only_pushed_sources_can_be_chosen(admin_client: Client, pushed: Source) -> None:
    deployment = Deployment.objects.create(name="prod", graphql_url="https://d/graphql")
    Source.objects.create(
        deployment=deployment, kind=SourceKind.ASSET, key="elra_conferences", slug="elra"
    )

    html = admin_client.get(ADD_URL).content.decode()

    assert 'name="scopes"' in html and 'value="push"' in html
    assert ">scraper<" in html or "scraper</label>" in html
    assert "elra_conferences" not in html


def test_a_new_token_cannot_expire_in_the_past(admin_client: Client) -> None:
    response = admin_client.post(
        ADD_URL, add_form(expires_at_0="2020-01-01", expires_at_1="00:00:00")
    )

    assert response.status_code == 200
    assert "must expire in the future" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_the_revoke_action_revokes_only_the_selected_tokens(
    admin_client: Client, admin_user: Any
) -> None:
    chosen, _ = ApiToken.issue("leaked", [TokenScope.PUSH], admin_user)
    kept, _ = ApiToken.issue("fine", [TokenScope.PUSH], admin_user)

    response = admin_client.post(
        LIST_URL, {"action": "revoke_selected", "_selected_action": [chosen.pk]}, follow=True
    )

    assert "Revoked 1 token(s)." in response.content.decode()
    chosen.refresh_from_db()
    kept.refresh_from_db()
    assert chosen.revoked_at is not None and not chosen.is_active(timezone.now())
    assert kept.revoked_at is None


def test_a_viewer_cannot_see_the_tokens(viewer_client: Client, admin_user: Any) -> None:
    ApiToken.issue("secret job", [TokenScope.PUSH], admin_user)

    response = viewer_client.get(LIST_URL)

    assert response.status_code == 302
    assert "secret job" not in response.content.decode()


def test_the_command_prints_a_token_that_works(pushed: Source, operator_user: Any) -> None:
    out, err = StringIO(), StringIO()

    call_command(
        "create_api_token",
        "scraper",
        "--owner",
        operator_user.username,
        "--scope",
        "push",
        "--source",
        "scraper",
        stdout=out,
        stderr=err,
    )

    raw = out.getvalue().strip()
    assert RAW_TOKEN.fullmatch(raw)
    assert "store it now" in err.getvalue() and raw not in err.getvalue()
    token = ApiToken.find(raw)
    assert token is not None and token.scopes == ["push"]
    assert list(token.sources.all()) == [pushed] and not token.all_sources
    assert token.created_by == operator_user
    response = Client().post(
        "/api/v1/sources/scraper/runs",
        data=json.dumps({"at": timezone.now().isoformat(), "status": "success"}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert response.status_code == 201
    assert Run.objects.filter(pushed_source=pushed).count() == 1


def test_the_command_takes_several_scopes_and_defaults_to_all_sources(
    operator_user: Any,
) -> None:
    out = StringIO()

    call_command(
        "create_api_token",
        "ops",
        "--owner",
        operator_user.username,
        "--scope",
        "read",
        "--scope",
        "push",
        stdout=out,
        stderr=StringIO(),
    )

    token = ApiToken.find(out.getvalue().strip())
    assert token is not None and token.scopes == ["push", "read"]
    assert token.all_sources and not token.sources.exists()


def test_the_command_refuses_a_source_that_is_not_pushed(operator_user: Any) -> None:
    with pytest.raises(CommandError, match="No pushed source with slug: nope"):
        call_command(
            "create_api_token",
            "x",
            "--owner",
            operator_user.username,
            "--scope",
            "push",
            "--source",
            "nope",
        )

    assert not ApiToken.objects.exists()


def push_with(raw: str, slug: str) -> Any:
    return Client().post(
        f"/api/v1/sources/{slug}/runs",
        data=json.dumps({"at": timezone.now().isoformat(), "status": "success"}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"},
    )


def test_a_token_limited_to_a_source_that_is_deleted_may_report_for_none(
    admin_client: Client, pushed: Source
) -> None:
    other = Source.objects.create(kind=SourceKind.PUSHED, key="crawler", slug="crawler")
    response = admin_client.post(ADD_URL, add_form(sources=[pushed.pk]), follow=True)
    raw = RAW_TOKEN.search(response.content.decode())
    assert raw is not None

    pushed.delete()

    assert push_with(raw.group(), "crawler").status_code == 403
    assert not Run.objects.filter(pushed_source=other).exists()
    listed = admin_client.get(LIST_URL).content.decode()
    assert '<td class="field-source_list">none</td>' in listed


def test_the_list_says_all_sources_or_names_them(
    admin_client: Client, admin_user: Any, pushed: Source
) -> None:
    ApiToken.issue("every job", [TokenScope.PUSH], admin_user)
    ApiToken.issue("scraper job", [TokenScope.PUSH], admin_user, sources=[pushed])

    html = admin_client.get(LIST_URL).content.decode()

    assert '<td class="field-source_list">all pushed</td>' in html
    assert '<td class="field-source_list">scraper</td>' in html


def test_the_form_asks_for_all_sources_or_chosen_ones_never_neither_nor_both(
    admin_client: Client, pushed: Source
) -> None:
    neither = admin_client.post(ADD_URL, add_form())
    both = admin_client.post(ADD_URL, add_form(all_sources="on", sources=[pushed.pk]))
    all_of_them = admin_client.post(ADD_URL, add_form(all_sources="on"), follow=True)

    assert "Choose the sources this token may report for" in neither.content.decode()
    assert "Either all pushed sources or the chosen ones" in both.content.decode()
    token = ApiToken.objects.get()
    assert token.all_sources and not token.sources.exists()
    assert RAW_TOKEN.search(all_of_them.content.decode())


def test_a_read_token_needs_no_sources(admin_client: Client) -> None:
    admin_client.post(ADD_URL, add_form(scopes=[TokenScope.READ]))

    token = ApiToken.objects.get()
    assert token.scopes == ["read"] and not token.all_sources


def test_the_migration_keeps_what_each_token_allowed(admin_user: Any, pushed: Source) -> None:
    everything, _ = ApiToken.issue("every job", [TokenScope.PUSH], admin_user)
    limited, _ = ApiToken.issue("scraper job", [TokenScope.PUSH], admin_user, sources=[pushed])
    ApiToken.objects.update(all_sources=False)  # as the added column starts
    migration = importlib.import_module("monitoring.migrations.0008_api_token_explicit_sources")
    name = ("monitoring", "0008_api_token_explicit_sources")
    state = MigrationExecutor(connection).loader.project_state(name)

    migration.keep_what_each_token_allows(state.apps, None)

    everything.refresh_from_db()
    limited.refresh_from_db()
    assert everything.all_sources and not limited.all_sources


def test_the_command_needs_an_active_owner(operator_user: Any) -> None:
    operator_user.is_active = False
    operator_user.save()

    for owner in (operator_user.username, "nobody"):
        with pytest.raises(CommandError, match="No active user named"):
            call_command(
                "create_api_token", "x", "--owner", owner, "--scope", "push", stderr=StringIO()
            )

    assert not ApiToken.objects.exists()


def test_deleting_a_person_deletes_their_tokens(admin_user: Any, operator_user: Any) -> None:
    ApiToken.issue("otto's bot", [TokenScope.OPERATE], operator_user)
    kept, _ = ApiToken.issue("ada's job", [TokenScope.PUSH], admin_user)

    operator_user.delete()

    assert list(ApiToken.objects.all()) == [kept]
