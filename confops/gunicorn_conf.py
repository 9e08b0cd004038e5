"""gunicorn settings from the environment, so the demo and docker-compose run one command."""

import os
from pathlib import Path
from typing import Any

from confops.common.env import read_dotenv
from confops.common.gc_tuning import tune_for_requests

# gunicorn's master reads this file before any worker loads the settings, which is where .env
# is read otherwise: read it here too, or METRICS_MULTIPROC_DIR set in .env would reach the
# workers but not the master's clean-up below.
read_dotenv(Path(__file__).resolve().parent.parent)

bind = os.environ.get("CONFOPS_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))
timeout = int(os.environ.get("WEB_TIMEOUT", "60"))
accesslog = "-"
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# Request metrics in prometheus_client's multiprocess mode (confops/common/request_metrics.py): each
# start begins with an empty folder (counters restart with the server, as Prometheus expects),
# and a dead worker's files are marked so live gauges drop it.
metrics_dir = os.environ.get("METRICS_MULTIPROC_DIR", "")


def on_starting(server: object) -> None:
    if metrics_dir and os.path.isdir(metrics_dir):
        for name in os.listdir(metrics_dir):
            if name.endswith(".db"):
                os.remove(os.path.join(metrics_dir, name))


def child_exit(server: object, worker: Any) -> None:
    if metrics_dir:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid, metrics_dir)


def post_worker_init(worker: Any) -> None:
    """The loaded app's heap is frozen out of garbage collection (confops/common/gc_tuning.py)."""
    tune_for_requests()
