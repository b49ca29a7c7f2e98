"""Settings for bench_submit's gunicorn: production settings, loopback only, bench URLs.

Only the URLconf (which adds the bare baseline view) and what plain HTTP on loopback needs
differ from production. Never used outside bench/.
"""

import os

os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
os.environ.setdefault("AUDIT_CHAIN_KEY", "bench-only-audit-chain-key-not-a-secret")

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.submit_urls"
ALLOWED_HOSTS = ["127.0.0.1"]
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
