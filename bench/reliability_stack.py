"""The processes bench_reliability (and tests/reliability) run and break: an embedded Redis,
gunicorn and Celery workers, all on loopback or Unix sockets, each started in its own session
and stopped by its pid, also on failure.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bench.bench_submit import HOST, gunicorn_start
from config.embedded import EmbeddedRedis

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = "bench.reliability_settings"


def database_url(db: Mapping[str, Any]) -> str:
    """A DATABASE_URL for Django's connection settings (the benchmark's or the test database)."""
    user = quote(db.get("USER") or "postgres", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    host = quote(str(db.get("HOST") or "127.0.0.1"), safe="")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{user}{password}@{host}{port}/{db['NAME']}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _group_kill(process: subprocess.Popen[bytes], sig: int, timeout: float = 20) -> None:
    """Signal the process and everything it started (its own session), then reap it."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)


@dataclass
class Stack:
    """Redis, gunicorn and one Celery worker for a benchmark or test database.

    The worker runs under a supervisor, as in production (compose: `restart: unless-stopped`):
    if it exits on its own, a new one is started with the same options. Use as a context
    manager: whatever is running at exit is stopped by pid.
    """

    data_dir: Path
    database_url: str
    gunicorn_workers: int = 4
    gunicorn_threads: int = 4
    worker_concurrency: int = 2
    port: int = 0
    redis: EmbeddedRedis = field(init=False)
    web: subprocess.Popen[bytes] | None = None
    worker: subprocess.Popen[bytes] | None = None
    workers_started: int = 0
    worker_restarts: int = 0  # by the supervisor, after a worker exited on its own

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._supervisor = threading.Thread(target=self._supervise, daemon=True)
        self._worker_options: dict[str, float] = {}
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.redis = EmbeddedRedis(self.data_dir / "redis", persistent=False)
        self.port = self.port or free_port()
        self.task_log = self.data_dir / "tasks.log"
        self.task_log.write_text("")

    @property
    def broker_url(self) -> str:
        return self.redis.url

    def env(self, **extra: str) -> dict[str, str]:
        # Web and worker get the application role only, as in production.
        inherited = {k: v for k, v in os.environ.items() if k != "DATABASE_OWNER_URL"}
        return {
            **inherited,
            "DJANGO_SETTINGS_MODULE": SETTINGS,
            "DEBUG": "0",
            "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench-only-not-a-secret",
            "AUDIT_CHAIN_KEY": os.environ.get("AUDIT_CHAIN_KEY")
            or "bench-only-audit-chain-key-not-a-secret",
            "DATABASE_URL": self.database_url,
            "CELERY_BROKER_URL": self.broker_url,
            "RELIABILITY_TASK_LOG": str(self.task_log),
            "PYTHONPATH": str(ROOT),
            **extra,
        }

    def __enter__(self) -> Stack:
        try:
            self.redis.start()
            self.web = gunicorn_start(
                self.env(),
                port=self.port,
                workers=self.gunicorn_workers,
                threads=self.gunicorn_threads,
            )
            self.worker_start()
            self._supervisor.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _supervise(self) -> None:
        while not self._stopping.wait(0.25):
            with self._lock:
                if self.worker is not None and self.worker.poll() is not None:
                    self.worker_restarts += 1
                    self.worker = None
                    self._worker_spawn(**self._worker_options)

    def stop(self) -> None:
        self._stopping.set()
        if self._supervisor.is_alive():
            self._supervisor.join(timeout=30)
        self.worker_stop()
        if self.web is not None:
            _group_kill(self.web, signal.SIGTERM)
            self.web = None
        self.redis.stop()

    # --- faults -------------------------------------------------------------------------------

    def redis_kill(self) -> None:
        """The broker dies: SIGKILL, by pid. Nothing is persisted, so queued tasks are lost."""
        process = self.redis.process
        if process is not None:
            process.kill()
            process.wait(timeout=10)
        self.redis.process = None
        # A killed redis-server leaves its socket file; a restarted one replaces it.
        self.redis.socket.unlink(missing_ok=True)

    def redis_start(self) -> None:
        self.redis.start()

    def worker_start(self, *, task_delay: float = 0.0, visibility_timeout: float = 0.0) -> None:
        with self._lock:
            if self.worker is not None:
                raise RuntimeError("a worker is already running")
            self._worker_options = {
                "task_delay": task_delay,
                "visibility_timeout": visibility_timeout,
            }
            self._worker_spawn(**self._worker_options)

    def _worker_spawn(self, *, task_delay: float, visibility_timeout: float) -> None:
        self.workers_started += 1
        extra = {"RELIABILITY_TASK_DELAY": str(task_delay)}
        if visibility_timeout:
            extra["RELIABILITY_VISIBILITY_TIMEOUT"] = str(visibility_timeout)
        log = open(self.data_dir / f"worker-{self.workers_started}.log", "wb")  # noqa: SIM115
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "bench.reliability_worker",
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            str(self.worker_concurrency),
            "--without-gossip",
            "--without-mingle",
            "--hostname",
            f"reliability{self.workers_started}@{HOST}",
        ]
        self.worker = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.env(**extra),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()  # the child holds its own descriptor

    def worker_stop(self) -> None:
        """Warm shutdown: the worker finishes its running tasks first."""
        with self._lock:
            if self.worker is not None:
                _group_kill(self.worker, signal.SIGTERM, timeout=60)
                self.worker = None

    def worker_kill(self) -> None:
        """The worker's machine dies: SIGKILL to the worker and its pool processes at once, so
        no process is left to acknowledge or reject what it had taken."""
        with self._lock:
            if self.worker is not None:
                _group_kill(self.worker, signal.SIGKILL)
                self.worker = None

    def sweep_send(self) -> None:
        """Queue the scoring sweep through the broker, as beat does every five minutes."""
        from celery import Celery

        sender = Celery("reliability-sweep")
        # An explicit connection: Celery prefers a CELERY_BROKER_URL in the environment to the
        # broker an app is given, and this process's may name another broker.
        with sender.connection_for_write(self.broker_url) as connection:
            sender.send_task("scoring.tasks.scoring_sweep_task", connection=connection)
        sender.close()

    def broker_backlog(self) -> tuple[int, int]:
        """(messages waiting in the default queue, messages delivered and not acknowledged)."""
        import redis

        client = redis.Redis(unix_socket_path=str(self.redis.socket), socket_timeout=2)
        try:
            return int(client.llen("celery")), int(client.hlen("unacked"))
        except (redis.RedisError, OSError):
            return -1, -1
        finally:
            client.close()

    def task_events(self) -> list[tuple[str, int, float]]:
        """What the workers' task log holds: (start | scored | end, response id, time)."""
        events = []
        for line in self.task_log.read_text().splitlines():
            event, response_id, at = line.split()
            events.append((event, int(response_id), float(at)))
        return events

    def tasks_in_flight(self) -> tuple[set[int], set[int]]:
        """Responses whose task is running now: (not yet scored, scored but not returned)."""
        state: dict[int, str] = {}
        for event, response_id, _ in self.task_events():
            state[response_id] = event
        running = {r for r, e in state.items() if e == "start"}
        returning = {r for r, e in state.items() if e == "scored"}
        return running, returning


def wait_until(condition, *, timeout: float, interval: float = 0.05) -> bool:
    """Poll `condition` until true or `timeout` seconds passed; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
