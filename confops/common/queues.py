"""The Celery queues, declared here once: settings route tasks with ``ROUTES`` and declare
``ALL``, so a worker started without ``-Q`` consumes every queue and nothing is stranded.

Each kind of work has a queue of its own, so a backlog of one kind cannot starve another: a slow
Slack fills ``deliver.chat`` while ``poll`` workers go on polling. Delivery is split by transport
family; each transport module names its family (``Transport.queue``), and the outbox passes it
when it enqueues a row (alerts/notify/outbox.py), since one task sends every kind.

Run one worker for all of them (the Procfile's ``worker``), or a worker per queue to scale one
kind alone: ``celery -A confops worker -Q poll`` (docs/architecture.md, "Queues").
"""

from __future__ import annotations

POLL = "poll"
EVALUATE = "evaluate"
DELIVER_CHAT = "deliver.chat"  # Slack, Slack app, Teams, Apprise services
DELIVER_PAGING = "deliver.paging"  # PagerDuty
DELIVER_EMAIL = "deliver.email"  # SMTP; also a message to one person without a channel
DELIVER_WEBHOOK = "deliver.webhook"  # an operator's own HTTP endpoint, as slow as it likes
REPORTS = "reports"
# Light, beat-driven upkeep (heartbeat, sweeps, pruning, reconciling, Slack button presses): each
# takes milliseconds and must not queue behind a backlog of polls or messages. The heartbeat is
# here, so it proves a worker of this queue lives; workers of the other queues prove themselves
# with their watcher heartbeat (confops/runtime/heartbeat.py, ``record_worker``).
DEFAULT = "default"

DELIVERY = (DELIVER_CHAT, DELIVER_PAGING, DELIVER_EMAIL, DELIVER_WEBHOOK)
ALL = (POLL, EVALUATE, *DELIVERY, REPORTS, DEFAULT)

# Task name -> queue. The delivery task is absent on purpose: its queue depends on the channel
# and every caller passes it (``queue=``); without one it would land on DEFAULT, still consumed.
ROUTES: dict[str, str] = {
    # The fan-out too: while polls queue up it waits with them instead of adding more.
    "monitoring.poll_due_deployments": POLL,
    "monitoring.poll_deployment": POLL,
    "alerts.evaluate_all": EVALUATE,
    "alerts.evaluate_shard": EVALUATE,
    "reports.send_daily_report": REPORTS,
    "confops.heartbeat": DEFAULT,
    "confops.ping_dead_mans_switch": DEFAULT,
    "alerts.sweep_notifications": DEFAULT,
    "alerts.reconcile_mirrors": DEFAULT,
    "alerts.handle_slack_action": DEFAULT,
    "monitoring.prune_poll_records": DEFAULT,
}
