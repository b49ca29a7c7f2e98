"""Configuration comes from the environment and fails with one line naming the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import broker_url_check, database_from_url

ROOT = Path(__file__).resolve().parents[2]


def test_postgres_url_is_parsed_into_django_settings():
    db = database_from_url("postgres://app:secret@db.internal:5433/epro")
    assert (db["ENGINE"], db["NAME"], db["USER"], db["HOST"], db["PORT"]) == (
        "django.db.backends.postgresql",
        "epro",
        "app",
        "db.internal",
        5433,
    )


def test_unix_socket_directory_in_the_host_part_is_decoded():
    db = database_from_url("postgres://postgres@%2Fsrv%2Fdata%2Fpg/epro")
    assert db["HOST"] == "/srv/data/pg"


def test_pooling_is_configured_when_asked():
    db = database_from_url("postgres://u@h/epro", pool=True)
    assert db["OPTIONS"]["pool"]["max_size"] >= 1


@pytest.mark.parametrize("url", ["mysql://u:p@localhost/epro", "sqlite:///tmp/db.sqlite3"])
def test_a_database_other_than_postgres_is_refused_naming_the_variable(url):
    with pytest.raises(ImproperlyConfigured, match=r"^DATABASE_URL: .* is not PostgreSQL"):
        database_from_url(url)


def test_a_database_url_without_a_name_is_refused():
    with pytest.raises(ImproperlyConfigured, match=r"^DATABASE_URL: no database name"):
        database_from_url("postgres://u@localhost/")


def test_an_unknown_broker_scheme_is_refused_naming_the_variable():
    with pytest.raises(ImproperlyConfigured, match=r"^CELERY_BROKER_URL: unsupported scheme"):
        broker_url_check("http://localhost:6379")
    assert broker_url_check("redis://localhost:6379/0") == "redis://localhost:6379/0"


def _manage(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DATABASE_URL",
            "DATABASE_OWNER_URL",
            "CELERY_BROKER_URL",
            "SECRET_KEY",
            "AUDIT_CHAIN_KEY",
            "DEBUG",
            "DJANGO_SETTINGS_MODULE",
        }
    }
    clean["DJANGO_SETTINGS_MODULE"] = "config.settings"
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "k" * 20 + "Zq8#x!v2@LmN7$pR4&tY9*wB1^cD6(eF3)gH5",
    "AUDIT_CHAIN_KEY": "a-production-chain-key-of-forty-characters",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/epro",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "ALLOWED_HOSTS": "diary.example.org",
}


def test_production_settings_pass_the_deployment_checklist():
    result = _manage(["check", "--deploy", "--fail-level", "WARNING"], PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    "missing", ["SECRET_KEY", "AUDIT_CHAIN_KEY", "DATABASE_URL", "CELERY_BROKER_URL"]
)
def test_production_without_a_required_variable_fails_in_one_line(missing):
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    result = _manage(["check"], env)
    assert result.returncode == 2
    assert result.stderr.strip() == f"configuration error: {missing}: must be set when DEBUG is off"


def test_debug_is_off_unless_set():
    result = _manage(
        ["shell", "-c", "from django.conf import settings; print(settings.DEBUG, settings.USE_TZ)"],
        {k: v for k, v in PRODUCTION.items() if k != "DEBUG"},
    )
    assert result.stdout.strip().splitlines()[-1] == "False True", result.stderr


def test_an_owner_url_naming_another_database_fails_in_one_line():
    env = {**PRODUCTION, "DATABASE_OWNER_URL": "postgres://epro_owner@127.0.0.1:5432/other"}
    result = _manage(["check"], env)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "configuration error: DATABASE_OWNER_URL: names database 'other' and DATABASE_URL "
        "'epro'; both name the one database, as owner and as application"
    )


def test_migrate_without_the_owner_url_fails_in_one_line():
    result = _manage(["migrate", "--noinput"], PRODUCTION)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "CommandError: DATABASE_OWNER_URL: must be set: migrations run as the owner role, and "
        "DATABASE_URL's application role may create nothing"
    )


def test_a_negative_backup_retention_fails_in_one_line():
    result = _manage(["check"], {**PRODUCTION, "BACKUP_KEEP": "-1"})
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "configuration error: BACKUP_KEEP: must be 0 (keep every backup) or more"
    )


def test_backups_go_where_backup_dir_says_and_keep_all_by_default(tmp_path):
    result = _manage(
        [
            "shell",
            "-c",
            "from django.conf import settings; print(settings.BACKUP_DIR, settings.BACKUP_KEEP)",
        ],
        {**PRODUCTION, "BACKUP_DIR": str(tmp_path / "b")},
    )
    assert result.stdout.strip().splitlines()[-1] == f"{tmp_path / 'b'} 0", result.stderr


def test_a_short_audit_chain_key_fails_in_one_line():
    result = _manage(["check"], {**PRODUCTION, "AUDIT_CHAIN_KEY": "short"})
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "configuration error: AUDIT_CHAIN_KEY: must be at least 32 characters (README: Audit chain)"
    )


def test_the_database_sessions_receive_the_key_pads_not_the_key():
    result = _manage(
        [
            "shell",
            "-c",
            "from django.conf import settings; "
            "print(settings.DATABASES['default']['OPTIONS']['options'])",
        ],
        PRODUCTION,
    )
    options = result.stdout.strip().splitlines()[-1]
    assert options.startswith("-c epro.chain_ipad=") and " -c epro.chain_opad=" in options
    assert PRODUCTION["AUDIT_CHAIN_KEY"] not in options


def test_debug_keeps_a_generated_audit_chain_key_under_the_data_dir(tmp_path):
    env = {
        **{k: v for k, v in PRODUCTION.items() if k != "AUDIT_CHAIN_KEY"},
        "DEBUG": "1",
        "DATA_DIR": str(tmp_path),
    }
    show = ["shell", "-c", "from django.conf import settings; print(settings.AUDIT_CHAIN_KEY)"]
    first = _manage(show, env).stdout.strip().splitlines()[-1]
    assert (tmp_path / "audit-chain-key").read_text().strip() == first
    assert len(first) >= 32
    assert _manage(show, env).stdout.strip().splitlines()[-1] == first  # kept across runs
