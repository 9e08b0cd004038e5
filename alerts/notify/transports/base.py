"""The contract of a notification transport, its error and the registry of kinds.

A transport turns a rendered :class:`~alerts.notify.messages.Message` into one send to one channel.
It knows nothing of rules, alerts or the outbox: delivery (``alerts/engine/delivery.py``) claims
the row, renders it, calls :meth:`Transport.send` and books the outcome. A send either returns a
:class:`SendResult` or raises :class:`DeliveryError`; ``permanent`` on the error says whether
trying again could ever help (a revoked Slack token cannot; a 503 can).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from alerts.notify.thread import Thread
from confops.common import queues
from confops.common.field_errors import field_messages
from confops.common.secrets import mask_keys, restore_masked, secret_strings

if TYPE_CHECKING:
    from alerts.notify.messages import Message


class DeliveryError(Exception):
    """A send that did not succeed.

    ``permanent``: retrying cannot help (bad credentials, unknown channel, refused recipient);
    the row is marked failed at once. ``retry_after``: seconds the receiver asked us to wait
    (HTTP ``Retry-After``); the next attempt is never earlier.
    """

    def __init__(
        self,
        reason: str,
        *,
        permanent: bool = False,
        status_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.status_code = status_code
        self.retry_after = retry_after


@dataclass(frozen=True)
class SendResult:
    """What the receiver answered to a successful send."""

    status_code: int | None = None
    detail: str = ""
    # A two-way kind's incident message after this send (stored by delivery, see thread.py).
    thread: Thread | None = None


class Config(BaseModel):
    """Base of every kind's ``Channel.config`` schema: unknown keys are refused, not ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ConfigError(ValueError):
    """A channel's configuration or secret does not fit its kind: one message per field."""

    def __init__(self, messages: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in messages.items()))
        self.messages = messages


class Transport:
    """Subclass per kind, in its own module (``alerts/notify/transports/<kind>.py``), and
    ``@register``.

    ``config_schema`` validates ``Channel.config``; ``secret_required`` says whether the kind
    cannot send without ``Channel.secret`` (and ``secret_help`` what the secret is);
    ``secret_config_keys`` names the config keys whose values are secrets too (a webhook's URL
    and headers): shown masked to every reader, masked in every error text.
    ``mirrors_incidents`` makes it two-way (alerts/notify/thread.py). ``queue`` is the Celery
    queue of the kind's transport family (confops/common/queues.py), so a slow family backs up
    alone.
    """

    kind: ClassVar[str]
    label: ClassVar[str]
    queue: ClassVar[str]
    config_schema: ClassVar[type[Config]] = Config
    secret_required: ClassVar[bool] = False
    secret_help: ClassVar[str] = "Not used by this kind."  # noqa: S105 - a help text
    secret_config_keys: ClassVar[frozenset[str]] = frozenset()
    # Two-way kinds keep one message per incident and are told of state changes made by people
    # (acknowledged, unacknowledged); one-way kinds only hear the paging events.
    mirrors_incidents: ClassVar[bool] = False
    # A valid configuration of this kind (config and secret, both fake), shown as the kind's
    # example by the API's channel-kinds list and the docs, and created by the tests that
    # check every registered kind can be saved. A kind with a richer example overrides example().
    example_config: ClassVar[Mapping[str, Any]] = {}
    example_secret: ClassVar[str] = ""

    def __init__(self, config: Config, secret: str) -> None:
        self.config = config
        self.secret = secret

    @classmethod
    def from_channel(cls, config: dict[str, Any], secret: str) -> Transport:
        return cls(cls.parse_config(config, secret), secret)

    @classmethod
    def parse_config(cls, raw: dict[str, Any] | None, secret: str = "") -> Config:
        """Validate a channel's config (and that a needed secret is there); raise ConfigError."""
        try:
            config = cls.config_schema.model_validate(raw or {})
        except ValidationError as exc:
            raise ConfigError(
                field_messages(
                    exc.errors(),
                    whole="config",
                    not_a_field="is not a setting of this channel kind",
                )
            ) from None
        if cls.secret_required and not (secret or cls.default_secret()):
            raise ConfigError({"secret": f"required for {cls.label}: {cls.secret_help}"})
        return config

    @classmethod
    def example(cls) -> tuple[dict[str, Any], str]:
        """A valid ``(config, secret)`` of this kind: fake values, never a real receiver."""
        return dict(cls.example_config), cls.example_secret

    @classmethod
    def default_secret(cls) -> str:
        """A secret from the settings used when the channel has none (e.g. SLACK_WEBHOOK_URL)."""
        return ""

    @classmethod
    def secret_values(cls, config: Mapping[str, Any] | None, secret: str) -> list[str]:
        """Every text that would give a channel of this kind away: its secret, the settings'
        default and the config's secret values (for redacting error texts)."""
        values = secret_strings(config or {}, cls.secret_config_keys)
        return [value for value in (secret, cls.default_secret(), *values) if value]

    @classmethod
    def masked_config(cls, config: Mapping[str, Any] | None) -> dict[str, Any]:
        """The config as every reader may see it: secret values masked."""
        return mask_keys(config or {}, cls.secret_config_keys)

    @classmethod
    def restored_config(
        cls, submitted: Mapping[str, Any], stored: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """A config edited from its masked form: secret values left masked are the stored ones."""
        return restore_masked(submitted, stored or {}, cls.secret_config_keys)

    def send(self, message: Message) -> SendResult:
        raise NotImplementedError


TRANSPORTS: dict[str, type[Transport]] = {}


def register(cls: type[Transport]) -> type[Transport]:
    if getattr(cls, "queue", None) not in queues.DELIVERY:
        raise TypeError(f"{cls.__name__} names no delivery queue (confops/common/queues.py)")
    TRANSPORTS[cls.kind] = cls
    return cls


# Filled as each transport module is imported: import these two functions from the package
# (alerts.notify.transports), whose __init__ imports the built-in transports first.


def transport_class(kind: str) -> type[Transport]:
    """The transport of a channel kind."""
    try:
        return TRANSPORTS[kind]
    except KeyError:
        raise ConfigError({"kind": f"unknown channel kind '{kind}'"}) from None


def all_transports() -> dict[str, type[Transport]]:
    return dict(TRANSPORTS)
