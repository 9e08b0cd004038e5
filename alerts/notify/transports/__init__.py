"""Notification transports, one module per channel kind; importing this registers them all.

Adding a kind: write ``alerts/notify/transports/<kind>.py`` with a ``@register``-ed ``Transport``
subclass and its ``Config`` schema, import it below, add its tests
(``tests/alerts/test_transport_<kind>.py``). See CONTRIBUTING.md.
"""

from alerts.notify.transports import (  # noqa: F401 - registration
    apprise_kinds,
    email,
    pagerduty,
    slack,
    slack_app,
    teams,
    webhook,
)
from alerts.notify.transports.base import (
    ConfigError,
    DeliveryError,
    SendResult,
    Transport,
    all_transports,
    transport_class,
)

__all__ = [
    "ConfigError",
    "DeliveryError",
    "SendResult",
    "Transport",
    "all_transports",
    "transport_class",
]
