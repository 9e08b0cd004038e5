"""A sensor that watches the conference-source registry for new sources to crawl.

It never requests runs (the registry is static here); it exists so that a sensor tick can fail
on demand: set the fault `{"source_registry_sensor": {"fail": true}}` in the faults file and
its next tick raises, as a sensor whose upstream feed is down would.
"""

import dagster as dg

from confradar.faults import REGISTRY_SENSOR, AssetFaults, load_plan

SENSOR_NAME = REGISTRY_SENSOR
REGISTRY_DOWN_MESSAGE = (
    "ConnectionError: could not reach the source registry at "
    "https://registry.confradar.example/sources.json (timed out after 10 s)"
)


@dg.sensor(
    name=SENSOR_NAME,
    minimum_interval_seconds=5,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Checks the source registry for new conference sources.",
)
def source_registry_sensor(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    # Only its own entry: a "*" fault is meant for the scrapers, not for this sensor.
    faults = AssetFaults(**load_plan().knobs.get(SENSOR_NAME, {}))
    if faults.fail:
        raise ConnectionError(faults.message or REGISTRY_DOWN_MESSAGE)
    return dg.SkipReason("no new sources in the registry")
