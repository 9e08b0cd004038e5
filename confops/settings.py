"""confops settings: one module, every value from the environment (see .env.example).

Defaults are the embedded mode: SQLite, a file-system Celery broker, a file cache and email to
the console, so the product runs on a bare machine. Production values (PostgreSQL, Redis, SMTP,
Slack) come from the environment.
"""

from __future__ import annotations

import ipaddress
import os
from datetime import timedelta
from pathlib import Path

from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from confops.common import queues
from confops.common.env import StrictEnv, read_dotenv
from confops.runtime import broker

BASE_DIR = Path(__file__).resolve().parent.parent
env = StrictEnv()
read_dotenv(BASE_DIR)

# --- Core -------------------------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off. Generate one with: "
            "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
        )
    SECRET_KEY = "insecure-debug-only-key"  # noqa: S105 - only ever used with DEBUG on
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Absolute URL of this portal, used in links sent out by email and Slack.
CONFOPS_BASE_URL = env.str("CONFOPS_BASE_URL", default="http://localhost:8000").rstrip("/")
# Where the embedded mode keeps its SQLite database, broker queue, cache and mail files.
DATA_DIR = Path(env.str("CONFOPS_DATA_DIR", default=str(BASE_DIR / "var")))
DATA_DIR.mkdir(parents=True, exist_ok=True)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "csp",
    "django_celery_beat",
    # The API's docs page uses the Swagger UI files bundled with django-ninja, not a CDN.
    "ninja",
    # Login throttling (confops/accounts/login_throttle.py).
    "axes",
    "confops",
    # API tokens, roles and the audit trail: below every domain app (confops/accounts/).
    "confops.accounts",
    "monitoring",
    "alerts",
    "reports",
]

MIDDLEWARE = [
    "confops.common.middleware.RequestIdMiddleware",
    # A NUL in a path or query string is a 400 before any view: PostgreSQL cannot compare it.
    "confops.common.middleware.RefuseNulInQueryMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Pages for a logged-in user or a token are never kept by browsers or shared caches.
    "confops.common.middleware.PrivateResponsesMiddleware",
    # Content-Security-Policy on every response (CONTENT_SECURITY_POLICY below).
    "csp.middleware.CSPMiddleware",
    # Every page needs login unless its view is marked @login_not_required (health probes).
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # An htmx request whose session ended moves the whole page to the login (HX-Redirect).
    "confops.common.middleware.HtmxLoginRedirectMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Turns a login refused for too many failures into a 429 page; last, as axes documents.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "confops.urls"
WSGI_APPLICATION = "confops.wsgi.application"
ASGI_APPLICATION = "confops.asgi.application"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'confops.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat write at once: WAL lets readers proceed and IMMEDIATE transactions
    # queue writers on the busy timeout instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (also holds heartbeats and locks, so it must be shared between processes) --------------
CACHES = {
    "default": env.cache_url("CACHE_URL", default=f"filecache://{DATA_DIR / 'cache'}"),
}

# --- Celery -----------------------------------------------------------------------------------
# The default broker is a file-system transport (confops/runtime/broker.py: kombu's, with atomic
# hand-offs and malformed messages set aside): no server, safe with several processes on one
# machine, and it keeps the broadcast that `celery inspect ping` needs. Use redis:// in production.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://localhost//")
BROKER_DIR = DATA_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT = "confops.runtime.broker:Transport"
    # kombu lists the queue folder this often (default 1 s); every hop on the way from a failure
    # to its message (beat -> poll -> delivery) waited half of it on average.
    CELERY_BROKER_TRANSPORT_OPTIONS = broker.transport_options(BROKER_DIR, polling_interval=0.1)
# A folder where every process writes the tasks it published, received and ran (confops/
# task_ledger.py); benchmarks/soak.py counts lost tasks with it. Empty: off.
TASK_LEDGER_DIR = env.str("TASK_LEDGER_DIR", default="")
CELERY_TASK_IGNORE_RESULT = True
# One queue per kind of work (confops/common/queues.py); a worker without -Q consumes them all.
CELERY_TASK_QUEUES = [Queue(name, routing_key=name) for name in queues.ALL]
CELERY_TASK_DEFAULT_QUEUE = queues.DEFAULT
CELERY_TASK_ROUTES = {name: {"queue": queue} for name, queue in queues.ROUTES.items()}
CELERY_RESULT_BACKEND = None
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # keep our JSON logging in workers
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=120)
CELERY_TASK_TIME_LIMIT = CELERY_TASK_SOFT_TIME_LIMIT + 30
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Email ------------------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="confops@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=15)

# --- Slack ------------------------------------------------------------------------------------
# Incoming-webhook URL for a default Slack channel; a secret, never logged or shown in full.
SLACK_WEBHOOK_URL = env.str("SLACK_WEBHOOK_URL", default="")
# Base URL of Slack's Web API (the Slack app channel kind); tests point it at a local stand-in.
SLACK_API_URL = env.str("SLACK_API_URL", default="https://slack.com/api/")

# --- PagerDuty ----------------------------------------------------------------------------------
# Events API v2 endpoint (the PagerDuty channel kind); tests point it at a local stand-in.
PAGERDUTY_EVENTS_URL = env.str(
    "PAGERDUTY_EVENTS_URL", default="https://events.pagerduty.com/v2/enqueue"
)

# --- Acknowledge links (Microsoft Teams cards, emails) ------------------------------------------
# Hours a one-use acknowledge link in a message stays valid after it was sent.
ACK_LINK_MAX_AGE_HOURS = env.positive_int("ACK_LINK_MAX_AGE_HOURS", default=24)

# --- Notification delivery (docs/notifications.md) ------------------------------------------------
# Attempts per message before it is marked failed (backoff with jitter between them).
NOTIFICATION_MAX_ATTEMPTS = env.positive_int("NOTIFICATION_MAX_ATTEMPTS", default=8)
# Timeout of one HTTP request to Slack or a webhook (read; connecting has 5 s).
NOTIFICATION_HTTP_TIMEOUT_SECONDS = env.float("NOTIFICATION_HTTP_TIMEOUT_SECONDS", default=10.0)
# A message claimed longer ago than this is presumed lost with its worker and sent again.
NOTIFICATION_CLAIM_TIMEOUT_SECONDS = env.positive_int(
    "NOTIFICATION_CLAIM_TIMEOUT_SECONDS", default=60
)
_LONGEST_SEND_SECONDS = max(EMAIL_TIMEOUT, NOTIFICATION_HTTP_TIMEOUT_SECONDS + 5)
if _LONGEST_SEND_SECONDS * 2 > NOTIFICATION_CLAIM_TIMEOUT_SECONDS:
    # Shorter, and a slow but live send would be taken for a dead worker and sent twice.
    raise ImproperlyConfigured(
        "NOTIFICATION_CLAIM_TIMEOUT_SECONDS must be at least twice the longest send timeout "
        "(EMAIL_TIMEOUT, NOTIFICATION_HTTP_TIMEOUT_SECONDS + 5 s to connect)"
    )

# --- Health and heartbeats --------------------------------------------------------------------
# A beat or worker heartbeat older than this is reported as stale by /health/detailed.
HEARTBEAT_INTERVAL_SECONDS = env.positive_int("HEARTBEAT_INTERVAL_SECONDS", default=15)
HEARTBEAT_STALE_SECONDS = env.positive_int("HEARTBEAT_STALE_SECONDS", default=90)
HEALTH_CHECK_TIMEOUT_SECONDS = env.float("HEALTH_CHECK_TIMEOUT_SECONDS", default=3.0)

# --- Watching confops itself (confops/runtime/watchdog.py) ----------------------------------------
# A deployment not polled at all for this many of its intervals (but never less than the floor)
# means the poller is stuck: it opens the confops-internal alert, as a stale beat does.
WATCHER_STALE_POLL_INTERVALS = env.positive_int("WATCHER_STALE_POLL_INTERVALS", default=5)
WATCHER_STALE_POLL_FLOOR_SECONDS = env.positive_int("WATCHER_STALE_POLL_FLOOR_SECONDS", default=60)
# How often each worker's watcher thread checks (at most one check per interval runs, however
# many workers and health probes ask).
WATCHER_CHECK_INTERVAL_SECONDS = env.positive_int("WATCHER_CHECK_INTERVAL_SECONDS", default=30)
# Optional dead man's switch: pinged after good evaluation cycles, at most once per interval,
# so an outside service (Healthchecks-style) notices when confops stops.
DEAD_MANS_SWITCH_URL = env.str("DEAD_MANS_SWITCH_URL", default="")
DEAD_MANS_SWITCH_MIN_INTERVAL_SECONDS = env.positive_int(
    "DEAD_MANS_SWITCH_MIN_INTERVAL_SECONDS", default=60
)

# --- Prometheus metrics (/metrics, confops/runtime/metrics.py) ------------------------------------
# A scraper is let in by the bearer token, the allow-list, or both when both are set; with
# neither, /metrics needs a login like every page (so anonymous scrapers are refused).
METRICS_BEARER_TOKEN = env.str("METRICS_BEARER_TOKEN", default="")
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=[])
try:
    METRICS_ALLOWED_NETWORKS = [ipaddress.ip_network(n, strict=False) for n in METRICS_ALLOWED_IPS]
except ValueError as exc:
    raise ImproperlyConfigured(f"METRICS_ALLOWED_IPS: {exc}") from None
# Numeric metadata exposed per source as confops_source_last_metric_value{metric=...}: a fixed
# list, so a pipeline that attaches new metadata cannot multiply the series.
METRICS_SOURCE_METRIC_NAMES = env.list("METRICS_SOURCE_METRIC_NAMES", default=["count"])
# The poll duration histogram and the failed polls count the polls of this last window.
METRICS_POLL_WINDOW_SECONDS = env.positive_int("METRICS_POLL_WINDOW_SECONDS", default=300)
# Request latency histograms, summed over every gunicorn worker through prometheus_client's
# multiprocess mode: a folder each worker writes and /metrics reads. Empty: no request metrics.
METRICS_MULTIPROC_DIR = env.str("METRICS_MULTIPROC_DIR", default="")
if METRICS_MULTIPROC_DIR:
    Path(METRICS_MULTIPROC_DIR).mkdir(parents=True, exist_ok=True)
    # prometheus_client picks its value store when first imported, which is after settings.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = METRICS_MULTIPROC_DIR
    # First after the request id, so it times the whole stack.
    MIDDLEWARE.insert(1, "confops.common.request_metrics.RequestMetricsMiddleware")

# --- Dagster polling --------------------------------------------------------------------------
# The total time one GraphQL request may take, body included (a server that drips its answer
# never trips a read timeout), and the largest answer read (a full first sync is ~0.3 MB).
DAGSTER_REQUEST_TIMEOUT_SECONDS = env.float("DAGSTER_REQUEST_TIMEOUT_SECONDS", default=10.0)
DAGSTER_MAX_RESPONSE_MB = env.positive_int("DAGSTER_MAX_RESPONSE_MB", default=32)
# Re-ask for runs updated this long before the high-water mark (strict filter, clock skew).
DAGSTER_POLL_OVERLAP_SECONDS = env.float("DAGSTER_POLL_OVERLAP_SECONDS", default=30.0)
DAGSTER_RUNS_PAGE_SIZE = env.positive_int("DAGSTER_RUNS_PAGE_SIZE", default=100)
# How far back the first poll of a new deployment reads runs.
DAGSTER_INITIAL_LOOKBACK_DAYS = env.positive_int("DAGSTER_INITIAL_LOOKBACK_DAYS", default=30)
# Re-read definitions this often even when no code location changed.
DAGSTER_DISCOVERY_INTERVAL_SECONDS = env.positive_int(
    "DAGSTER_DISCOVERY_INTERVAL_SECONDS", default=300
)
DAGSTER_TICKS_INTERVAL_SECONDS = env.positive_int("DAGSTER_TICKS_INTERVAL_SECONDS", default=30)
DAGSTER_MAX_RUN_DETAILS_PER_POLL = env.positive_int("DAGSTER_MAX_RUN_DETAILS_PER_POLL", default=25)
POLL_RECORD_RETENTION_HOURS = env.positive_int("POLL_RECORD_RETENTION_HOURS", default=48)

# --- Retention (docs/storage.md) --------------------------------------------------------------
# History older than this is deleted hourly in short batches (alerts/retention.py), except what is
# still needed: each source's newest run and newest success, the runs of open alerts, the newest
# event of each source and kind and result of each check, and undelivered notifications. Poll
# records keep POLL_RECORD_RETENTION_HOURS. Rules read at most their window of history: keep the
# runs longer than the longest rule window.
RUN_RETENTION_DAYS = env.positive_int("RUN_RETENTION_DAYS", default=90)
EVENT_RETENTION_DAYS = env.positive_int("EVENT_RETENTION_DAYS", default=90)
CHECK_RESULT_RETENTION_DAYS = env.positive_int("CHECK_RESULT_RETENTION_DAYS", default=90)
# Sent, failed and cancelled outbox rows (with their delivery attempts); pending ones stay.
NOTIFICATION_RETENTION_DAYS = env.positive_int("NOTIFICATION_RETENTION_DAYS", default=30)
# Rows per DELETE (each its own short transaction) and the wall time one pruning task may take.
PRUNE_BATCH_SIZE = env.positive_int("PRUNE_BATCH_SIZE", default=5000)
PRUNE_BUDGET_SECONDS = env.float("PRUNE_BUDGET_SECONDS", default=30.0)

# --- Daily report (docs/reports.md) ---------------------------------------------------------------
# The report covers midnight to midnight in this zone; beat sends yesterday's at REPORT_SEND_AT.
REPORT_TIME_ZONE = env.str("REPORT_TIME_ZONE", default="UTC")
REPORT_SEND_AT = env.str("REPORT_SEND_AT", default="07:00")
try:
    import zoneinfo as _zoneinfo

    _zoneinfo.ZoneInfo(REPORT_TIME_ZONE)
    _send_hour, _send_minute = (int(part) for part in REPORT_SEND_AT.split(":"))
    if not (0 <= _send_hour < 24 and 0 <= _send_minute < 60):
        raise ValueError(REPORT_SEND_AT)
except (ValueError, _zoneinfo.ZoneInfoNotFoundError):
    raise ImproperlyConfigured(
        f"REPORT_TIME_ZONE={REPORT_TIME_ZONE!r} / REPORT_SEND_AT={REPORT_SEND_AT!r}: use an IANA "
        "time zone such as Europe/Paris and a time as HH:MM"
    ) from None
# Threshold suggestions backtest at most this many of the day's noisiest rules (0: none).
REPORT_BACKTEST_RULES = env.int("REPORT_BACKTEST_RULES", default=3)

# --- Pages ------------------------------------------------------------------------------------
# How often the status page refreshes its grid, timeline and counters (htmx). A constant, not an
# environment variable: tests lower it so a browser sees a change within a second.
STATUS_REFRESH_SECONDS = 15

# --- Security ---------------------------------------------------------------------------------
# Behind TLS, set what deploy/https.env lists (`manage.py check --deploy` is clean with it).
SECURE_COOKIES = env.bool("SECURE_COOKIES", default=False)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=SECURE_COOKIES)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=SECURE_COOKIES)
SESSION_COOKIE_HTTPONLY = True
if env.bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Reverse proxies in front that append to X-Forwarded-For (confops/common/addresses.py): the
# client's address for login throttling and METRICS_ALLOWED_IPS is that many entries from the right.
TRUSTED_PROXY_COUNT = env.non_negative_int("TRUSTED_PROXY_COUNT", default=0)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
# Probes and scrapers inside the network ask over plain HTTP: they are answered, not redirected.
SECURE_REDIRECT_EXEMPT = [r"^health(/|$)", r"^metrics$"]
# Browsers remember to use HTTPS only for this long (0: no Strict-Transport-Security header).
SECURE_HSTS_SECONDS = env.non_negative_int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
# Content-Security-Policy (django-csp 4): scripts from this site only and never inline (htmx is
# configured without eval or its injected style, templates/base.html); images from this site or
# data: URLs, so a runbook cannot load a tracking pixel. Inline styles stay allowed: the daily
# report's HTML is also an email and styles itself inline, and the admin has a <style> block;
# a style cannot run script.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
# Login throttling (django-axes, confops/accounts/login_throttle.py): after LOGIN_FAILURE_LIMIT
# wrong passwords for one username from one address, that pair is refused (429) for
# LOGIN_COOLOFF_MINUTES, even with the right password; a success resets the count. By username and
# address together, so nobody can lock everyone out; API tokens are not affected. Behind a proxy
# the address is the proxy's, so the count is per username.
AUTHENTICATION_BACKENDS = [
    "confops.accounts.login_throttle.WebLoginThrottle",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.positive_int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.positive_int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "confops.common.addresses.client_address"
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True  # failures are counted; successful logins need no second log
AXES_VERBOSE = False  # no banner in every process's log at start-up
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Internationalisation and time ------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Static files -----------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(DATA_DIR / "staticfiles")))
# In DEBUG (the demo) whitenoise serves straight from the source folders, no collectstatic.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Logging ----------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
LOG_FORMAT = env.str("LOG_FORMAT", default="text" if DEBUG else "json")
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r}: use json or text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "context": {"()": "confops.common.logging.ContextFilter"},
        # urllib3 names the paths it requests: a Slack webhook's path is its secret.
        "outgoing_urls": {"()": "confops.common.logging.OutgoingUrlFilter"},
    },
    "formatters": {
        "json": {"()": "confops.common.logging.JsonLineFormatter"},
        "text": {"()": "confops.common.logging.TextLineFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["context", "outgoing_urls"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "celery": {"level": LOG_LEVEL},
    },
}

# Django's error reports (the DEBUG page, error emails) show settings and request.META with every
# URL cut to scheme and host: a URL's secret sits under a name Django does not hide.
DEFAULT_EXCEPTION_REPORTER_FILTER = "confops.common.error_reports.SafeExceptionReporterFilter"

# --- Error tracking and tracing (confops/common/observability.py) ---------------------------------
# Sentry is on only with a DSN; started here so web, worker, beat and manage.py all report.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
SENTRY_RELEASE = env.str("SENTRY_RELEASE", default="")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default="production")
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)
if not 0.0 <= SENTRY_TRACES_SAMPLE_RATE <= 1.0:
    raise ImproperlyConfigured("SENTRY_TRACES_SAMPLE_RATE must be between 0 and 1")
if SENTRY_DSN:
    from confops.common.observability import init_sentry

    init_sentry(SENTRY_DSN, SENTRY_RELEASE, SENTRY_ENVIRONMENT, SENTRY_TRACES_SAMPLE_RATE)
# OpenTelemetry is on only with an OTLP endpoint (wsgi.py and celery.py instrument the process).
OTEL_EXPORTER_OTLP_ENDPOINT = env.str("OTEL_EXPORTER_OTLP_ENDPOINT", default="")
OTEL_SERVICE_NAME = env.str("OTEL_SERVICE_NAME", default="confops")
