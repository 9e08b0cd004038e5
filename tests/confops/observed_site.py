"""Settings for child processes of tests/confops/test_observability.py: confops's own settings
plus a URL that fails and a task that fails, so no crash endpoint ships in confops itself."""

from confops.settings import *  # noqa: F403

ROOT_URLCONF = "tests.confops.observed_urls"
# The worker imports the module at start, which registers the failing task.
CELERY_IMPORTS = ("tests.confops.observed_urls",)
