"""The one way transports POST over HTTP, and how an HTTP answer becomes a verdict.

- 2xx: sent.
- 429, 408 and 5xx, timeouts and connection errors: transient, retried with backoff; a
  ``Retry-After`` header (seconds or an HTTP date) sets the earliest next attempt.
- any other 4xx: permanent. The receiver understood us and said no (revoked token, deleted
  channel, malformed payload): sending the same request again gets the same answer.
- 3xx: permanent. Redirects are not followed (a POST would turn into a GET); the channel's URL
  needs updating.

One pooled session per worker process keeps connections to Slack or a webhook open between
messages, which saves a TCP and TLS handshake on the path from failure to message.
"""

from __future__ import annotations

import time
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin

import requests
from django.conf import settings

from alerts.notify.transports.base import DeliveryError, SendResult
from confops.common.secrets import redact_error, redact_url

USER_AGENT = "confops-notifications/1"
MAX_RETRY_AFTER_SECONDS = 3600.0
CONNECT_TIMEOUT_SECONDS = 5.0

_session: requests.Session | None = None


def session() -> requests.Session:
    global _session
    if _session is None:
        _session = requests.Session()
        _session.headers["User-Agent"] = USER_AGENT
    return _session


def post(url: str, body: bytes, headers: dict[str, str]) -> requests.Response:
    """POST raw bytes; connection problems become a transient DeliveryError whose text has the
    URL redacted (requests quotes it, and a Slack webhook's path is its secret)."""
    try:
        return session().post(
            url,
            data=body,
            headers=headers,
            timeout=(CONNECT_TIMEOUT_SECONDS, settings.NOTIFICATION_HTTP_TIMEOUT_SECONDS),
            allow_redirects=False,
        )
    except requests.Timeout as exc:
        raise DeliveryError(f"timed out: {redact_error(exc, [url])}") from None
    except requests.RequestException as exc:
        raise DeliveryError(redact_error(exc, [url])) from None


def verdict(response: requests.Response, what: str) -> SendResult:
    """Return the result of a 2xx answer; raise DeliveryError for anything else."""
    status = response.status_code
    text = response.text.strip()[:300]
    if 200 <= status < 300:
        return SendResult(status_code=status, detail=text[:100])
    reason = f"{what} answered HTTP {status}" + (f": {text}" if text else "")
    if status == 429 or status == 408 or status >= 500:
        raise DeliveryError(
            reason, status_code=status, retry_after=retry_after(response.headers.get("Retry-After"))
        )
    if 300 <= status < 400:
        where = redirected_to(response)
        reason = f"{what} redirected (HTTP {status}) to {where}; update the URL"
    raise DeliveryError(reason, permanent=True, status_code=status)


def redirected_to(response: requests.Response) -> str:
    """Where a redirect points, scheme and host only: a webhook moved to a new host keeps its
    secret path, and a relative ``Location`` is the secret path itself."""
    where = response.headers.get("Location", "")
    return redact_url(urljoin(response.url or "", where)) if where else "elsewhere"


def retry_after(value: Any, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    text = str(value).strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = when.timestamp() - (time.time() if now is None else now)
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)
