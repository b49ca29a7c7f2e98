"""Settings for every environment, read from the environment (django-environ).

Production-safe defaults: DEBUG is off unless set, SECRET_KEY and DATABASE_URL are required
when DEBUG is off. `make run` sets DEBUG=1 and points DATABASE_URL / CELERY_BROKER_URL at the
embedded servers it starts.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from config import embedded, vapid
from config.env import broker_url_check, database_from_url, env
from diary.rules import chain_key

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = embedded.data_root(BASE_DIR)

DEBUG = env.bool("DEBUG", default=False)


def _secret_key() -> str:
    key = env.str("SECRET_KEY", default="")
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY: must be set when DEBUG is off")
    # Development only: a random key kept under .data/ so sessions survive restarts.
    path = DATA_DIR / "dev-secret-key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "config.apps.EproAdminConfig",  # the admin with a TOTP second factor
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "bootstrap",
    "django_celery_beat",
    "pgtrigger",
    "pghistory",
    "pghistory.admin",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "diary",
    "scoring",
]

MIDDLEWARE = [
    # First: answers load balancers and compose health checks before host or HTTPS checks.
    "diary.middleware.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Pages gzip-compressed for browsers that accept it (static files never reach it: WhiteNoise
    # above answers them with its own gzip copies). BREACH: Django's GZipMiddleware pads each
    # compressed response with random bytes (Heal The BREACH) and every CSRF token is masked
    # anew per response, so a page's length tells nothing of a secret; README: Static files.
    "django.middleware.gzip.GZipMiddleware",
    # Django's SessionMiddleware, plus the idle-timeout renewal (diary/sessions.py).
    "diary.sessions.IdleSessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "diary.middleware.ParticipantLocaleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Staff logged in at the admin who open a diary page go back to the admin (not a 404).
    "diary.middleware.StaffToAdminMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "diary.middleware.ContentSecurityPolicyMiddleware",
    "diary.middleware.RequestIdMiddleware",
    # Attaches the acting user and URL to every row-history event written in the request.
    "pghistory.middleware.HistoryMiddleware",
    # Must be last: it reads the result of authentication.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database: PostgreSQL only, two roles (config/database_roles.py) ------------------------
# DATABASE_URL is the application role, which every process uses; DATABASE_OWNER_URL the owner
# role, which only `manage.py migrate` needs (give it to nothing else).
_database_url = env.str("DATABASE_URL", default="")
_database_owner_url = env.str("DATABASE_OWNER_URL", default="")
if not _database_url:
    if not DEBUG:
        raise ImproperlyConfigured("DATABASE_URL: must be set when DEBUG is off")
    _embedded = embedded.postgres_start(DATA_DIR / "pg")
    _database_url, _database_owner_url = _embedded.app, _database_owner_url or _embedded.owner
DATABASES = {"default": database_from_url(_database_url, pool=env.bool("DB_POOL", default=False))}
DATABASE_APP_ROLE = DATABASES["default"].get("USER") or ""
# Not a DATABASES alias, so that no code can pick it by mistake: `migrate` (and the test
# database's set-up) connect the default alias with these credentials for as long as they run.
DATABASE_OWNER = (
    database_from_url(_database_owner_url, variable="DATABASE_OWNER_URL")
    if _database_owner_url
    else None
)
if DATABASE_OWNER is not None and DATABASE_OWNER["NAME"] != DATABASES["default"]["NAME"]:
    raise ImproperlyConfigured(
        f"DATABASE_OWNER_URL: names database {DATABASE_OWNER['NAME']!r} and DATABASE_URL "
        f"{DATABASES['default']['NAME']!r}; both name the one database, as owner and as application"
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Backups (`manage.py backup` / `restore`, diary/services/backups.py) --------------------
# Where backups go, how many of the newest to keep (0: all), and the directory of pg_dump and
# pg_restore when the ones found (pgserver's, PATH, /usr/lib/postgresql) do not fit the server.
BACKUP_DIR = Path(env.str("BACKUP_DIR", default=str(DATA_DIR / "backups")))
# The sites' own copies (casebooks, CSV, manifest), one folder per generation.
SITE_COPY_DIR = Path(env.str("SITE_COPY_DIR", default=str(DATA_DIR / "site_copies")))
BACKUP_KEEP = env.int("BACKUP_KEEP", default=0)
if BACKUP_KEEP < 0:
    raise ImproperlyConfigured("BACKUP_KEEP: must be 0 (keep every backup) or more")
PG_BIN_DIR = env.str("PG_BIN_DIR", default="")

def _audit_chain_key() -> str:
    """AUDIT_CHAIN_KEY: the audit chain's secret (diary/rules/chain_key.py), never stored in the
    database. Development only (DEBUG): a random key kept under .data/, as `make run` uses."""
    key = env.str("AUDIT_CHAIN_KEY", default="")
    if not key and DEBUG:
        path = DATA_DIR / "audit-chain-key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        key = path.read_text().strip()
    problem = chain_key.key_format_problem(key)
    if problem:
        raise ImproperlyConfigured(problem)
    return key


AUDIT_CHAIN_KEY = _audit_chain_key()
# Every session of every process receives the key's HMAC pads at connection, for the chain
# trigger (diary/rules/chain_key.py); `migrate` and the owner's connections keep these OPTIONS.
DATABASES["default"]["OPTIONS"]["options"] = chain_key.connection_options(AUDIT_CHAIN_KEY)

# Row-history tables reject UPDATE and DELETE (PostgreSQL triggers).
PGHISTORY_APPEND_ONLY = True

# --- Auth ------------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Usernames as ModelBackend does, plus a participant's study id or e-mail address.
    "diary.auth.StudyIdOrEmailBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env.int("PASSWORD_MIN_LENGTH", default=10)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # Not a strength rule: a participant's password is set only with her own link, and every
    # password change is audited (diary/passwords.py).
    {"NAME": "diary.passwords.PasswordChangePolicy"},
]
LOGIN_URL = "diary:login"
LOGIN_REDIRECT_URL = "diary:home"
LOGOUT_REDIRECT_URL = "diary:login"

# Invitation and password-reset links: single use, expiring.
INVITATION_TTL_HOURS = env.int("INVITATION_TTL_HOURS", default=72)
PASSWORD_RESET_TTL_HOURS = env.int("PASSWORD_RESET_TTL_HOURS", default=2)
# The forgotten-password page: requests per typed identifier and per address within the window
# (a refusal says so, 429); and at most one new reset link per account per cool-down, so that
# probes neither flood her inbox nor replace the link she is about to use.
PASSWORD_RESET_WINDOW = timedelta(minutes=env.int("PASSWORD_RESET_WINDOW_MINUTES", default=60))
PASSWORD_RESET_LIMIT_PER_IDENTIFIER = env.int("PASSWORD_RESET_LIMIT_PER_IDENTIFIER", default=3)
PASSWORD_RESET_LIMIT_PER_ADDRESS = env.int("PASSWORD_RESET_LIMIT_PER_ADDRESS", default=10)
PASSWORD_RESET_COOLDOWN = timedelta(minutes=env.int("PASSWORD_RESET_COOLDOWN_MINUTES", default=15))
for _name in ("PASSWORD_RESET_LIMIT_PER_IDENTIFIER", "PASSWORD_RESET_LIMIT_PER_ADDRESS"):
    if globals()[_name] < 1:
        raise ImproperlyConfigured(f"{_name}: must be at least 1")

AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=30))
# Failures count per account, from whatever addresses they come (diary/lockout.py), and
# against the account whether its study id or its e-mail address was typed.
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_CALLABLE = "diary.auth.axes_username"
# Separately, an address is refused after this many failures within the cool-off, over any
# accounts. Behind reverse proxies, TRUSTED_PROXY_COUNT says how many of them append to
# X-Forwarded-For, so that the client's address is counted rather than the proxy's.
AXES_HANDLER = "diary.lockout.AccountAndAddressHandler"
# axes warns when ip_address is not a lockout parameter: here addresses are throttled by the
# handler above, with a limit of their own, rather than locked at the account's limit.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_CLIENT_IP_CALLABLE = "diary.lockout.client_address"
LOGIN_ADDRESS_FAILURE_LIMIT = env.int("LOGIN_ADDRESS_FAILURE_LIMIT", default=20)
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
if LOGIN_ADDRESS_FAILURE_LIMIT < 1:
    raise ImproperlyConfigured("LOGIN_ADDRESS_FAILURE_LIMIT: must be at least 1")
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT: must be 0 (no proxy) or more")
# The lock-out page says how many minutes are left (diary/lockout.py renders lockout.html).
AXES_LOCKOUT_CALLABLE = "diary.lockout.lockout_response"

# Idle timeout: the session expires this long after the last request. A request renews it
# when it was last renewed SESSION_RENEW_SECONDS ago or more (diary/sessions.py), rather than
# writing the session on every request.
SESSION_ENGINE = "diary.sessions"
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_SECONDS", default=30 * 60)
SESSION_RENEW_SECONDS = env.int("SESSION_RENEW_SECONDS", default=60)
if not 0 <= SESSION_RENEW_SECONDS < SESSION_COOKIE_AGE:
    raise ImproperlyConfigured(
        "SESSION_RENEW_SECONDS: must be at least 0 and less than SESSION_IDLE_SECONDS"
    )
SESSION_SAVE_EVERY_REQUEST = False
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# Honest time: how far the device's clock may be from the server's for a submission received
# just after its window closed to still count as made in it (diary/rules/late.py).
DEVICE_CLOCK_TOLERANCE_SECONDS = env.int("DEVICE_CLOCK_TOLERANCE_SECONDS", default=300)
if not 0 <= DEVICE_CLOCK_TOLERANCE_SECONDS <= 3600:
    raise ImproperlyConfigured("DEVICE_CLOCK_TOLERANCE_SECONDS: must be from 0 to 3600")
DEVICE_CLOCK_TOLERANCE = timedelta(seconds=DEVICE_CLOCK_TOLERANCE_SECONDS)

# --- Internationalisation and time -----------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("da", "Dansk")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"  # Stored and stamped in UTC; windows use the participant's own zone.
USE_I18N = True
USE_TZ = True
# Instants printed by Django itself (admin lists, read-only fields) name their zone.
FORMAT_MODULE_PATH = ["config.formats"]

# --- Static files ----------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
# Collected static files (collectstatic): hashed names and gzip copies made once, served by
# WhiteNoise from STATIC_ROOT, the hashed names with a 10-year `immutable` Cache-Control and the
# gzip copy to any browser that accepts it. Production, and `make run` (config/run.py collects
# first and sets STATIC_COLLECTED=1), so a phone on `make run` gets what it gets in production.
# Off (DEBUG without it: `manage.py runserver`, tests): served from the apps' folders as edited.
STATIC_COLLECTED = env.bool("STATIC_COLLECTED", default=not DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "config.static_storage.CollectedStaticFilesStorage"
        if STATIC_COLLECTED
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not STATIC_COLLECTED
WHITENOISE_AUTOREFRESH = not STATIC_COLLECTED

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- E-mail ----------------------------------------------------------------------------------
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
# Seconds before an SMTP call gives up: a hung server must not hold a reminder's row lock.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="ePRO diary <diary@localhost>")
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")
# Reminder e-mails: minutes to wait before each retry of a failed send; after the last one the
# reminder is marked failed (visible to coordinators).
REMINDER_RETRY_MINUTES = env.list("REMINDER_RETRY_MINUTES", cast=int, default=[5, 15, 45])

# --- SMS and web push reminders (README: "Reminders: e-mail, SMS and web push") ---------------
# A class, as EMAIL_BACKEND is: diary.services.sms.ConsoleBackend, LocmemBackend (tests) or
# TwilioBackend (Twilio's REST API; needs the three SMS_TWILIO_* / SMS_FROM values).
# Without DEBUG and without a Twilio account, DisabledBackend: SMS is not offered.
SMS_TWILIO_ACCOUNT_SID = env.str("SMS_TWILIO_ACCOUNT_SID", default="")
SMS_TWILIO_AUTH_TOKEN = env.str("SMS_TWILIO_AUTH_TOKEN", default="")
SMS_TWILIO_API_URL = env.str("SMS_TWILIO_API_URL", default="https://api.twilio.com")
SMS_FROM = env.str("SMS_FROM", default="")  # a sender number (E.164) or an alphanumeric id
SMS_BACKEND = env.str(
    "SMS_BACKEND",
    default="diary.services.sms.ConsoleBackend"
    if DEBUG
    else "diary.services.sms.TwilioBackend"
    if SMS_TWILIO_ACCOUNT_SID
    else "diary.services.sms.DisabledBackend",
)
if SMS_BACKEND == "diary.services.sms.TwilioBackend" and not (
    SMS_TWILIO_ACCOUNT_SID and SMS_TWILIO_AUTH_TOKEN and SMS_FROM
):
    raise ImproperlyConfigured(
        "SMS_BACKEND: the Twilio backend needs SMS_TWILIO_ACCOUNT_SID, SMS_TWILIO_AUTH_TOKEN "
        "and SMS_FROM"
    )
# Seconds before a provider call gives up: a hung provider must not hold a reminder's row lock.
SMS_TIMEOUT = env.int("SMS_TIMEOUT", default=15)
# The region a number typed without its country code is read in (ISO 3166 code, e.g. DK); empty:
# participants type the country code.
SMS_DEFAULT_REGION = env.str("SMS_DEFAULT_REGION", default="").upper() or None
# Web push: the VAPID pair (config/vapid.py), the contact the push services may write to, how
# long a push service keeps an undelivered reminder, and the timeout of one send.
VAPID_PRIVATE_KEY, VAPID_PUBLIC_KEY = vapid.vapid_keys(
    private=env.str("VAPID_PRIVATE_KEY", default=""),
    public=env.str("VAPID_PUBLIC_KEY", default=""),
    debug=DEBUG,
    path=DATA_DIR / "vapid-private-key",
)
VAPID_SUBJECT = env.str("VAPID_SUBJECT", default="mailto:diary@localhost")
if not VAPID_SUBJECT.startswith(("mailto:", "https://")):
    raise ImproperlyConfigured("VAPID_SUBJECT: must be a mailto: or https: URL")
PUSH_TTL_SECONDS = env.int("PUSH_TTL_SECONDS", default=12 * 3600)
PUSH_TIMEOUT = env.int("PUSH_TIMEOUT", default=15)
if PUSH_TTL_SECONDS < 0:
    raise ImproperlyConfigured("PUSH_TTL_SECONDS: must be 0 or more")

# --- Celery ----------------------------------------------------------------------------------
_broker_url = env.str("CELERY_BROKER_URL", default="")
if not _broker_url:
    if not DEBUG:
        raise ImproperlyConfigured("CELERY_BROKER_URL: must be set when DEBUG is off")
    _broker_url = f"redis+socket://{(DATA_DIR / 'redis' / 'redis.sock').resolve()}"
CELERY_BROKER_URL = broker_url_check(_broker_url)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
# Late acknowledgement: a worker killed mid-task leaves the message for another worker.
# Tasks are idempotent, so running one twice is safe.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
# Publishing must not hang a participant's submission when the broker is down: the sweep
# picks up whatever was not queued.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    "assessments-refresh": {
        "task": "diary.tasks.assessments_refresh_task",
        "schedule": crontab(minute="*/15"),
    },
    # Scores whatever a lost or never-published response_score_task left unscored.
    "scoring-sweep": {
        "task": "scoring.tasks.scoring_sweep_task",
        "schedule": crontab(minute="*/5"),
    },
    "reminders-dispatch": {
        "task": "diary.tasks.reminders_dispatch_task",
        "schedule": crontab(minute="*/5"),
    },
    # Recomputes the keyed audit chain; the admin's audit page shows when it last passed.
    "audit-chain-verify": {
        "task": "diary.tasks.audit_chain_verify_task",
        "schedule": crontab(hour=2, minute=30),
    },
    # Each site's own copy, for every study, on the first of the month (and at a hard lock).
    "site-copies-monthly": {
        "task": "diary.tasks.site_copies_schedule_task",
        "schedule": crontab(day_of_month="1", hour=3, minute=0),
    },
}

# Second factor (TOTP) for staff: required for unblinded roles in production.
OTP_REQUIRED_FOR_UNBLINDED = env.bool("OTP_REQUIRED_FOR_UNBLINDED", default=not DEBUG)
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="ePRO diary")

# --- Security --------------------------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# No inline or third-party scripts anywhere; inline styles only (SVG charts, admin widgets).
CONTENT_SECURITY_POLICY = env.str(
    "CONTENT_SECURITY_POLICY",
    default="default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
)
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# One console, the root's. Django's default configuration also gives the "django" logger a
# console handler when DEBUG is on, which printed every line of `make run` twice; here it only
# propagates. Refusals (403, 404) are one line without the exception (config/log_filters.py);
# a 500 keeps its traceback.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"refusal_without_traceback": {"()": "config.log_filters.RefusalWithoutTraceback"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["refusal_without_traceback"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        # On the record as well, where Django logs refusals: a test's caplog (and any handler
        # added later) sees the record as the console prints it.
        "django.request": {"filters": ["refusal_without_traceback"]},
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}

# Demo data (make run only; the command refuses when DEBUG is off).
DEMO_PASSWORD = env.str("DEMO_PASSWORD", default="demo")

# The row-history admin of pghistory, restricted to unblinded staff (it shows every tracked
# table, allocation included).
PGHISTORY_ADMIN_CLASS = "diary.admin.history.UnblindedEventsAdmin"
