"""What Django's error reports (the DEBUG 500 page, error emails) show of settings and requests."""

from __future__ import annotations

from typing import Any

from django.views import debug

from confops.common.secrets import redact_text


class SafeExceptionReporterFilter(debug.SafeExceptionReporterFilter):
    """Every URL cut to scheme and host, on top of Django's hiding by name.

    Django hides a setting whose name says it is secret (KEY, TOKEN, PASS...); a URL's secret
    hides under a name that does not: the path of ``DEAD_MANS_SWITCH_URL`` and
    ``SLACK_WEBHOOK_URL``, the password in ``CELERY_BROKER_URL`` or the cache's ``LOCATION``,
    and the same in the process environment the development server puts in ``request.META``
    and in a failing frame's local variables (a transport's URL). Other objects in a frame
    show their repr: the DEBUG page is for development only.
    """

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        cleansed = super().cleanse_setting(key, value)
        if isinstance(cleansed, str) and "://" in cleansed:
            return redact_text(cleansed)
        return cleansed

    def get_traceback_frame_variables(self, request: Any, tb_frame: Any) -> Any:
        return [
            (name, self.cleanse_setting(name, value) if isinstance(value, PLAIN) else value)
            for name, value in super().get_traceback_frame_variables(request, tb_frame)
        ]


PLAIN = (str, dict, list, tuple)
