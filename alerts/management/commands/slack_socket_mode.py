"""Run Slack Socket Mode: the Procfile's ``slack`` process (alerts/inbound/slack_socket.py).

Connects every enabled Slack app channel that has an app-level token, acts on its button
presses, re-reads the channels every minute and idles when there is none. SIGTERM or Ctrl-C
closes the connections and exits.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from alerts.inbound.slack_socket import REFRESH_SECONDS, SocketMode


class Command(BaseCommand):
    help = "Receive Slack button presses over Socket Mode (Slack app channels with an app_token)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--refresh-seconds",
            type=float,
            default=REFRESH_SECONDS,
            help="How often the channels are read again (default: %(default)s).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()

        def stop_on(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, stop_on)
        signal.signal(signal.SIGINT, stop_on)
        SocketMode(options["refresh_seconds"]).run(stop)
