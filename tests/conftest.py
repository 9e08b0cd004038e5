"""Shared fixtures: personas, isolated caches, and the real servers tests run against."""

pytest_plugins = ["tests.fixtures.dagster"]
