"""confops: an ops portal for data pipelines run by Dagster."""

from confops.celery import app as celery_app

__all__ = ["celery_app"]
