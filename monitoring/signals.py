"""Signals monitoring sends; the alert engine listens (monitoring imports nothing of alerts)."""

from django.dispatch import Signal

# Sent after a poll or a pushed run stored new outcomes: kwargs deployment (or None),
# source_ids (set of Source primary keys) and now.
sources_touched = Signal()
