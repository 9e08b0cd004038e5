"""Signals the alert engine sends; the portal's runtime listens (alerts imports nothing of it)."""

from django.dispatch import Signal

# Sent after an evaluation went well, still inside its lock: kwargs trigger ("timer" for the
# periodic one, "poll" for one after a poll or push), seconds (how long judging took) and now.
# The metrics keep the duration; a good timer cycle pings the dead man's switch.
evaluated = Signal()
