"""Showing secrets (webhook URLs, tokens, auth headers, URL userinfo) without revealing them.

The one home of redaction: every stored or shown error text, every URL put on a page, in a log
line or in a message goes through here. Plain functions, no app imports.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

MASK = "••••"
REDACTED_PATH = "/[redacted]"
REDACTED = "[redacted]"

# A URL inside free text (an exception's message): up to the next blank, quote or parenthesis,
# without the sentence's punctuation after it. Square brackets stay inside: an IPv6 host, and
# an already redacted "/[redacted]" (redacting twice changes nothing).
URL_IN_TEXT = re.compile(r"""[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'"<>(){}]*[^\s'"<>(){}\[.,:;!?]""")
# urllib3 names the request path apart from the host: "... Max retries exceeded with url:
# /services/T/B/<secret> (Caused by ...)". The path is the secret of a Slack webhook.
URLLIB3_PATH = re.compile(r"(with url: )(\S+)")
# Secrets shorter than this are not searched for in text: "a" would blank out every "a".
MIN_SECRET_LENGTH = 6
# A path segment this long, or at least ID_SEGMENT_LENGTH with a digit in it, may be a token or a
# webhook id (``/services/T0/B0/<token>``, ``/webhooks/<id>/<token>``); "services" is not.
TOKEN_SEGMENT_LENGTH = 20
ID_SEGMENT_LENGTH = 8


def mask_secret(secret: str, visible: int = 4) -> str:
    """Keep only the last few characters, and none of a short secret."""
    if not secret:
        return ""
    if len(secret) <= visible * 3:
        return MASK
    return f"{MASK}{secret[-visible:]}"


def redact_url(url: str) -> str:
    """Scheme, host and port only: webhook and dead man's switch URLs carry their secret in the
    path (``hooks.slack.com/services/T/B/<secret>``), the query or the userinfo."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        host = f"[{host}]" if ":" in host else host  # an IPv6 address
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return REDACTED_PATH
    if not parts.scheme or not host:
        return REDACTED_PATH
    path = "" if parts.path in ("", "/") and not parts.query else REDACTED_PATH
    return f"{parts.scheme}://{host}{port}{path}"


def without_userinfo(url: str) -> str:
    """The URL as it may be shown when only its ``user:password@`` is secret (a Dagster
    GraphQL URL): path and query stay, the credentials go."""
    try:
        parts = urlsplit(url)
        if "@" not in parts.netloc:
            return url
        host = parts.netloc.rsplit("@", 1)[1]
    except ValueError:
        return REDACTED_PATH
    return urlunsplit((parts.scheme, f"{MASK}@{host}", parts.path, parts.query, parts.fragment))


def secret_forms(secret: str) -> list[str]:
    """The texts that give a secret away: the secret itself and, for a URL, its path with and
    without the query, the query, each query value, the password and each path segment that
    looks like a token. A receiver's error page, urllib3 or a redirect's ``Location`` may quote
    the path of a Slack webhook alone, and a receiver may echo one value ("token tok-1 revoked")."""
    forms = [secret]
    try:
        parts = urlsplit(secret)
        password = parts.password or ""
    except ValueError:
        return forms
    if parts.scheme and parts.netloc:
        query = f"?{parts.query}" if parts.query else ""
        forms += [parts.path + query, parts.path, parts.query, password, unquote(password)]
        forms += [value for _, value in parse_qsl(parts.query)]
        forms += [quoted.split("=", 1)[-1] for quoted in re.split(r"[&;]", parts.query)]
        forms += [segment for segment in parts.path.split("/") if looks_like_token(segment)]
    return [form for form in forms if form and form != "/"]


def looks_like_token(word: str) -> bool:
    """A path segment that may be a secret on its own: long, or an id with digits in it."""
    if len(word) >= TOKEN_SEGMENT_LENGTH:
        return True
    return len(word) >= ID_SEGMENT_LENGTH and any(char.isdigit() for char in word)


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """An error text safe to store, show, log and send: each given secret masked (a URL's path,
    query and password too, see ``secret_forms``), every URL in it cut to scheme and host, and
    urllib3's separate "with url: <path>" cut too.

    Exceptions of ``requests`` and ``urllib3`` quote the URL they failed on, and for a Slack
    webhook the URL's path is the secret; a TLS or DNS error may quote the host with userinfo.
    """
    forms = {form for secret in secrets if secret for form in secret_forms(secret)}
    for secret in sorted({s for s in forms if len(s) >= MIN_SECRET_LENGTH}, key=len)[::-1]:
        text = text.replace(secret, MASK)
    text = URL_IN_TEXT.sub(lambda match: redact_url(match.group(0)), text)
    return URLLIB3_PATH.sub(lambda match: match.group(1) + REDACTED_PATH, text)


def redact_error(exc: BaseException, secrets: Iterable[str] = ()) -> str:
    """``"TypeName: message"`` of an exception, redacted as ``redact_text`` does."""
    return redact_text(f"{type(exc).__name__}: {exc}", secrets)


def masked(value: Any) -> Any:
    """A secret value as it may be shown: a URL keeps scheme and host, a text its last few
    characters, a mapping or a list each of its values masked."""
    if isinstance(value, Mapping):
        return {key: masked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [masked(item) for item in value]
    if isinstance(value, str):
        return redact_url(value) if "://" in value else mask_secret(value)
    return value if value is None else MASK


def mask_keys(data: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """A copy of a settings mapping (a channel's config) with the values under ``keys`` masked."""
    secret = set(keys)
    return {key: masked(value) if key in secret else value for key, value in data.items()}


def restore_masked(
    submitted: Mapping[str, Any], stored: Mapping[str, Any], keys: Iterable[str]
) -> dict[str, Any]:
    """Submitted settings in which every secret value left as it was shown (masked) is the stored
    one again: an edit form shows secrets masked, and saving it unchanged must keep them."""
    restored = dict(submitted)
    for key in keys:
        if key in restored and key in stored:
            restored[key] = unmasked(restored[key], stored[key])
    return restored


def unmasked(submitted: Any, stored: Any) -> Any:
    """The stored value where ``submitted`` is its masked form; per entry for mappings, so a
    new header next to a masked one keeps both."""
    if submitted == masked(stored):
        return stored
    if isinstance(submitted, Mapping) and isinstance(stored, Mapping):
        return {
            key: unmasked(value, stored[key]) if key in stored else value
            for key, value in submitted.items()
        }
    return submitted


def secret_strings(data: Mapping[str, Any], keys: Iterable[str]) -> list[str]:
    """Every text under ``keys`` of a settings mapping (nested values included), for
    ``redact_text``."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, Mapping):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for key in keys:
        walk(data.get(key))
    return found


class RedactsItsSecrets:
    """An object whose error texts may quote its own secrets (a channel, a deployment): it lists
    them in ``secret_values`` and every text about it goes through ``redact`` before it is
    stored, shown, logged or sent."""

    def secret_values(self) -> list[str]:
        raise NotImplementedError

    def redact(self, text: str) -> str:
        return redact_text(text, self.secret_values())
