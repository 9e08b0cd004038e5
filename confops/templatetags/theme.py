"""The colour theme the page opens in, so a chosen dark or light theme paints without a flash.

The header's toggle (static/confops/theme.js) keeps the choice in the ``confops_theme`` cookie
(and in localStorage "theme", the Django admin's own key, so the two toggles agree); the server
reads the cookie here and renders ``<html data-theme="...">`` before any script runs.
"""

from __future__ import annotations

from django import template

register = template.Library()

THEME_COOKIE = "confops_theme"
THEMES = ("auto", "dark", "light")  # the Django admin's values: one choice serves both


@register.simple_tag(takes_context=True)
def current_theme(context: template.Context) -> str:
    """The theme the cookie names, or "auto" (follow the system) for none or an unknown value."""
    request = context.get("request")
    chosen = request.COOKIES.get(THEME_COOKIE, "") if request is not None else ""
    return chosen if chosen in THEMES else "auto"
