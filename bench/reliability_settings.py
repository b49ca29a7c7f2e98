"""Settings for bench_reliability's gunicorn and Celery workers: bench_submit's (production
settings, loopback only), plus what the fault scenarios need. Never used outside bench/ and
tests/reliability/.

- Passwords: the bench accounts' passwords are MD5-hashed, and MD5 comes first here, so that
  logging in 200 participants does not cost 200 PBKDF2 rounds on each side. Login is not what
  is measured; every request after it runs the production code and settings.
- RELIABILITY_VISIBILITY_TIMEOUT (seconds), when set: a short Redis visibility timeout and an
  unacked-message scan every second, so a worker started after another was killed redelivers
  the killed worker's unacknowledged messages within seconds instead of an hour. Only the
  replacement worker of the kill scenario gets it.
"""

import os

from bench.submit_settings import *  # noqa: F403

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

_visibility = os.environ.get("RELIABILITY_VISIBILITY_TIMEOUT")
if _visibility:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        **CELERY_BROKER_TRANSPORT_OPTIONS,  # noqa: F405
        "visibility_timeout": float(_visibility),
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,
    }
