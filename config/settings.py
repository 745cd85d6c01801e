"""Counterweight settings: one module, read from the environment.

Defaults run on a machine with nothing but Python: SQLite and a filesystem Celery broker
under var/. DATABASE_URL switches to PostgreSQL, REDIS_URL switches Celery's broker and
Django's cache to Redis.
"""

from __future__ import annotations

import importlib.util
import secrets
from collections.abc import Callable
from pathlib import Path

import dj_database_url
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_decimal, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)


def _development_secret(name: str, make: Callable[[], str]) -> str:
    """A secret kept under var/ for DEBUG runs only, made on first use, readable by its owner."""
    path = VAR_DIR / name
    if not path.exists():
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


def _required_secret(name: str, make: Callable[[], str], how: str) -> str:
    value = env_str(name)
    if value:
        return value
    if DEBUG:
        return _development_secret(name.lower(), make)
    raise ImproperlyConfigured(f"{name} is not set and DEBUG is off: refusing to start. {how}")


SECRET_KEY = _required_secret(
    "SECRET_KEY",
    lambda: secrets.token_urlsafe(50),
    "Set it in the environment, e.g. SECRET_KEY=$(python -c "
    "'import secrets; print(secrets.token_urlsafe(50))').",
)

# Fernet keys for exchange credentials, comma-separated, newest first. Every key decrypts;
# only the first encrypts, so a new key goes in front and old ones retire after rotation.
CREDENTIALS_KEYS = _required_secret(
    "CREDENTIALS_KEYS",
    lambda: Fernet.generate_key().decode(),
    "Give one or more Fernet keys, comma-separated, newest first: python -c "
    "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'.",
).split(",")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1" if DEBUG else "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # Before staticfiles: runserver leaves /static/ to WhiteNoise, as in production.
    "whitenoise.runserver_nostatic",
    "config.apps.StaticFiles",  # django.contrib.staticfiles without plotly's unused files
    "django_celery_beat",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "csp",
    "accounts",
    "portfolio",
    "riskmodels",
]

MIDDLEWARE = [
    "accounts.client_address.ClientAddressMiddleware",  # first: everything after logs the client
    "config.middleware.NoStoreMiddleware",  # outside the rest: it sees every response
    "config.middleware.RejectNulMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # static files, before anything else reads
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.TwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks: it turns lockouts into pages
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'counterweight.sqlite3'}",
        conn_max_age=60,
        # A kept connection is checked before reuse, so a restarted PostgreSQL costs a
        # reconnect, not a failed request or task.
        conn_health_checks=True,
    )
}
# On SQLite the test database is a file, not memory, so that a real Celery worker started
# by a test can open it too.
_sqlite = DATABASES["default"]["ENGINE"].endswith("sqlite3")
if _sqlite:
    # The web process, the workers and beat write to one file: take the write lock at the
    # start of a transaction (no upgrade deadlocks), wait for it rather than fail, and let
    # readers go on during writes (WAL).
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DATABASES["default"]["TEST"] = {
    "NAME": env_str("TEST_DATABASE_NAME") or (str(VAR_DIR / "test.sqlite3") if _sqlite else None)
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT") or VAR_DIR / "static")


def _package_dir(name: str) -> Path:
    """An installed package's directory; find_spec locates it without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise ImproperlyConfigured(f"The {name} package is not installed: see requirements.txt.")
    return Path(spec.origin).parent


# plotly.js as the installed plotly package bundles it, served as /static/plotly/plotly.min.js:
# no copy in the repository, no CDN, and always the version requirements.txt pins.
STATICFILES_DIRS = [("plotly", _package_dir("plotly") / "package_data")]

# Static files are served by WhiteNoise from STATIC_ROOT, as collectstatic writes them (make demo,
# make bench and the test session run it): hashed names (a far-future, immutable cache header)
# and a gzip copy of each (plotly.min.js goes from 4.8 MB to about 1.4 MB on the wire).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "config.storage.HashedStaticFilesStorage"},
}

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # A cache that is down must fail fast: nothing here depends on it for correctness.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
        }
    }
else:
    # A file cache, not local memory: the web process and the workers must see the same entries.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# Celery: JSON only (never pickle from a broker), bounded tasks, acknowledged after the work
# so that a worker lost mid-task hands the task to another.
BROKER_DIR = VAR_DIR / "broker"
if not REDIS_URL:  # kombu's filesystem transport expects its folders to exist
    for folder in ("out", "processed", "control"):
        (BROKER_DIR / folder).mkdir(parents=True, exist_ok=True)
CELERY_BROKER_URL = REDIS_URL or "filesystem://"
# Redis hands an unacknowledged task to another worker after visibility_timeout: it must
# outlast the longest task, or a slow task would run twice. (Sync retries wait in the database
# and beat sends them; only a database that cannot be reached still uses a broker countdown.)
# A worker killed mid-task has its task redelivered after this long.
REDIS_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("BROKER_VISIBILITY_TIMEOUT", 3600),
    "socket_connect_timeout": 2,
    "socket_timeout": 10,
}
# With the broker down, sending fails within about a second instead of hanging a request;
# sync rounds that could not be sent are sent again by dispatch_pending_rounds.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.25,
    "interval_max": 0.5,
}
CELERY_BROKER_TRANSPORT_OPTIONS = (
    REDIS_TRANSPORT_OPTIONS
    if REDIS_URL
    else {
        "data_folder_in": str(BROKER_DIR / "out"),
        "data_folder_out": str(BROKER_DIR / "out"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 240)

# Beat reads its schedule from the database, so an admin changes it in the admin.
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# Syncs: the exchange whose public tickers price what an account's own exchange does not
# quote in USD (USDT/USD on binance, say); attempts per sync; how long a running sync holds
# its account before it is taken for abandoned.
PRICE_REFERENCE_EXCHANGE = env_str("PRICE_REFERENCE_EXCHANGE", "kraken")
SYNC_MAX_RETRIES = env_int("SYNC_MAX_RETRIES", 4)
SYNC_TIMEOUT_MS = env_int("SYNC_TIMEOUT_MS", 10_000)
# A sync's running run is its account's lock (portfolio/sync.py). The lease must outlast a
# sync (the task time limit ends one) and be shorter than the broker's visibility timeout,
# so that a task redelivered after its worker died finds the dead sync's run abandoned.
SYNC_LEASE_SECONDS = env_int("SYNC_LEASE_SECONDS", CELERY_TASK_TIME_LIMIT)
SYNC_INTERVAL_MINUTES = env_int("SYNC_INTERVAL_MINUTES", 15)
# A sync that lowers a location's value, or one wallet's, by more than this share (or empties
# a wallet) is held until a second read this many seconds later agrees (portfolio/drops.py).
SYNC_DROP_THRESHOLD = env_decimal("SYNC_DROP_THRESHOLD", "0.5")
SYNC_DROP_CONFIRM_SECONDS = env_int("SYNC_DROP_CONFIRM_SECONDS", 120)
# A quote more than this factor above or below the asset's last price is refused (the asset
# is unpriced, with the reason, until a later quote or a manual price is accepted); a price
# older than PRICE_STALE_HOURS is marked not current on the report.
PRICE_JUMP_FACTOR = env_decimal("PRICE_JUMP_FACTOR", "10")
PRICE_STALE_HOURS = env_int("PRICE_STALE_HOURS", 24)
# A change to holdings, prices or a policy recomputes the affected reports once the changes
# have stopped for this many seconds (many edits, one computation), but never later than
# RECOMPUTE_MAX_WAIT_SECONDS after the first (riskmodels/freshness.py).
RECOMPUTE_DEBOUNCE_SECONDS = env_int("RECOMPUTE_DEBOUNCE_SECONDS", 3)
RECOMPUTE_MAX_WAIT_SECONDS = env_int("RECOMPUTE_MAX_WAIT_SECONDS", 30)

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
# Where the file backend writes (make demo uses it: its console keeps the users last).
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH") or str(VAR_DIR / "mail")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "counterweight@localhost")

# The offline exchange emulator (sandbox/): when set, every ccxt URL is rewritten to it.
# Development and tests only; production leaves it empty.
EXCHANGE_EMULATOR_URL = env_str("EXCHANGE_EMULATOR_URL")
if EXCHANGE_EMULATOR_URL and not EXCHANGE_EMULATOR_URL.startswith("http://127.0.0.1:"):
    raise ImproperlyConfigured("EXCHANGE_EMULATOR_URL must point at 127.0.0.1.")

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # ccxt logs each request's headers and each response body at DEBUG: API keys, OKX
    # passphrases, whatever an exchange echoes back. Never that, whatever LOG_LEVEL says.
    # urllib3 logs each request's URL at DEBUG, query string included: htx signs its API key
    # into every URL (AccessKeyId) and mexc's apiKeyInfo names it (accessKey).
    "loggers": {"ccxt": {"level": "INFO"}, "urllib3": {"level": "INFO"}},
}

# --- Security ---
# Login throttling, two-factor, cookies, headers and the content security policy.
# README, "Security", says how to deploy behind a proxy and how to rotate credential keys.

# django-axes: 5 wrong passwords lock that username, from whatever address, for 15 minutes;
# the right password with an authenticator code still passes the lock (accounts.signin), so a
# stranger cannot keep a user with two-factor out. Addresses (logged with each attempt) are
# REMOTE_ADDR, or the client a trusted proxy names (TRUSTED_PROXIES, accounts.middleware).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out login before any check
    "django.contrib.auth.backends.ModelBackend",
]
AXES_VERBOSE = False  # one log line per login is noise in tests and logs
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_MINUTES", 15) / 60  # hours, as django-axes reads it
AXES_LOCKOUT_PARAMETERS = ["username"]
# Proxies (addresses or CIDRs) whose X-Forwarded-For names the client; none by default, since
# anyone can send that header (README, "Security").
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES")
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.views.locked_out"  # the login page, saying why

# django-otp: TOTP is required of admins and managers (accounts.middleware). Each wrong code
# doubles the wait before the next one is checked (1 s, 2 s, 4 s, ...), per device.
OTP_TOTP_ISSUER = "Counterweight"
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_ADMIN_HIDE_SENSITIVE_DATA = True  # admins manage devices but never read their secrets

# Sessions end after 12 hours whatever happens; optionally when the browser closes.
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 12 * 60 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = env_bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", False)
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True  # no script of ours reads it: forms carry the token

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 365 * 24 * 60 * 60)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Off unless asked: the TLS proxy in front redirects plain HTTP itself, and Django redirecting
# too would loop unless SECURE_PROXY_SSL_HEADER tells it which requests came over TLS.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)


def _proxy_ssl_header(raw: str) -> tuple[str, str] | None:
    """The (META name, value) pair Django wants, from e.g. `HTTP_X_FORWARDED_PROTO,https`.

    Set it only behind a proxy that overwrites that header, or a client could claim TLS.
    """
    if not raw:
        return None
    parts = [part.strip() for part in raw.split(",")]
    if len(parts) != 2 or not parts[0].startswith("HTTP_") or not parts[1]:
        raise ImproperlyConfigured(
            f"SECURE_PROXY_SSL_HEADER={raw!r}: give META name and value, "
            "e.g. HTTP_X_FORWARDED_PROTO,https."
        )
    return parts[0], parts[1]


SECURE_PROXY_SSL_HEADER = _proxy_ssl_header(env_str("SECURE_PROXY_SSL_HEADER"))

SILENCED_SYSTEM_CHECKS = []
if not SECURE_SSL_REDIRECT:
    # security.W008 asks Django to redirect HTTP; the proxy does it (see above and README).
    SILENCED_SYSTEM_CHECKS.append("security.W008")
if not SECURE_HSTS_PRELOAD:
    # security.W021 asks for HSTS preload, which commits the whole domain and its subdomains
    # to HTTPS in browsers for months: the operator's decision, so opt-in by environment.
    SILENCED_SYSTEM_CHECKS.append("security.W021")
# axes.W006 asks to lock addresses too. Behind a proxy or an office NAT many users share one
# address, so an address lock would let one stranger keep all of them out; the username lock
# (which its owner passes with an authenticator code) is the one wanted (README, "Login").
SILENCED_SYSTEM_CHECKS.append("axes.W006")

# django-csp: nothing inline. Scripts (plotly, later) load from /static/, with a nonce from
# request.csp_nonce if one ever must be inline.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
    }
}

# --- API ---
# The REST API (riskmodels.api) with personal bearer tokens (accounts.api), its OpenAPI schema
# and docs (drf-spectacular, assets served from /static/ by the sidecar: no CDN), and signed
# alert webhooks (riskmodels.webhooks). README, "API", documents all three.
INSTALLED_APPS += ["rest_framework", "drf_spectacular", "drf_spectacular_sidecar"]

REST_FRAMEWORK = {
    # Bearer first: a request with a token is judged by the token alone (see
    # accounts.middleware, which lets such requests past the session's two-factor step).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "riskmodels.api.pagination.Pagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "COERCE_DECIMAL_TO_STRING": True,  # money is exact text, never a float
    # Rates per token and per user (accounts.api.throttling): "N/second", "/minute", "/hour".
    "DEFAULT_THROTTLE_CLASSES": [
        "accounts.api.throttling.TokenRateThrottle",
        "accounts.api.throttling.PerUserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "token": env_str("API_RATE_PER_TOKEN", "20/second"),
        "user": env_str("API_RATE_PER_USER", "40/second"),
    },
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Counterweight API",
    "DESCRIPTION": "How much of a fund's money depends on each counterparty. Read-only, "
    "scoped as the pages are, plus acknowledging alerts and registering alert webhooks.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# PDF exports (riskmodels.pdf_jobs): printed by a worker, at most one waiting per user and
# PDF_MAX_CONCURRENT in all; kept PDF_KEEP_HOURS; a job unfinished after PDF_STALE_MINUTES failed.
PDF_MAX_PER_USER = env_int("PDF_MAX_PER_USER", 1)
PDF_MAX_CONCURRENT = env_int("PDF_MAX_CONCURRENT", 2)
PDF_KEEP_HOURS = env_int("PDF_KEEP_HOURS", 24)
PDF_STALE_MINUTES = env_int("PDF_STALE_MINUTES", 10)
# Chromium's sandbox (run as an unprivileged user when the worker is root); off only where the
# machine cannot give one (README, "Exports").
PDF_CHROMIUM_SANDBOX = env_bool("PDF_CHROMIUM_SANDBOX", True)

# Webhooks: per-attempt timeout, attempts in all, and the backoff between them (30 s, 1, 2,
# 4, 8 min, then 10 min: about 35 minutes in all). The cap stays well under the broker's
# visibility timeout, or Redis would hand a waiting retry to a second worker.
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10)
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 8)
WEBHOOK_RETRY_BASE_SECONDS = env_int("WEBHOOK_RETRY_BASE_SECONDS", 30)
WEBHOOK_RETRY_MAX_SECONDS = env_int("WEBHOOK_RETRY_MAX_SECONDS", 600)
# Loopback and private addresses are refused unless this is set (tests, a lab): a webhook
# must not let a manager make the server call its own network.
WEBHOOK_ALLOW_PRIVATE_URLS = env_bool("WEBHOOK_ALLOW_PRIVATE_URLS", DEBUG)
# Networks exempt from that refusal (CIDRs, comma-separated), e.g. a lab's own receivers.
WEBHOOK_ALLOWED_NETWORKS = env_list("WEBHOOK_ALLOWED_NETWORKS")
# Certificates webhook receivers are verified against: certifi's bundle unless a file is given.
WEBHOOK_CA_BUNDLE = env_str("WEBHOOK_CA_BUNDLE", "")
