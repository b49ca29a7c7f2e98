"""`make run` (python -m config.run): starts everything, stops everything, explains failures."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def runner_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DATABASE_URL",
            "DATABASE_OWNER_URL",
            "CELERY_BROKER_URL",
            "DJANGO_SETTINGS_MODULE",
            "DEBUG",
            "SECRET_KEY",
        }
    }
    env.update(DATA_DIR=str(tmp_path / "data"), PYTHONUNBUFFERED="1", **extra)
    return env


def run_runner(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "config.run"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("host", "port", "url"),
    [
        ("127.0.0.1", 8001, "http://127.0.0.1:8001"),
        ("0.0.0.0", 8002, "http://127.0.0.1:8002"),  # noqa: S104 - a bind address, as text
        ("localhost", 8000, "http://localhost:8000"),
        ("::1", 8003, "http://[::1]:8003"),
    ],
)
def test_email_links_follow_the_host_and_port_the_server_runs_on(host, port, url):
    """Regression: `PORT=8001 make run` sent links to port 8000 (SITE_URL's default)."""
    from config.run import site_url

    assert site_url(host, port) == url


def test_busy_port_is_reported_with_how_to_choose_another(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_runner(runner_env(tmp_path, PORT=str(port)))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"make run: port {port} on 127.0.0.1 is already in use. Stop whatever uses it, or "
        f"choose another port: PORT={port + 1} make run"
    ]


def test_unreachable_database_is_one_line_naming_the_variable(tmp_path):
    env = runner_env(
        tmp_path,
        PORT=str(free_port()),
        DATABASE_URL="postgres://epro_app@127.0.0.1:1/nowhere",
        DATABASE_OWNER_URL="postgres://epro_owner@127.0.0.1:1/nowhere",
    )
    result = run_runner(env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("make run: DATABASE_URL: cannot connect to 127.0.0.1")


def _test_database_url(db: dict) -> str:
    """A URL for the test database with the credentials of `db` (either role's)."""
    from django.db import connection

    host = quote(db["HOST"] or "localhost", safe="")
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{db['USER']}@{host}{port}/{connection.settings_dict['NAME']}"


def test_unreachable_broker_is_one_line_naming_the_variable(tmp_path, db):
    from django.conf import settings

    # A database that answers (the test database), so only the broker is wrong.
    env = runner_env(
        tmp_path,
        PORT=str(free_port()),
        DATABASE_URL=_test_database_url(settings.DATABASES["default"]),
        DATABASE_OWNER_URL=_test_database_url(settings.DATABASE_OWNER),
        CELERY_BROKER_URL="redis://127.0.0.1:1/0",
    )
    result = run_runner(env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("make run: CELERY_BROKER_URL: cannot reach the broker")


def test_a_database_url_without_the_owner_url_is_one_line(tmp_path):
    env = runner_env(
        tmp_path, PORT=str(free_port()), DATABASE_URL="postgres://epro_app@127.0.0.1:1/epro"
    )
    result = run_runner(env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "make run: DATABASE_OWNER_URL: must be set with DATABASE_URL: the owner role migrates, "
        "DATABASE_URL's application role runs everything else"
    ]


def test_the_owner_as_application_role_is_one_line_and_nothing_runs(tmp_path, db):
    from django.conf import settings

    owner = _test_database_url(settings.DATABASE_OWNER)
    env = runner_env(
        tmp_path,
        PORT=str(free_port()),
        DATABASE_URL=owner,
        DATABASE_OWNER_URL=owner,
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
    )
    result = run_runner(env)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"make run: DATABASE_URL: names the owner role {settings.DATABASE_OWNER['USER']!r}, as "
        "DATABASE_OWNER_URL does; the application needs a role of its own (README: Database "
        "roles)"
    ]


def _get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback only
        return response.status


def test_make_run_serves_the_demo_and_ctrl_c_stops_everything(tmp_path):
    port = free_port()
    env = runner_env(tmp_path, PORT=str(port))
    runner = subprocess.Popen(
        [sys.executable, "-m", "config.run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    try:
        deadline = time.monotonic() + 180
        status = None
        while time.monotonic() < deadline and runner.poll() is None:
            line = runner.stdout.readline()
            output.append(line)
            if "Ctrl-C stops" in line:
                break
        while time.monotonic() < deadline and status is None:
            try:
                status = _get(f"http://127.0.0.1:{port}/diary/login/")
            except OSError:
                time.sleep(0.5)
        assert status == 200, "".join(output)
        assert _get(f"http://127.0.0.1:{port}/admin/login/") == 200
        assert any("S01-001" in line for line in output)
        # E-mail links follow the port the server really runs on.
        assert f"E-mail links:      http://127.0.0.1:{port}/diary/" in "".join(output)
    finally:
        runner.send_signal(signal.SIGINT)
        rest, _ = runner.communicate(timeout=60)
        output.append(rest)
    text = "".join(output)
    assert runner.returncode == 0, text
    assert "Stopped. Data is kept in .data/" in text
    with pytest.raises(OSError):
        _get(f"http://127.0.0.1:{port}/diary/login/")
    # The embedded PostgreSQL stopped too, and its data stays for the next run.
    data = tmp_path / "data"
    assert (data / "pg" / "PG_VERSION").exists()
    assert not (data / "pg" / "postmaster.pid").exists()
    assert not (data / "redis" / "redis.sock").exists() or not _socket_answers(
        data / "redis" / "redis.sock"
    )


def _socket_answers(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX) as s:
        try:
            s.connect(str(path))
        except OSError:
            return False
        return True
