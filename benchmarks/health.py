"""Latency of /health and /health/ready through a real gunicorn on loopback.

    .venv/bin/python benchmarks/health.py [--requests 500]

Starts gunicorn on a free port with the embedded defaults in a temporary data folder, sends
sequential requests over one keep-alive connection, and prints median/p95/p99 in ms with the
machine noted. Target: /health well under 100 ms.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

PROJECT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def machine() -> str:
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores, {model}, Python {platform.python_version()}"


def measure(session: requests.Session, url: str, count: int) -> list[float]:
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        response = session.get(url, timeout=10)
        timings.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}: {response.text[:200]}")
    return timings


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()
    data_dir = tempfile.mkdtemp(prefix="confops-bench-")
    port = free_port()
    env = {
        **os.environ,
        "CONFOPS_DATA_DIR": data_dir,
        "SECRET_KEY": "benchmark",
        "CONFOPS_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
        "CONFOPS_IGNORE_DOTENV": "1",
    }
    bin_dir = Path(sys.executable).parent
    subprocess.run(
        [str(bin_dir / "python"), "manage.py", "migrate", "-v0"], env=env, cwd=PROJECT, check=True
    )
    server = subprocess.Popen(
        [
            str(bin_dir / "gunicorn"),
            "confops.wsgi:application",
            "--config",
            "confops/gunicorn_conf.py",
            "--access-logfile",
            "/dev/null",
        ],
        env=env,
        cwd=PROJECT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{base}/health", timeout=1)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise SystemExit("gunicorn did not start") from None
                time.sleep(0.2)
        session = requests.Session()
        print(f"machine: {machine()}")
        for path in ("/health", "/health/ready"):
            measure(session, base + path, 20)  # warm up
            timings = measure(session, base + path, args.requests)
            print(
                f"{path:14s} n={len(timings)} median={statistics.median(timings):.2f} ms "
                f"p95={percentile(timings, 0.95):.2f} ms p99={percentile(timings, 0.99):.2f} ms"
            )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
