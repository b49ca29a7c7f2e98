"""`make run`: the whole application on one machine, with a demo study.

Starts embedded PostgreSQL (with its owner and application roles) and Redis under .data/
unless DATABASE_URL (with DATABASE_OWNER_URL) / CELERY_BROKER_URL point at real servers,
migrates as the owner, creates the demo study if the database has none, then runs the web
server, a Celery worker and Celery beat as the application role. Ctrl-C stops everything it
started; the data stays for the next run.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from config import embedded
from config.env import database_from_url

BASE_DIR = Path(__file__).resolve().parent.parent


def fail(message: str) -> None:
    sys.stderr.write(f"make run: {message}\n")
    sys.exit(2)


def port_check(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            fail(
                f"port {port} on {host} is already in use. Stop whatever uses it, or choose "
                f"another port: PORT={port + 1} make run"
            )


def database_check(url: str, variable: str) -> None:
    """One clear line when a database URL is malformed or its server does not answer."""
    import psycopg
    from django.core.exceptions import ImproperlyConfigured

    try:
        config = database_from_url(url, variable=variable)
    except ImproperlyConfigured as exc:
        fail(str(exc))
    try:
        psycopg.connect(
            dbname=config["NAME"],
            user=config.get("USER") or None,
            password=config.get("PASSWORD") or None,
            host=config.get("HOST") or None,
            port=config.get("PORT") or None,
            connect_timeout=5,
        ).close()
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        fail(f"{variable}: cannot connect to {config.get('HOST') or 'localhost'}: {reason}")


def broker_check(url: str) -> None:
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=5) as conn:
            conn.ensure_connection(max_retries=1, timeout=5)
    except Exception as exc:  # kombu raises transport-specific errors
        fail(f"CELERY_BROKER_URL: cannot reach the broker at {url}: {exc}")


def site_url(host: str, port: int) -> str:
    """The base URL of e-mail links (SITE_URL) for a server bound to host:port: the address a
    browser on this machine opens (loopback for a wildcard bind), with the port in use."""
    if host in {"", "0.0.0.0", "::"}:  # noqa: S104 - naming the wildcard, not binding to it
        host = "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def manage(*args: str, env: dict[str, str] | None = None) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, check=False
    )
    if result.returncode != 0:
        fail(f"'manage.py {' '.join(args)}' failed (exit {result.returncode}); see above.")


def migrate() -> None:
    """Migrate as the owner, saying in one line what is wrong with the roles if anything is
    (the migrate command's own CommandError, without the rest of its output)."""
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=BASE_DIR,
        check=False,
        stderr=subprocess.PIPE,
        text=True,
    )
    if result.returncode != 0:
        errors = [line for line in result.stderr.splitlines() if line.startswith("CommandError: ")]
        if errors:
            fail(errors[-1].removeprefix("CommandError: "))
        sys.stderr.write(result.stderr)
        fail(f"'manage.py migrate' failed (exit {result.returncode}); see above.")


def main() -> None:
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    host = os.environ.get("HOST", "127.0.0.1")
    try:
        port = int(os.environ.get("PORT", "8000"))
    except ValueError:
        fail(f"PORT: {os.environ['PORT']!r} is not a port number")
    port_check(host, port)
    # Links in invitation, reset and reminder e-mails (sent by the web server and the worker,
    # which inherit this environment) lead to the server really started, PORT=8001 included.
    os.environ.setdefault("SITE_URL", site_url(host, port))

    data = embedded.data_root(BASE_DIR)
    redis_server = None
    if os.environ.get("DATABASE_URL"):
        if not os.environ.get("DATABASE_OWNER_URL"):
            fail(
                "DATABASE_OWNER_URL: must be set with DATABASE_URL: the owner role migrates, "
                "DATABASE_URL's application role runs everything else"
            )
        database_check(os.environ["DATABASE_URL"], "DATABASE_URL")
        database_check(os.environ["DATABASE_OWNER_URL"], "DATABASE_OWNER_URL")
    else:
        print(f"Starting embedded PostgreSQL in {data / 'pg'} ...", flush=True)
        urls = embedded.postgres_start(data / "pg")
        os.environ["DATABASE_URL"], os.environ["DATABASE_OWNER_URL"] = urls.app, urls.owner
    if os.environ.get("CELERY_BROKER_URL"):
        broker_check(os.environ["CELERY_BROKER_URL"])
    else:
        print(f"Starting embedded Redis in {data / 'redis'} ...", flush=True)
        redis_server = embedded.EmbeddedRedis(data / "redis", persistent=True)
        os.environ["CELERY_BROKER_URL"] = redis_server.start()

    # Static files as production serves them (config/settings.py, STATIC_COLLECTED): collected
    # under .data/static with hashed names and gzip copies, cached by browsers for good.
    os.environ.setdefault("STATIC_COLLECTED", "1")
    os.environ.setdefault("STATIC_ROOT", str(data / "static"))

    migrate()
    # Nothing after the migrations holds the owner's credentials.
    os.environ.pop("DATABASE_OWNER_URL")
    if os.environ["DEBUG"].lower() in {"1", "true", "yes", "on"}:
        manage("demo_study")
    if os.environ["STATIC_COLLECTED"].lower() in {"1", "true", "yes", "on"}:
        print("Collecting static files (restart make run after editing one) ...", flush=True)
        manage("collectstatic", "--noinput", "--verbosity", "0")

    celery = [sys.executable, "-m", "celery", "-A", "config"]
    commands = {
        "web": [sys.executable, "manage.py", "runserver", f"{host}:{port}", "--noreload"],
        "worker": [*celery, "worker", "--loglevel", "INFO", "--concurrency", "2"],
        "beat": [*celery, "beat", "--loglevel", "INFO"],
    }
    children = {
        name: subprocess.Popen(command, cwd=BASE_DIR, start_new_session=True)
        for name, command in commands.items()
    }
    password = os.environ.get("DEMO_PASSWORD", "demo")
    print(
        f"\n  Participant diary: http://{host}:{port}/diary/   (e.g. S01-001 / {password})\n"
        f"  Staff admin:       http://{host}:{port}/admin/    (admin, coordinator1, coordinator2,"
        f" monitor, statistician / {password})\n"
        f"  E-mail links:      {os.environ['SITE_URL']}/diary/...\n"
        "  Ctrl-C stops the web server, worker, beat and the embedded services.\n",
        flush=True,
    )

    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    exit_code = 0
    while not stopping:
        for name, child in children.items():
            if child.poll() is not None:
                sys.stderr.write(f"make run: {name} exited with {child.returncode}; stopping.\n")
                stopping, exit_code = True, 1
                break
        time.sleep(0.3)

    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
    if redis_server is not None:
        redis_server.stop()
    print("Stopped. Data is kept in .data/ for the next run.", flush=True)
    sys.exit(exit_code)


if __name__ == "__main__":
    main()
