"""Test settings: the base settings, changed only for speed and safety.

PostgreSQL always, with its two roles as in production: DATABASE_URL (the application role,
which the tests use) and DATABASE_OWNER_URL (the owner, which creates and migrates the test
database: tests/conftest.py) when given, else an embedded server under .data/pg-test (separate
from `make run`'s data) that sets both roles up itself. The broker likewise: CELERY_BROKER_URL,
else an embedded redis-server under .data/redis-test.
"""

import os

os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "tests-only-not-a-secret")
os.environ.setdefault("AUDIT_CHAIN_KEY", "tests-only-audit-chain-key-not-a-secret")

from pathlib import Path

from config import embedded, vapid

_data = embedded.data_root(Path(__file__).resolve().parent.parent)
if not os.environ.get("DATABASE_URL"):
    _embedded = embedded.postgres_start(_data / "pg-test")
    os.environ["DATABASE_URL"], os.environ["DATABASE_OWNER_URL"] = _embedded.app, _embedded.owner
if not os.environ.get("CELERY_BROKER_URL"):
    _redis = embedded.EmbeddedRedis(_data / "redis-test", persistent=False)
    os.environ["CELERY_BROKER_URL"] = _redis.start()

from config.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SMS_BACKEND = "diary.services.sms.LocmemBackend"
# A fresh VAPID pair per test run: web push is on in tests, and no key is in the repository.
if not VAPID_PRIVATE_KEY:  # noqa: F405
    VAPID_PRIVATE_KEY, VAPID_PUBLIC_KEY = vapid.keypair_generate()
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
# Tests log staff in with force_login; the second factor has its own tests, which turn this on.
OTP_REQUIRED_FOR_UNBLINDED = False
# Speed only: a commit does not wait for its WAL to reach the disk (it is visible to every other
# session at once all the same; only a crash of the server could lose it, and nothing here
# survives one). The test database is thrown away at the end.
DATABASES["default"]["OPTIONS"]["options"] += " -c synchronous_commit=off"  # noqa: F405
# Transactional tests end with a flush (TRUNCATE), which the application role may not do and
# the guards refuse: this backend runs it as the owner with the TRUNCATE guard lifted.
DATABASES["default"]["ENGINE"] = "tests.db_backend"  # noqa: F405
