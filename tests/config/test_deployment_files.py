"""The production image and compose stack start what the tests exercise (no Docker engine
here, so the files themselves are checked)."""

import importlib
import os
import re
import runpy
import shlex
from pathlib import Path

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict:
    return YAML(typ="safe").load((ROOT / "docker-compose.yml").read_text())


def test_the_image_copies_every_runtime_directory():
    copied = set(re.findall(r"^COPY (\S+) ", (ROOT / "Dockerfile").read_text(), re.M))
    needed = {"config", "diary", "scoring", "templates", "locale", "manage.py"}
    assert needed <= copied, needed - copied


@pytest.mark.django_db  # importing config.wsgi checks the audit chain key against the database
def test_compose_runs_web_worker_and_beat_from_our_modules():
    services = compose()["services"]
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    web = " ".join(services["web"]["command"])
    assert web == "gunicorn --config config/gunicorn.conf.py config.wsgi:application"
    assert services["worker"]["command"][:4] == ["celery", "-A", "config", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "config", "beat"]
    assert importlib.import_module("config.wsgi").application is not None
    assert importlib.import_module("config.celery").app.main == "epro"


def test_the_image_and_compose_run_gunicorn_with_its_config_file():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'CMD ["gunicorn", "--config", "config/gunicorn.conf.py", "config.wsgi:application"]' in (
        dockerfile
    )


@pytest.mark.parametrize(
    ("environment", "workers"),
    [({}, min(2 * (os.cpu_count() or 1) + 1, 9)), ({"WEB_CONCURRENCY": "3"}, 3)],
)
def test_gunicorn_serves_port_8000_with_sync_workers(monkeypatch, environment, workers):
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    config = runpy.run_path(str(ROOT / "config" / "gunicorn.conf.py"))
    assert config["bind"] == ["0.0.0.0:8000"]
    assert config["worker_class"] == "sync"
    assert config["workers"] == workers
    assert config["accesslog"] == "-"


def test_compose_depends_on_healthy_services_and_holds_no_secret():
    data = compose()
    for name in ("web", "worker", "beat"):
        depends = data["services"][name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"
        assert depends["migrate"]["condition"] == "service_completed_successfully"
    text = (ROOT / "docker-compose.yml").read_text()
    for required in ("SECRET_KEY", "POSTGRES_PASSWORD", "DB_OWNER_PASSWORD", "DB_APP_PASSWORD"):
        assert "${" + required + ":?" in text
    for service in data["services"].values():
        for key, value in (service.get("environment") or {}).items():
            if "SECRET" in key or "PASSWORD" in key:
                assert str(value).startswith("${"), f"{key} must come from the environment"


def test_health_check_command_targets_the_health_endpoint(client, db):
    test = compose()["services"]["web"]["healthcheck"]["test"]
    assert "/healthz" in shlex.join(test)
    assert client.get("/healthz").content == b"ok"


def test_only_migrate_and_backup_hold_the_owner_and_the_rest_is_the_application_role():
    services = compose()["services"]
    for name in ("migrate", "backup"):
        assert services[name]["environment"]["DATABASE_OWNER_URL"].startswith(
            "postgres://epro_owner:"
        )
    for name in ("migrate", "web", "worker", "beat", "backup"):
        environment = services[name]["environment"]
        assert environment["DATABASE_URL"].startswith("postgres://epro_app:"), name
        if name not in {"migrate", "backup"}:
            assert "DATABASE_OWNER_URL" not in environment, name
            assert "DB_OWNER_PASSWORD" not in str(environment), name


def test_compose_backs_up_into_a_volume_of_its_own_with_the_image_and_retention():
    services = compose()["services"]
    backup = services["backup"]
    assert backup["image"] == services["web"]["image"]
    assert "backups:/backups" in backup["volumes"]
    assert "backups" in compose()["volumes"]
    assert backup["environment"]["BACKUP_DIR"] == "/backups"
    assert backup["environment"]["BACKUP_KEEP"] == "${BACKUP_KEEP:-14}"
    loop = backup["command"][-1]
    assert "python manage.py backup ||" in loop  # a failed backup does not end the loop
    assert 'sleep "$${BACKUP_INTERVAL_SECONDS}"' in loop
    assert backup["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "manifest.json" in backup["healthcheck"]["test"][1]


def test_the_image_has_pg_dump_of_the_compose_servers_major_version():
    """pg_dump refuses a server newer than itself: the image's client matches postgres:N."""
    major = compose()["services"]["postgres"]["image"].split(":")[1]
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"ARG POSTGRES_CLIENT_MAJOR={major}\n" in dockerfile
    assert '"postgresql-client-${POSTGRES_CLIENT_MAJOR}"' in dockerfile
    assert "install -d -o 10001 -g 10001 -m 0700 /backups" in dockerfile


def test_the_database_roles_are_created_on_a_fresh_volume():
    postgres = compose()["services"]["postgres"]
    mounts = [str(volume) for volume in postgres["volumes"]]
    assert "./deploy/postgres/init-roles.sh:/docker-entrypoint-initdb.d/10-roles.sh:ro" in mounts
    script = (ROOT / "deploy" / "postgres" / "init-roles.sh").read_text()
    for statement in (
        "CREATE ROLE epro_owner LOGIN NOSUPERUSER",
        "CREATE ROLE epro_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE",
        'ALTER DATABASE :"db" OWNER TO epro_owner',
        "ALTER SCHEMA public OWNER TO epro_owner",
    ):
        assert statement in script


def test_plain_http_is_published_on_loopback_only_unless_told_otherwise():
    ports = compose()["services"]["web"]["ports"]
    assert ports == ["${WEB_BIND:-127.0.0.1}:${WEB_PORT:-8000}:8000"]
    for name, service in compose()["services"].items():
        if name != "web":
            assert "ports" not in service, f"{name} is reachable from outside"

