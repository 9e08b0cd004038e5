"""The colour theme the server renders: <html data-theme> from the confops_theme cookie (set by the
header's toggle, static/confops/theme.js), so a chosen theme paints without a flash; the admin
loads the same script so its own toggle's choice reaches the portal."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from confops.templatetags.theme import THEME_COOKIE


@pytest.mark.parametrize("chosen", ["dark", "light", "auto"])
def test_the_page_opens_in_the_theme_the_cookie_names(operator_client: Client, chosen: str) -> None:
    operator_client.cookies[THEME_COOKIE] = chosen
    body = operator_client.get("/").content.decode()
    assert f'<html lang="en" data-theme="{chosen}">' in body
    assert "confops/theme.js" in body
    assert 'id="theme-toggle"' in body


@pytest.mark.parametrize("cookie", [None, "purple", '"><script>'])
def test_without_a_known_theme_the_page_follows_the_system(
    operator_client: Client, cookie: str | None
) -> None:
    if cookie is not None:
        operator_client.cookies[THEME_COOKIE] = cookie
    body = operator_client.get("/").content.decode()
    assert '<html lang="en" data-theme="auto">' in body


def test_the_login_page_has_the_theme_too(client: Client) -> None:
    client.cookies[THEME_COOKIE] = "dark"
    body = client.get("/accounts/login/").content.decode()
    assert 'data-theme="dark"' in body
    assert 'id="theme-toggle"' in body


def test_the_admin_loads_the_theme_script_beside_its_own(admin_persona_client: Client) -> None:
    body = admin_persona_client.get("/admin/").content.decode()
    assert "admin/js/theme.js" in body
    assert "confops/theme.js" in body
    assert "theme-toggle" in body  # the admin's own button, whose choice theme.js copies


def test_the_admin_login_page_keeps_its_branding(db: Any, client: Client) -> None:
    body = client.get("/admin/login/").content.decode()
    assert 'id="site-name"' in body
    assert "confops/theme.js" in body
