"""Settings read from the environment; defaults are safe for production."""

import secrets
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
# Without a configured key, production gets a random key for this process only:
# nothing guessable, but nothing signed survives a restart or crosses workers,
# so `check --deploy` fails until SECRET_KEY is set (contrib_budget.checks).
SECRET_KEY_CONFIGURED = bool(SECRET_KEY)
if not SECRET_KEY:
    SECRET_KEY = "insecure-development-key-only-for-debug" if DEBUG else secrets.token_urlsafe(50)
# Fernet keys, comma-separated, encrypting personal data at rest (people's IBANs): the first encrypts, all decrypt,
# so keys rotate (contrib_budget/crypto.py). Unset: a key derived from SECRET_KEY, which `check --deploy` refuses.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_htmx",
    "django_celery_beat",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "contrib_budget",
    "members",
    "members.notifications",
    "budgets",
    "contributions",
    "cobudget",
    "accounting",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Oversized API bodies get 413 in the API's error shape before anything reads them.
    "contrib_budget.parsers.BodySizeLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    "contrib_budget.tenancy.CollectiveMiddleware",
    "contrib_budget.idempotency.IdempotencyMiddleware",
]

ROOT_URLCONF = "contrib_budget.urls"
# The product's name as people read it (the package keeps its identifier).
PRODUCT_NAME = "Contrib Budget"
WSGI_APPLICATION = "contrib_budget.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "members.notifications.context_processors.unread_notifications",
                "contrib_budget.context_processors.product",
            ],
        },
    },
]

_database_url = env.str("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/contrib_budget")
DATABASES = {"default": env.db_url_config(_database_url)}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Each gunicorn thread and Celery process keeps its connection for this many seconds (0: one per request) rather
# than connecting for every request: a connection costs ~2-5 ms of the database's and the server's CPU, as much as
# a whole cheap request (README, "What a request costs"). Debug runs close them, so nothing holds on to one.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0 if DEBUG else 600)
# A connection kept across requests is checked before a request uses it (one round trip, only when reused): one
# that a database restart broke is replaced instead of failing the request.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=True)
# The role that owns the tables, as which `manage.py migrate` connects (then grants DATABASE_URL's role what
# contrib_budget/db_roles.py lists): the same database, reached as another user. By default the application's
# own role, a single-role set-up in which nothing stops the application from bypassing the ledger's guards.
DATABASE_OWNER = env.db_url_config(env.str("DATABASE_OWNER_URL", default=_database_url))
if DATABASE_OWNER["NAME"] not in ("", DATABASES["default"]["NAME"]):
    raise ImproperlyConfigured("DATABASE_OWNER_URL must name the database of DATABASE_URL (or none).")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
# Login limits and throttles live in the cache; while Redis is unreachable each process keeps them in its own
# memory (contrib_budget/cache.py) rather than failing. A Redis that hangs costs a request at most these seconds.
CACHES = {
    "default": {
        "BACKEND": "contrib_budget.cache.RedisCacheWithLocalFallback",
        "LOCATION": REDIS_URL,
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("French")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = True

EMAIL_CONFIG = env.email_url(
    "EMAIL_URL", default="consolemail://" if DEBUG else "smtp://localhost:25"
)
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="contrib_budget <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The site's administrators (comma-separated addresses): told when the nightly check of the books fails.
ADMINS = [(address, address) for address in env.list("ADMINS", default=[])]

SESSION_ENGINE = "contrib_budget.sessions"
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Trust X-Forwarded-Proto only behind a proxy that sets it (e.g. the compose web service's).
if env.bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
X_FRAME_OPTIONS = "DENY"
# No inline script anywhere: scripts come from our static files only. Style attributes stay allowed (the funding
# bars set their width with one).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"

# django-allauth: people log in with their email address.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="mandatory")
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_UNIQUE_EMAIL = True
# Reads the client address of the login limits as the throttles do (members/login_limits.client_address).
ACCOUNT_ADAPTER = "members.adapter.AccountAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = PRODUCT_NAME

AUTH_USER_MODEL = "members.User"
# Who belongs to which collective (contrib_budget.tenancy resolves the collective of a URL through it).
TENANCY_MEMBERSHIP_MODEL = "members.Membership"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "members.authentication.PersonalTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "contrib_budget.api.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "contrib_budget.schema.ErrorDocumentingAutoSchema",
    "EXCEPTION_HANDLER": "contrib_budget.api.exception_handler",
    # JSON nested deeper than contrib_budget.parsers.MAX_JSON_DEPTH is refused with 400 `parse_error`.
    "DEFAULT_PARSER_CLASSES": [
        "contrib_budget.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "COERCE_DECIMAL_TO_STRING": True,
    "DEFAULT_THROTTLE_RATES": {"auth_token": env.str("AUTH_TOKEN_RATE", default="10/min")},
    # Throttles count per client address: REMOTE_ADDR, or X-Forwarded-For as set by this many trusted proxies.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
}
# allauth's rate limits (its login form, the admin login that goes through it, and POST /api/v1/auth/token/,
# which share one `login_failed` counter per account and per client address: members/login_limits.py) read
# the client address the same way as the throttles above: the entry of X-Forwarded-For that the outermost of
# NUM_PROXIES trusted proxies wrote (the leftmost entry when there are fewer), else REMOTE_ADDR. No other header
# is trusted for it.
ALLAUTH_TRUSTED_PROXY_COUNT = REST_FRAMEWORK["NUM_PROXIES"]
ALLAUTH_TRUSTED_CLIENT_IP_HEADER = None
SPECTACULAR_SETTINGS = {
    "TITLE": "contrib_budget API",
    "DESCRIPTION": "Contributive budgets and cobudgets for collectives.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # The documentation's scripts and styles are served from our static files: no CDN, nothing inline.
    "ENUM_NAME_OVERRIDES": {
        "BucketStatusEnum": "cobudget.models.BucketStatus",
        "RoundStatusEnum": "cobudget.models.RoundStatus",
        "ContributionStatusEnum": "contributions.models.ContributionStatus",
        "ExportStatusEnum": "accounting.models.ExportStatus",
        "ExportKindEnum": "accounting.models.ExportKind",
        "AccountKindEnum": "budgets.models.AccountKind",
        "LocaleEnum": "members.models.Collective.Locale",
        "PaymentMethodEnum": "members.models.PaymentMethod",
        "BatchMethodEnum": "budgets.models.BatchMethod",
        "BatchStatusEnum": "budgets.models.BatchStatus",
        "RolesEnum": "members.models.Role",
    },
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# Crash safety: a task is acknowledged once done, and given back to the queue when its worker dies; every task is
# safe to run twice. A task taking longer than the broker's visibility timeout would be delivered twice, so none
# may run that long: the hard time limit stays below it.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=1800),
    # With the broker down, queueing a task (contrib_budget.queue.enqueue, which publishes without retrying) fails
    # at once instead of retrying the connection for seconds inside the request: kombu would otherwise try again
    # for broker_connection_timeout (4 s). Publishing with retries (beat, Celery's own) keeps its retry policy, and
    # a worker reconnects as broker_connection_max_retries says. A broker that does not accept the connection at
    # all gives up after socket_connect_timeout seconds.
    "max_retries": 0,
    "socket_connect_timeout": 2,
}
CELERY_TASK_TIME_LIMIT = CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] - 300
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 60
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
# Request bodies: fields and JSON at most this many bytes (Django's default, 2.5 MB); a body with files (multipart)
# at most UPLOAD_MAX_BODY_SIZE (the largest attachment is 10 MB). Larger API bodies get 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)
UPLOAD_MAX_BODY_SIZE = env.int("UPLOAD_MAX_BODY_SIZE", default=12 * 1024 * 1024)
INVITATION_VALID_DAYS = env.int("INVITATION_VALID_DAYS", default=14)
# Lifetime of a new personal API token in days; unset or 0: tokens do not expire (they can be revoked).
PERSONAL_TOKEN_DAYS = env.int("PERSONAL_TOKEN_DAYS", default=0) or None
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

# A closing (of a period, of a round) posts its grants, refunds and leftovers this many at a time, each set
# committed on its own: a few statements per set, its memory and its locks' hold bounded whatever its size.
POSTINGS_PER_TRANSACTION = env.int("POSTINGS_PER_TRANSACTION", default=2000)

# Accounting exports: files are kept this many days, then a beat job deletes them.
EXPORTS_KEEP_DAYS = env.int("EXPORTS_KEEP_DAYS", default=7)
# An export whose worker died is queued again by beat once its heartbeat is this old.
EXPORT_STALE_SECONDS = env.int("EXPORT_STALE_SECONDS", default=120)
# Every schedule of every app, here and only here (django-celery-beat's scheduler copies them into its tables).
CELERY_BEAT_SCHEDULE = {
    "accounting-purge-expired-exports": {"task": "accounting.tasks.purge_expired_exports", "schedule": 3600.0},
    "accounting-resume-stale-exports": {"task": "accounting.tasks.resume_stale_exports", "schedule": 60.0},
    # Every minute: an interrupted closing resumes at once (contributions.tasks).
    "budgets-close-due-periods": {"task": "budgets.close_due_periods", "schedule": 60.0},
    "cobudget-close-due-rounds": {"task": "cobudget.close_due_rounds", "schedule": 60.0},
    # Hourly: the rounds of templates on a schedule (cobudget.services.recurring), each made once.
    "cobudget-run-recurring-rounds": {"task": "cobudget.run_recurring_rounds", "schedule": 3600.0},
    "budgets-check-ledger-nightly": {"task": "budgets.check_ledger", "schedule": crontab(hour=3, minute=30)},
    "cobudget-check-running-totals-nightly": {"task": "cobudget.check_running_totals",
                                              "schedule": crontab(hour=3, minute=45)},
    "contributions-check-demand-totals-nightly": {"task": "contributions.check_demand_totals",
                                                  "schedule": crontab(hour=4, minute=0)},
    "notifications-send-due-digests": {"task": "notifications.send_due_digests", "schedule": 900.0},
    "notifications-send-unsent-emails": {"task": "notifications.send_unsent_emails", "schedule": 900.0},
    "notifications-send-reminders": {"task": "notifications.send_reminders", "schedule": 3600.0},
    "members-send-unsent-invitation-emails": {"task": "members.send_unsent_invitation_emails", "schedule": 300.0},
    "idempotency-purge-expired": {"task": "contrib_budget.purge_idempotency_records", "schedule": 3600.0},
}
