"""manage.py provision FILE.yaml: deployments and channels declared in a file, with the rules
routed to each channel, applied like Grafana provisioning (idempotent, a dry run, secrets from
the environment, every error naming file, path and line, nothing applied on an error)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from alerts.models import AlertRule, Channel
from confops.accounts.models import AuditEntry
from monitoring.models import Deployment

pytestmark = pytest.mark.django_db
EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "confops.example.yaml"
TOKEN = "user:agent-token-0123456789abcdef"
SLACK_URL = "https://hooks.slack.com/services/T000/B000/slacksecret0123"
ENV = {
    "DAGSTER_GRAPHQL_URL": "http://dagster.internal:3000/graphql",
    "DAGSTER_UI_URL": "http://dagster.internal:3000",
    "DAGSTER_CLOUD_GRAPHQL_URL": "https://acme.dagster.cloud/prod/graphql",
    "DAGSTER_CLOUD_UI_URL": "https://acme.dagster.cloud/prod",
    "DAGSTER_CLOUD_API_TOKEN": TOKEN,
    "SLACK_WEBHOOK_URL": SLACK_URL,
}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)


def provision(path: Path, *args: str) -> str:
    out = io.StringIO()
    call_command("provision", str(path), *args, stdout=out)
    return out.getvalue()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "confops.yaml"
    path.write_text(text)
    return path


@pytest.mark.usefixtures("env")
def test_the_example_file_declares_two_deployments_and_routed_channels() -> None:
    out = provision(EXAMPLE)
    assert "deployment analytics: create" in out
    cloud = Deployment.objects.get(name="analytics")
    assert cloud.request_headers() == {"Dagster-Cloud-Api-Token": TOKEN}
    assert Deployment.objects.get(name="ingestion").poll_interval_seconds == 5
    slack = Channel.objects.get(name="oncall-slack")
    assert slack.secret == SLACK_URL
    assert Channel.objects.get(name="oncall-email").is_default
    routed = set(slack.rules.values_list("name", flat=True))
    critical = set(AlertRule.objects.filter(severity="critical").values_list("name", flat=True))
    assert routed == critical | {"Run failed"}
    assert TOKEN not in out and "slacksecret" not in out


@pytest.mark.usefixtures("env")
def test_a_second_apply_changes_nothing_and_says_so() -> None:
    provision(EXAMPLE)
    entries = AuditEntry.objects.count()
    out = provision(EXAMPLE)
    assert out.strip().endswith("no changes")
    assert "create" not in out and "update" not in out
    assert AuditEntry.objects.count() == entries


@pytest.mark.usefixtures("env")
def test_changes_are_audited_as_provisioning() -> None:
    provision(EXAMPLE)
    labels = set(
        AuditEntry.objects.filter(object_type="monitoring.Deployment").values_list(
            "actor_label", flat=True
        )
    )
    assert labels == {"manage.py provision"}
    assert AuditEntry.objects.filter(
        object_type="alerts.Channel", actor_label="manage.py provision"
    )
    assert TOKEN not in str(list(AuditEntry.objects.values_list("changes", flat=True)))


@pytest.mark.usefixtures("env")
def test_a_dry_run_prints_the_plan_and_writes_nothing() -> None:
    out = provision(EXAMPLE, "--dry-run")
    assert "deployment ingestion: create" in out
    assert "channel oncall-slack: create" in out
    assert "rule Run failed: update (channels)" in out
    assert not Deployment.objects.exists()
    assert not Channel.objects.exists()


@pytest.mark.usefixtures("env")
def test_an_edit_updates_only_what_changed(tmp_path: Path) -> None:
    provision(EXAMPLE)
    edited = EXAMPLE.read_text().replace("poll_interval_seconds: 30", "poll_interval_seconds: 60")
    edited = edited.replace("    rules:\n      - Run failed\n", "    rules: []\n")
    out = provision(write(tmp_path, edited))
    assert "deployment analytics: update (poll_interval_seconds)" in out
    assert "deployment ingestion: unchanged" in out
    assert "rule Run failed: update (channels)" in out
    assert not AlertRule.objects.get(name="Run failed").channels.exists()
    assert Deployment.objects.get(name="analytics").poll_interval_seconds == 60


def test_a_missing_variable_names_file_path_and_line_and_applies_nothing(
    env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DAGSTER_CLOUD_API_TOKEN")
    with pytest.raises(CommandError) as error:
        provision(EXAMPLE)
    line = (
        EXAMPLE.read_text().splitlines().index("    auth_header_value: ${DAGSTER_CLOUD_API_TOKEN}")
    )
    assert str(error.value) == (
        f"{EXAMPLE}:{line + 1}: deployments[1].auth_header_value: "
        "environment variable DAGSTER_CLOUD_API_TOKEN is not set"
    )
    assert not Deployment.objects.exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "deployments:\n  - name: a\n    graphql_url: http://a.internal/graphql\n"
            "    polling: 5\n",
            ":4: deployments[0].polling: unknown key",
            id="unknown-key",
        ),
        pytest.param(
            "deployments:\n  - name: a\n    graphql_url: not a url\n",
            ":3: deployments[0].graphql_url: Enter a valid URL.",
            id="bad-url",
        ),
        pytest.param(
            "deployments:\n  - name: a\n    graphql_url: http://a.internal/graphql\n"
            "    enabled: maybe\n",
            ":4: deployments[0].enabled: expected true or false",
            id="bad-type",
        ),
        pytest.param(
            "channels:\n  - name: c\n    kind: email\n    config: {to: [a@example.com]}\n"
            "    rules: [Run failed, No such rule]\n",
            ":5: channels[0].rules[1]: no rule has this name",
            id="unknown-rule",
        ),
        pytest.param(
            "channels:\n  - name: c\n    kind: email\n    config: {}\n",
            ":4: channels[0].config:",
            id="bad-channel-config",
        ),
        pytest.param(
            "channels:\n  - name: c\n    kind: email\n    config: {to: [a@example.com]}\n"
            "    route_owners: team:ingestion\n",
            ":5: channels[0].route_owners: expected a list",
            id="route-owners-not-a-list",
        ),
        pytest.param(
            "channels:\n  - name: c\n    kind: email\n    config: {to: [a@example.com]}\n"
            "    route_tags: [=retail]\n",
            ':5: channels[0].route_tags: Each tag is "key" or "key=value"',
            id="route-tag-without-key",
        ),
        pytest.param(
            "channels:\n  - name: c\n    kind: email\n    config: {to: [a@example.com]}\n"
            "    default: true\n    route_owners: [team:ingestion]\n",
            "channels[0].default: A channel with route owners or tags",
            id="routed-default-channel",
        ),
        pytest.param("deployments: [\n", ":2: (file): not valid YAML", id="not-yaml"),
    ],
)
def test_a_bad_document_is_refused_with_its_line_and_nothing_is_applied(
    tmp_path: Path, text: str, expected: str
) -> None:
    # A valid deployment first: it must not be saved when a later object is refused.
    valid = "deployments:\n  - name: ok\n    graphql_url: http://ok.internal/graphql\n"
    path = write(tmp_path, text)
    with pytest.raises(CommandError, match="^" + str(path).replace(".", r"\.")) as error:
        provision(path)
    assert expected in str(error.value)
    path.write_text(valid + text.removeprefix("deployments:\n"))
    with pytest.raises(CommandError):
        provision(path)
    assert not Deployment.objects.exists()


def test_a_secret_in_a_refused_value_is_not_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOKEN", TOKEN)
    path = write(tmp_path, "channels:\n  - name: c\n    kind: email\n    min_severity: ${TOKEN}\n")
    with pytest.raises(CommandError) as error:
        provision(path)
    assert ":4: channels[0].min_severity:" in str(error.value)
    assert TOKEN not in str(error.value)


def uncommented_routed_channel() -> str:
    """The example file with its commented-out routed channel switched on."""
    lines = EXAMPLE.read_text().splitlines()
    start = lines.index("  # - name: ingestion-team")
    block = [line.replace("  # ", "  ", 1) for line in lines[start:]]
    return "\n".join(lines[:start] + block) + "\n"


@pytest.mark.usefixtures("env")
def test_the_example_s_routed_channel_declares_route_owners_and_tags(tmp_path: Path) -> None:
    path = write(tmp_path, uncommented_routed_channel())
    out = provision(path)
    assert "channel ingestion-team: create" in out
    team = Channel.objects.get(name="ingestion-team")
    assert (team.route_owners, team.route_tags) == (["team:ingestion"], ["domain=retail"])
    assert not team.is_default and not team.rules.exists()
    assert provision(path).strip().endswith("no changes")
    path.write_text(path.read_text().replace('["domain=retail"]', '["domain"]'))
    assert "channel ingestion-team: update (route_tags)" in provision(path)
    assert Channel.objects.get(name="ingestion-team").route_tags == ["domain"]
