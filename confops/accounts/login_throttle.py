"""Login throttling with django-axes: which logins it counts, and the settings it reads.

django-axes (maintained by Jazzband, Django 4.2 to 6.0) counts failed logins in the database and
refuses a username from an address after ``LOGIN_FAILURE_LIMIT`` failures until
``LOGIN_COOLOFF_MINUTES`` have passed, on the site's login form and the admin's alike, since both
authenticate through Django's AuthenticationForm. A hand-written counter would have to get the
same races, resets and admin views right; a reverse-proxy rate limit cannot tell a wrong password
from a right one, and confops' demo runs without a proxy.
"""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.http import HttpRequest


class WebLoginThrottle(AxesStandaloneBackend):
    """Refuses a locked-out username and address before the password is checked.

    Only logins of a web request are counted: ``authenticate()`` without a request (a management
    command, a test client's ``login()``) has no address to count, and axes would refuse it.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        super().authenticate(request, username, password, **kwargs)
        return None
