"""The long tail of channel kinds through Apprise (https://appriseit.com, BSD-2): one kind per
Apprise service, plus ``apprise`` for any Apprise URL.

Each kind's secret is its Apprise URL (``discord://<id>/<token>``, ``mailto://user:pw@host``):
it holds the service's tokens, so it is masked everywhere and every piece of it is redacted from
error texts (:meth:`AppriseTransport.secret_values`). Apprise logs while it sends, quoting parts
of the URL; its log lines are redacted at the logger (they reach our logs redacted) and captured
with ``apprise.LogCapture`` as the reason of a failed send.

Kinds are ``apprise-<first scheme of the service>``, labelled "<service> (Apprise)", and carry
their facts (schemes, setup URL, an example URL built from the service's URL templates). A
service Apprise reports disabled here (a missing library or desktop: D-Bus, Growl, MQTT...) is
not registered. Services confops also sends to first-class (Slack, PagerDuty, e-mail) are kept:
their Apprise URLs are a different, one-way set-up (an incoming webhook, an integration key, any
SMTP account) that some teams already have, and ``mailto://`` is the long tail's SMTP kind.

The services come from a table generated from Apprise (``apprise_services.json``, written by
``manage.py channel_kinds --write``; a test fails when it differs from the installed Apprise),
and apprise itself is imported only when a URL is checked or sent: importing it and asking it
for its services took 2.5 s of every process start (web, worker, beat, each command).

Delivery semantics stay the outbox's (docs/notifications.md): Apprise's own retries are set to 0
on each plugin after it is built (a ``?retry=`` in the URL cannot bring them back), so every try
is one DeliveryAttempt row; its timeouts are capped by NOTIFICATION_HTTP_TIMEOUT_SECONDS. A failed
send is transient (Apprise does not say whether a retry could help); a URL that no longer parses
is permanent. The body is the plain-text message; Apprise escapes it for services that take
Markdown or HTML (``body_format=text``).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import unquote, urlsplit

from django.conf import settings

from alerts.choices import NotificationEvent, Severity
from alerts.notify.messages import Message
from alerts.notify.transports._http import CONNECT_TIMEOUT_SECONDS
from alerts.notify.transports.base import (
    Config,
    ConfigError,
    DeliveryError,
    SendResult,
    Transport,
    register,
)
from confops.common import queues
from confops.common.secrets import MIN_SECRET_LENGTH, redact_text

if TYPE_CHECKING:
    import apprise
    from apprise.plugins.base import NotifyBase

# Apprise's logger (apprise.logger.LOGGER_NAME), named here so that no import of apprise is needed.
LOGGER_NAME = "apprise"
SERVICE_TABLE = Path(__file__).with_name("apprise_services.json")
GENERIC_KIND = "apprise"
KIND_PREFIX = "apprise-"
MAX_REASON_CHARS = 300
TEMPLATE_TOKEN = re.compile(r"\{(\w+)\}")
# Splits a URL into the words a log line may quote alone (a token, a password, a webhook id).
URL_WORDS = re.compile(r"[/:@?&=#,+;\s]+")
# Values tried, in order, for a template token without a fixed choice: the first its regex takes.
EXAMPLE_VALUES = (
    "abcdef0123456789abcdef0123456789",
    "example.com",
    "15551234567",
    "ops@example.com",
    "123456789:AbCdEfGhIjKlMnOpQrStUvWxYz012345678",
    "AbCdEf0123456789",
    "abcdef01-2345-6789-abcd-ef0123456789",
    "us-east-1",
    "example",
)
# Example URLs (fake values) of the services whose token rules the template filler cannot meet.
EXAMPLE_URLS: dict[str, str] = {
    "acs": "acs://ops@example.com/QUJDREVGMDEyMzQ1Njc4OQ==/example.communication.azure.com/oncall@example.com",
    "aprs": "aprs://N0CALL:12345@N0CALL-1",
    "awswhatsapp": "awswhatsapp://AKIAEXAMPLE0123456789/abcdef0123456789abcdef0123456789/us-east-1/phone-number-id-abc123/15551234567",
    "humhub": "humhub://user:password@humhub.example.com/1",
    "kumulos": "kumulos://8f2b6a1e-4c3d-4e5f-9a8b-7c6d5e4f3a2b/ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
    "lauther": "lauther://lpt_abcdef0123456789",
    "msgbird": "msgbird://abcdefghijklmnopqrstuvwxy/15551234567",
    "nostr": "nostr://nsec1vl029mgpspedva04g90vltkh6fvh240zqtv9k0t9af8935ke9laqsnlfe5/npub180cvv07tjdrrgpa0j7j7tmnyl2yr6yr7l8j4s3evf6u64th6gkwsyjh6w6",
    "octopush": "octopush://user@example.com/abcdef0123456789abcdef0123456789/15551234567",
    "pagertree": "pagertree://int_abcdef0123",
    "pingram": "pingram://pingram_sk_abcdef0123456789/15551234567",
    "plivo": "plivo://abcdefghij0123456789@abcdefghij0123456789abcdefghij/15551234567/15557654321",
    "prowl": "prowl://abcdefghij0123456789abcdefghij0123456789",
    "push": "push://8f2b6a1e-4c3d-4e5f-9a8b-7c6d5e4f3a2b",
    "pushward": "pushward://hlk_abcdef0123456789",
    "ryver": "ryver://example/ABCDEFGHIJ01234",
    "strmlabs": "strmlabs://abcdefghij0123456789abcdefghij0123456789/",
    "threema": "threema://*ABCDEFG@abcdef0123456789/ABCDEFGH",
    "trigv": "trigv://trgv_abcdefgh_abcdefghij0123456789abcdefghij01",
    "twilio": "twilio://AC0123456789abcdef0123456789abcdef:abcdef0123456789abcdef0123456789@15551234567/15557654321",
    "wpush": "wpush://WPUSHabcdefghij0123456789abcdefg",
    "wxpusher": "wxpusher://AT_abcdef0123456789/UID_abcdef0123456789",
    "youlmk": "youlmk://ylk_abcdef0123456789abcdef0123456789",
}
# Services Apprise lists as enabled that cannot send without a module confops does not install:
# first scheme -> the modules (any one of them) it needs.
NEEDS_MODULES: dict[str, tuple[str, ...]] = {"amqp": ("pika", "proton")}
# Apprise's notify type (apprise.NotifyType values) of each severity.
NOTIFY_TYPES: dict[str, str] = {
    Severity.CRITICAL: "failure",
    Severity.WARNING: "warning",
    Severity.INFO: "info",
}


@dataclass(frozen=True)
class Service:
    """One Apprise service as confops offers it: a row of the generated table."""

    name: str
    schemes: frozenset[str]
    first_scheme: str
    setup_url: str
    example_url: str

    @property
    def kind(self) -> str:
        return KIND_PREFIX + self.first_scheme

    def as_row(self) -> dict[str, Any]:
        return {**asdict(self), "schemes": sorted(self.schemes)}


def usable_services() -> list[Service]:
    """The table's services that can send here (a few need a module confops does not install)."""
    rows = json.loads(SERVICE_TABLE.read_text())
    services = [Service(**{**row, "schemes": frozenset(row["schemes"])}) for row in rows]
    return [service for service in services if can_send(service.first_scheme)]


def live_services() -> list[Service]:
    """The services the installed Apprise offers (its ``details()`` lists only enabled ones),
    with an example URL each: what ``manage.py channel_kinds --write`` puts in the table."""
    import apprise  # lazy: 2.5 s to import and list, only when regenerating

    found: dict[str, Service] = {}
    for schema in apprise.Apprise().details()["schemas"]:
        schemes = [*(schema["protocols"] or ()), *(schema["secure_protocols"] or ())]
        if schemes and schemes[0] not in found:
            found[schemes[0]] = Service(
                name=str(schema["service_name"]),
                schemes=frozenset(s.lower() for s in schemes),
                first_scheme=schemes[0],
                setup_url=str(schema.get("setup_url") or schema.get("service_url") or ""),
                example_url=EXAMPLE_URLS.get(schemes[0])
                or example_url(schemes[0], schema["details"]),
            )
    return sorted(found.values(), key=lambda service: service.kind)


def service_table(services: list[Service]) -> str:
    return json.dumps([service.as_row() for service in services], indent=1) + "\n"


def can_send(scheme: str) -> bool:
    needed = NEEDS_MODULES.get(scheme)
    return not needed or any(importlib.util.find_spec(module) for module in needed)


def example_url(scheme: str, details: Mapping[str, Any]) -> str:
    """The first of the service's URL templates that Apprise accepts once filled with made-up
    values; empty when none does (the token rules of a few services are too particular)."""
    tokens = details.get("tokens", {})
    for template in details.get("templates", ()):
        url = TEMPLATE_TOKEN.sub(
            lambda match: token_example(match.group(1), tokens.get(match.group(1), {}), scheme),
            template,
        )
        with silenced():
            if instantiate(url) is not None:
                return url
    return ""


@contextmanager
def silenced() -> Iterator[None]:
    """Apprise's complaints about a made-up URL are not news for the logs."""
    logger = logging.getLogger(LOGGER_NAME)
    drop = logging.Filter(name="no record is named so")
    logger.addFilter(drop)
    try:
        yield
    finally:
        logger.removeFilter(drop)


def token_example(name: str, spec: Mapping[str, Any], scheme: str) -> str:
    kind = str(spec.get("type", "string"))
    if name == "schema":
        return scheme
    if kind.startswith("choice"):
        values = spec.get("values") or ("example",)
        return str(values[0] if isinstance(values, list | tuple) else sorted(values)[0])
    if kind.startswith(("int", "float")):
        return str(max(int(spec.get("min") or 1), 1))
    if kind.startswith("bool"):
        return "yes"
    return next((v for v in preferred_values(name) if fits(v, spec.get("regex"))), "example")


def preferred_values(name: str) -> list[str]:
    if name in ("host", "organization", "space_id"):
        return ["example.com", *EXAMPLE_VALUES]
    if "phone" in name or name in ("source", "sender"):
        return ["15551234567", *EXAMPLE_VALUES]
    if "email" in name or "addr" in name or name in ("to", "from"):
        return ["ops@example.com", *EXAMPLE_VALUES]
    return ["us-east-1", *EXAMPLE_VALUES] if name == "region" else list(EXAMPLE_VALUES)


def fits(value: str, regex: Any) -> bool:
    if not regex:
        return True
    pattern, flags = regex[0], regex[1] if len(regex) > 1 else ""
    return re.match(pattern, value, re.IGNORECASE if "i" in (flags or "") else 0) is not None


def scheme_of(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else ""


def url_secrets(url: str) -> list[str]:
    """The URL and every word of it a log line or an error may quote alone (tokens, passwords,
    ids), except its scheme and a dotted host name, which are addresses, not secrets."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        host = ""
    rest = url.split("://", 1)[-1]
    words = {unquote(word) for word in URL_WORDS.split(rest)} | set(URL_WORDS.split(rest))
    keep = {scheme_of(url), host if "." in host else ""}
    return [url, *(w for w in words if len(w) >= MIN_SECRET_LENGTH and w not in keep)]


class RedactingFilter(logging.Filter):
    """Rewrites each Apprise log record with the channel's secrets masked, before any handler
    (ours, LogCapture's or the root's) sees it."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_text(record.getMessage(), self.secrets)
        record.args = ()
        return True


@contextmanager
def apprise_log(secrets: list[str]) -> Iterator[Any]:
    """Apprise's log lines of one call, redacted (INFO and up: why a send failed)."""
    logger = logging.getLogger(LOGGER_NAME)
    redacting = RedactingFilter(secrets)
    logger.addFilter(redacting)
    import apprise  # lazy: see the module docstring

    try:
        with apprise.LogCapture(level=logging.INFO, fmt="%(message)s") as captured:
            yield captured
    finally:
        logger.removeFilter(redacting)


def failure_reason(log_text: str, secrets: list[str]) -> str:
    """The warnings and errors Apprise logged, on one line; the last ones if long."""
    lines = [line.strip() for line in log_text.splitlines() if line.strip()]
    reason = " ".join(lines) or "Apprise reported a failure and logged no reason"
    return redact_text(reason, secrets)[-MAX_REASON_CHARS:]


def notify_type(message: Message) -> str:
    if message.event == NotificationEvent.RESOLVED:
        return "success"
    if not message.is_about_alerts:
        return "info"
    return NOTIFY_TYPES.get(message.severity, "info")


def instantiate(url: str) -> NotifyBase | None:
    """Apprise's plugin for ``url`` (None when the URL does not parse), set for one send."""
    import apprise  # lazy: see the module docstring

    plugin: NotifyBase | None = apprise.Apprise.instantiate(url, asset=send_asset())
    return plugin


def send_asset() -> apprise.AppriseAsset:
    """One send, in this thread, within the outbox's time budget, without Apprise's retries."""
    import apprise  # lazy: see the module docstring

    return apprise.AppriseAsset(
        async_mode=False,
        default_service_retry=0,
        service_timeout=CONNECT_TIMEOUT_SECONDS + settings.NOTIFICATION_HTTP_TIMEOUT_SECONDS,
    )


def bounded(plugin: NotifyBase) -> NotifyBase:
    """The plugin with no retries of its own and its socket timeouts capped by ours."""
    plugin.retry = 0
    plugin.socket_connect_timeout = min(plugin.socket_connect_timeout, CONNECT_TIMEOUT_SECONDS)
    plugin.socket_read_timeout = min(
        plugin.socket_read_timeout, settings.NOTIFICATION_HTTP_TIMEOUT_SECONDS
    )
    return plugin


@register
class AppriseTransport(Transport):
    """Any Apprise URL; the per-service kinds below narrow the schemes they take."""

    kind = GENERIC_KIND
    queue = queues.DELIVER_CHAT
    label = "Any Apprise URL"
    secret_required = True
    secret_help = "the service's Apprise URL (https://appriseit.com/services/)"  # noqa: S105
    service: ClassVar[Service | None] = None
    example_secret: ClassVar[str] = "json://receiver.example.com/confops"  # noqa: S105 - fake

    @classmethod
    def parse_config(cls, raw: dict[str, Any] | None, secret: str = "") -> Config:
        config = super().parse_config(raw, secret)
        if secret:
            cls.check_url(secret)
        return config

    @classmethod
    def check_url(cls, url: str) -> None:
        """Refuse a URL of another service or one Apprise cannot parse, naming what is expected
        and Apprise's reason (redacted)."""
        expected = cls.expected()
        if cls.service is not None and scheme_of(url) not in cls.service.schemes:
            raise ConfigError({"secret": f"must be an Apprise URL starting {expected}"})
        secrets = url_secrets(url)
        with apprise_log(secrets) as captured:
            plugin = instantiate(url)
        if plugin is None:
            said = failure_reason(captured.getvalue(), secrets) if captured.getvalue() else ""
            raise ConfigError(
                {
                    "secret": f"is not a valid Apprise URL ({expected})"
                    + (f": {said}" if said else "")
                }
            )

    @classmethod
    def example(cls) -> tuple[dict[str, Any], str]:
        """A valid (config, secret) of this kind: fake values, never a real receiver."""
        return {}, cls.service.example_url if cls.service else cls.example_secret

    @classmethod
    def expected(cls) -> str:
        if cls.service is None:
            return "scheme://... of any Apprise service"
        schemes = " or ".join(f"{s}://" for s in sorted(cls.service.schemes))
        return f"{schemes} for {cls.service.name}"

    @classmethod
    def secret_values(cls, config: Mapping[str, Any] | None, secret: str) -> list[str]:
        return [*super().secret_values(config, secret), *url_secrets(secret)[1:]]

    def send(self, message: Message) -> SendResult:
        secrets = url_secrets(self.secret)
        import apprise  # lazy: see the module docstring

        with apprise_log(secrets) as captured:
            plugin = instantiate(self.secret)
            if plugin is None:
                raise DeliveryError("the Apprise URL no longer parses", permanent=True)
            sender = apprise.Apprise(asset=send_asset())
            sender.add(bounded(plugin))
            sent = sender.notify(
                title=message.subject,
                body=message.text,
                notify_type=apprise.NotifyType(notify_type(message)),
                body_format=apprise.NotifyFormat.TEXT,
            )
        if not sent:
            raise DeliveryError(failure_reason(captured.getvalue(), secrets))
        return SendResult(detail=f"sent by Apprise ({scheme_of(self.secret)}://)")


def service_transport(service: Service) -> type[AppriseTransport]:
    """The kind of one Apprise service: a subclass carrying its facts."""
    name = "Apprise" + re.sub(r"\W", "", service.first_scheme.title()) + "Transport"
    attributes = {
        "kind": service.kind,
        "label": f"{service.name} (Apprise)",
        "service": service,
        "secret_help": f"its Apprise URL, starting {service.first_scheme}:// "
        f"(see {service.setup_url})",
        "__module__": __name__,
        "__doc__": f"{service.name} through Apprise ({service.setup_url}).",
    }
    transport = type(name, (AppriseTransport,), attributes)
    register(transport)
    return transport


SERVICE_TRANSPORTS: list[type[AppriseTransport]] = [
    service_transport(service) for service in usable_services()
]
