"""The two roles' configuration: what is wrong is said in one line naming the variable."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from config.database_roles import database_problem, role_problem, url_with_role
from diary.enforcement import table_privileges
from tests.db_backend.base import owner_connect


def test_a_url_takes_another_role_and_keeps_its_server_and_database():
    assert url_with_role("postgres://postgres:pw@10.0.0.5:5432/epro_ci", "epro_app") == (
        "postgres://epro_app@10.0.0.5:5432/epro_ci"
    )
    assert url_with_role("postgres://postgres@%2Fsrv%2Fpg/epro", "epro_owner") == (
        "postgres://epro_owner@%2Fsrv%2Fpg/epro"
    )


@pytest.mark.django_db
def test_the_configured_roles_pass_both_checks():
    with owner_connect() as conn, conn.cursor() as cursor:
        assert role_problem(cursor, app=settings.DATABASE_APP_ROLE) is None
        assert database_problem(cursor, app=settings.DATABASE_APP_ROLE) is None


@pytest.mark.django_db
def test_a_wrong_application_role_is_named_in_one_line():
    owner = settings.DATABASE_OWNER["USER"]
    with owner_connect() as conn, conn.cursor() as cursor:
        cursor.execute("SELECT rolname FROM pg_roles WHERE rolsuper ORDER BY rolname LIMIT 1")
        superuser = cursor.fetchone()[0]
        assert role_problem(cursor, app=owner).startswith(
            f"DATABASE_URL: names the owner role {owner!r}"
        )
        assert role_problem(cursor, app=superuser) == (
            f"DATABASE_URL: role {superuser!r} is a superuser; the application role must not be "
            "(README: Database roles)"
        )
        assert role_problem(cursor, app="no_such_role_here") == (
            "DATABASE_URL: role 'no_such_role_here' does not exist; create it (README: Database "
            "roles)"
        )
        # The owner owns every table: as an application role it would be refused.
        assert database_problem(cursor, app=owner).startswith(f"DATABASE_URL: role {owner!r} owns")


@pytest.mark.django_db(transaction=True)  # migrate reconnects as the owner
def test_migrate_refuses_an_application_role_that_is_the_owner(monkeypatch):
    monkeypatch.setattr(settings, "DATABASE_APP_ROLE", settings.DATABASE_OWNER["USER"])
    with pytest.raises(CommandError, match=r"^DATABASE_URL: names the owner role"):
        call_command("migrate", "--check", verbosity=0)


def test_migrate_without_the_owner_is_one_line(monkeypatch):
    monkeypatch.setattr(settings, "DATABASE_OWNER", None)
    with pytest.raises(CommandError, match=r"^DATABASE_OWNER_URL: must be set"):
        call_command("migrate", verbosity=0)


def test_every_table_has_a_decision_and_append_only_tables_are_only_added_to():
    privileges = table_privileges()
    assert privileges["diary_auditevent"] == privileges["diary_response"] == "SELECT, INSERT"
    assert privileges["scoring_scoreevent"] == privileges["diary_assessmentevent"]
    assert privileges["scoring_score"] == "SELECT, INSERT, UPDATE"
    assert privileges["django_session"] == "SELECT, INSERT, UPDATE, DELETE"
    assert privileges["django_migrations"] == "SELECT"
    assert all("TRUNCATE" not in granted for granted in privileges.values())
