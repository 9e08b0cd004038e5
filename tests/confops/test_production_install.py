"""The README's "Production" section, run as written: its commands (between the
``production-commands`` markers) bring up a portal watching two Dagster deployments, one of
them Dagster+ with its API token, with channels and rules routed to them, in under ten commands.

Each command runs as a subprocess from the project folder, on a fresh SQLite data folder with
the environment the README asks for set by the test; ``.venv/bin/`` is this test's virtualenv,
``confops.yaml`` the example file (deploy/confops.example.yaml) copied to a temporary folder.
The ``pip install`` line is checked to be there, not run (the suite runs in the installed venv).
The last three commands are long-running: they start and stay up while the test checks a poll
of both deployments through the real worker and beat, and a login through gunicorn.
"""

from __future__ import annotations

import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import requests

from tests.conftest import project_env
from tests.fixtures.dagster import ManagedProcess, free_port
from tests.fixtures.dagster_standin import StandIn, dagster_standin
from tests.fixtures.processes import wait_until

# Its processes run on a fresh SQLite data folder, as the README's commands do: PostgreSQL's pass
# would run the same thing again.
pytestmark = [pytest.mark.slow, pytest.mark.own_database]
PROJECT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TOKEN = "user:0f1e2d3c4b5a69788796a5b4c3d2e1f0"
PASSWORD = "a long production password 42"
LONG_RUNNING = ("gunicorn", "celery")
# Variables of the test session that would point the children at its own database and broker.
SESSION_ONLY = ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "TASK_LEDGER_DIR", "DEBUG")


def readme_commands() -> list[list[str]]:
    """The commands between the README's markers, one a line, as argument lists."""
    readme = (PROJECT / "README.md").read_text()
    block = re.search(
        r"<!-- production-commands -->\s*```sh\n(.*?)```\s*<!-- /production-commands -->",
        readme,
        re.S,
    )
    assert block, "README.md has no production-commands section"
    return [shlex.split(line) for line in block.group(1).splitlines() if line.strip()]


def as_run_here(command: list[str], config: Path) -> list[str]:
    """``.venv/bin/x`` as this test's venv, ``confops.yaml`` as the test's copy."""
    mapped = [
        str(BIN / a.removeprefix(".venv/bin/")) if a.startswith(".venv/bin/") else a
        for a in command
    ]
    return [str(config) if a == "confops.yaml" else a for a in mapped]


@pytest.fixture
def standins() -> Iterator[tuple[StandIn, StandIn]]:
    with dagster_standin() as own, dagster_standin("/prod/graphql", token=TOKEN) as cloud:
        yield own, cloud


def environment(data_dir: Path, own: StandIn, cloud: StandIn, port: int) -> dict[str, str]:
    env = {k: v for k, v in project_env().items() if k not in SESSION_ONLY}
    return env | {
        "CONFOPS_DATA_DIR": str(data_dir),
        "SECRET_KEY": "production-install-test-secret-key-0123456789",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CONFOPS_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
        "CONFOPS_ADMIN_PASSWORD": PASSWORD,
        "DAGSTER_GRAPHQL_URL": own.url,
        "DAGSTER_UI_URL": "http://127.0.0.1:3000",
        "DAGSTER_CLOUD_GRAPHQL_URL": cloud.url,
        "DAGSTER_CLOUD_UI_URL": "https://acme.dagster.cloud/prod",
        "DAGSTER_CLOUD_API_TOKEN": TOKEN,
        "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/production-test",
    }


def run(command: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        command, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, f"{shlex.join(command)}\n{done.stdout}\n{done.stderr}"
    assert TOKEN not in done.stdout + done.stderr
    return done.stdout


def query(database: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(database) as connection:
        return connection.execute(sql).fetchall()


def test_the_readme_production_commands_give_a_portal_watching_two_deployments(
    tmp_path: Path, standins: tuple[StandIn, StandIn]
) -> None:
    own, cloud = standins
    commands = readme_commands()
    assert len(commands) < 10
    assert commands[0][-2:] == ["install", "."], "the first command installs confops"
    config = tmp_path / "confops.yaml"
    shutil.copy(PROJECT / "deploy" / "confops.example.yaml", config)
    port = free_port()
    env = environment(tmp_path / "data", own, cloud, port)
    database = tmp_path / "data" / "confops.sqlite3"
    printed: dict[str, str] = {}
    started: list[ManagedProcess] = []
    with ExitStack() as processes:
        for command in [as_run_here(c, config) for c in commands[1:]]:
            name = Path(command[0]).name
            if name not in LONG_RUNNING:
                printed[command[2] if name == "python" else name] = run(command, env)
                continue
            log_path = tmp_path / f"{name}-{len(started)}.log"
            started.append(
                ManagedProcess.start(name, command, env=env, cwd=PROJECT, log_path=log_path)
            )
            processes.callback(started[-1].stop)

        assert "deployment analytics: create" in printed["provision"]
        assert TOKEN not in "".join(printed.values())
        try:
            wait_until(lambda: both_polled(database), 90, "a successful poll of both deployments")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{logs(started)}") from None
        assert {TOKEN} == set(cloud.tokens), "every request to Dagster+ carried its token"
        assert "Poll" in own.operations and "Poll" in cloud.operations

        session = requests.Session()
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: reachable(session, f"{base}/accounts/login/"), 60, "gunicorn")
        login = session.post(
            f"{base}/accounts/login/",
            data={
                "username": "admin",
                "password": PASSWORD,
                "csrfmiddlewaretoken": session.cookies["csrftoken"],
            },
            headers={"Referer": f"{base}/accounts/login/"},
            timeout=10,
        )
        assert login.status_code == 200 and "/accounts/login/" not in login.url, login.text[:500]

    channels = query(database, "select name from alerts_channel order by name")
    assert channels == [("oncall-email",), ("oncall-slack",)]
    routed = query(
        database,
        "select r.name from alerts_alertrule r join alerts_alertrule_channels rc"
        " on rc.alertrule_id = r.id join alerts_channel c on c.id = rc.channel_id"
        " where c.name = 'oncall-slack'",
    )
    critical = query(database, "select name from alerts_alertrule where severity = 'critical'")
    assert {name for (name,) in routed} == {name for (name,) in critical} | {"Run failed"}
    provision = next(c for c in commands if "provision" in c)
    again = run(as_run_here(provision, config), env)
    assert again.strip().endswith("no changes")


def both_polled(database: Path) -> bool:
    """Both deployments' last poll succeeded (the poller records it on the deployment)."""
    sql = "select count(*) from monitoring_deployment where last_success_at is not null"
    return query(database, sql + " and consecutive_failures = 0") == [(2,)]


def logs(started: list[ManagedProcess]) -> str:
    return "\n".join(f"--- {p.name}\n{p.tail()}" for p in started)


def reachable(session: requests.Session, url: str) -> bool:
    try:
        return session.get(url, timeout=5).status_code == 200
    except requests.RequestException:
        return False
