"""The failure sensor's interval comes from the environment, with Dagster's default of 30 s."""

from __future__ import annotations

import sys

import pytest

from tests.fixtures.dagster import CONFRADAR_DIR

if str(CONFRADAR_DIR) not in sys.path:
    sys.path.insert(0, str(CONFRADAR_DIR))

from confradar.alerting import INTERVAL_ENV, sensor_interval_seconds


def test_the_default_is_dagsters_30_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(INTERVAL_ENV, raising=False)
    assert sensor_interval_seconds() == 30


def test_the_environment_sets_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(INTERVAL_ENV, "5")
    assert sensor_interval_seconds() == 5


def test_a_bad_value_is_refused_with_its_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(INTERVAL_ENV, "fast")
    with pytest.raises(ValueError, match=INTERVAL_ENV):
        sensor_interval_seconds()
