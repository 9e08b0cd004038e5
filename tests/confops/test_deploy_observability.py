"""deploy/prometheus and deploy/grafana: valid for promtool and Grafana's provisioning, wired into
docker-compose's observability profile, and every metric they name exists in /metrics."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import time_machine
import yaml
from django.test import Client

from confops.runtime import heartbeat
from confops.runtime.metrics import record_evaluation
from tests.confops.test_metrics import NOW, TOKEN, scrape, seed

PROJECT = Path(__file__).resolve().parents[2]
PROMETHEUS = PROJECT / "deploy/prometheus"
GRAFANA = PROJECT / "deploy/grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
METRIC_NAME = re.compile(r"confops_[a-z0-9_]+")
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool missing: scripts/services.sh installs Debian's prometheus"
)


def rules() -> list[dict[str, Any]]:
    parsed = yaml.safe_load((PROMETHEUS / "rules/confops.yml").read_text())
    return [rule for group in parsed["groups"] for rule in group["rules"]]


def dashboard_targets() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    found = []
    for path in DASHBOARDS:
        for panel in json.loads(path.read_text())["panels"]:
            found += [(path.name, panel, target) for target in panel["targets"]]
    return found


def promql() -> list[str]:
    expressions = [rule["expr"] for rule in rules()]
    expressions += [target["expr"] for _, _, target in dashboard_targets()]
    for path in DASHBOARDS:
        variables = json.loads(path.read_text())["templating"]["list"]
        expressions += [v["query"]["query"] for v in variables]
    return expressions


@needs_promtool
def test_promtool_accepts_the_rules_and_their_unit_tests() -> None:
    for args in (["check", "rules", "confops.yml"], ["test", "rules", "confops_test.yml"]):
        result = subprocess.run(
            [str(PROMTOOL), *args], cwd=PROMETHEUS / "rules", capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_promtool_accepts_the_scrape_config(tmp_path: Path) -> None:
    # The token file is written by the container's command; promtool wants it to exist.
    token = tmp_path / "token"
    token.write_text("t")
    config = (PROMETHEUS / "prometheus.yml").read_text()
    assert "/prometheus/confops_metrics_token" in config
    (tmp_path / "prometheus.yml").write_text(
        config.replace("/prometheus/confops_metrics_token", str(token))
    )
    shutil.copytree(PROMETHEUS / "rules", tmp_path / "rules")
    result = subprocess.run(
        [str(PROMTOOL), "check", "config", str(tmp_path / "prometheus.yml")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_rules_cover_confops_own_health() -> None:
    names = {rule["alert"]: rule for rule in rules()}
    expected = {
        "ConfopsScrapeDown",
        "ConfopsNoSuccessfulPoll",
        "ConfopsBeatHeartbeatStale",
        "ConfopsNotificationsFailing",
    }
    assert expected <= set(names)
    for rule in names.values():
        assert rule["labels"]["severity"] in ("critical", "warning")
        assert rule["annotations"]["summary"]
    no_poll = names["ConfopsNoSuccessfulPoll"]["expr"]
    assert "clamp_min(5 * confops_deployment_poll_interval_seconds, 300)" in no_poll


def test_the_scrape_config_reads_metrics_with_the_token() -> None:
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    (job,) = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    assert job["authorization"]["type"] == "Bearer"
    assert config["rule_files"] == ["rules/confops.yml"]


def test_the_dashboards_are_valid_and_use_the_provisioned_data_source() -> None:
    source = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yml").read_text())
    (datasource,) = source["datasources"]
    assert {path.stem for path in DASHBOARDS} == {"pipeline-health", "alerts", "internals"}
    uids = set()
    for path in DASHBOARDS:
        board = json.loads(path.read_text())
        uids.add(board["uid"])
        ids = [panel["id"] for panel in board["panels"]]
        assert len(ids) == len(set(ids)), f"{path.name}: panel ids repeat"
        for panel in board["panels"]:
            assert panel["targets"], f"{path.name}: {panel['title']} has no query"
            assert panel["datasource"]["uid"] == datasource["uid"]
    assert len(uids) == len(DASHBOARDS)
    for name, panel, target in dashboard_targets():
        assert target["datasource"]["uid"] == datasource["uid"], (name, panel["title"])
        assert target["expr"].strip()


def test_the_pipeline_dashboard_has_a_state_grid_and_run_durations() -> None:
    board = json.loads((GRAFANA / "dashboards/pipeline-health.json").read_text())
    queries = [(t["expr"], p["type"]) for p in board["panels"] for t in p["targets"]]
    assert any("confops_source_state" in e and k == "stat" for e, k in queries)
    assert any("confops_source_last_run_duration_seconds" in e for e, _ in queries)


def test_the_dashboard_provider_loads_the_mounted_folder() -> None:
    provider = yaml.safe_load((GRAFANA / "provisioning/dashboards/confops.yml").read_text())
    path = provider["providers"][0]["options"]["path"]
    compose = yaml.safe_load((PROJECT / "docker-compose.yml").read_text())
    assert f"./deploy/grafana/dashboards:{path}:ro" in compose["services"]["grafana"]["volumes"]


def test_prometheus_and_grafana_are_an_optional_compose_profile() -> None:
    compose = yaml.safe_load((PROJECT / "docker-compose.yml").read_text())
    for name in ("prometheus", "grafana"):
        assert compose["services"][name]["profiles"] == ["observability"]
    assert "./deploy/prometheus:/etc/prometheus:ro" in compose["services"]["prometheus"]["volumes"]
    token = compose["x-confops-env"]["METRICS_BEARER_TOKEN"]
    assert compose["services"]["prometheus"]["environment"]["METRICS_BEARER_TOKEN"] == token
    for name in ("web", "worker", "beat", "postgres"):
        assert "profiles" not in compose["services"][name], f"{name} must start by default"


def test_every_metric_the_rules_and_dashboards_name_exists_in_metrics(
    db: None, settings: Any, client: Client
) -> None:
    settings.METRICS_BEARER_TOKEN = TOKEN
    # Seeded, recorded and scraped at NOW: the scrape measures the seed's ages on the clock.
    with time_machine.travel(NOW, tick=False):
        seed()
        heartbeat.record_beat(NOW.timestamp())
        heartbeat.record_worker_task("w", NOW.timestamp())
        heartbeat.record_worker("celery@w", NOW.timestamp())
        for trigger in ("timer", "poll"):
            record_evaluation(trigger, 0.1, NOW.timestamp())
        families = scrape(client, Authorization=f"Bearer {TOKEN}")
    exposed = set(families) | {sample.name for s in families.values() for sample in s}
    referenced = {name for expr in promql() for name in METRIC_NAME.findall(expr)}
    assert len(referenced) >= 15
    assert sorted(referenced - exposed) == []
