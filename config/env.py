"""Reading configuration from the environment, failing with one clear line per bad value."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import environ
from django.core.exceptions import ImproperlyConfigured

env = environ.Env()

POSTGRES_ENGINES = {"django.db.backends.postgresql"}


def database_from_url(
    url: str, *, pool: bool = False, variable: str = "DATABASE_URL"
) -> dict[str, Any]:
    """Parse a database URL (DATABASE_URL, or the `variable` named); only PostgreSQL is
    accepted."""
    try:
        config = environ.Env.db_url_config(url)
    except Exception as exc:  # django-environ raises several types for malformed URLs
        raise ImproperlyConfigured(f"{variable}: cannot parse {url!r} ({exc})") from exc
    if config.get("ENGINE") not in POSTGRES_ENGINES:
        raise ImproperlyConfigured(
            f"{variable}: {url.split(':', 1)[0]!r} is not PostgreSQL; "
            "use postgres://user:password@host:port/name"
        )
    # A Unix-socket directory is given percent-encoded in the host part (%2Fpath%2Fto%2Fdir).
    config["HOST"] = unquote(config.get("HOST") or "")
    if not config.get("NAME"):
        raise ImproperlyConfigured(f"{variable}: no database name after the host")
    options = config.setdefault("OPTIONS", {})
    options.setdefault("connect_timeout", 5)
    if pool:
        options["pool"] = {"min_size": 1, "max_size": 8, "timeout": 10}
    else:
        config["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
        config["CONN_HEALTH_CHECKS"] = True
    config["ATOMIC_REQUESTS"] = False
    return config


def broker_url_check(url: str) -> str:
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme not in {"redis", "rediss", "redis+socket", "amqp", "pyamqp"}:
        raise ImproperlyConfigured(
            f"CELERY_BROKER_URL: unsupported scheme {scheme or url!r}; use redis://host:6379/0"
        )
    return url
