"""The attack of issue 14, with the application's own database credentials: every bypass of the
append-only rules fails and leaves the rows as they were (diary/enforcement.py).

Each test commits a submission (transactional), then attacks on plain connections of its own:
as the application role (DATABASE_URL), which the web, worker and beat use, and as the owner
(DATABASE_OWNER_URL), which only migrates.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest
from django.conf import settings
from psycopg import errors, sql

from diary.enforcement import append_only_tables, no_truncate_tables
from diary.models import Study
from scoring.models import Score
from scoring.services import responses_score
from tests.db_backend.base import owner_connect
from tests.scoring.submitting import submit

pytestmark = pytest.mark.django_db(transaction=True)


def app_connect() -> psycopg.Connection:
    """As the application connects: its role, and the audit chain's key for the session."""
    db = settings.DATABASES["default"]
    return psycopg.connect(
        dbname=db["NAME"],
        user=db.get("USER") or None,
        password=db.get("PASSWORD") or None,
        host=db.get("HOST") or None,
        port=db.get("PORT") or None,
        options=db["OPTIONS"]["options"],
    )


PROTECTED = ("diary_auditevent", "diary_response", "diary_participantevent", "scoring_score")


def snapshot() -> dict[str, list[tuple]]:
    """Every row of the protected tables, as the owner reads them."""
    with owner_connect() as conn:
        return {
            table: conn.execute(
                sql.SQL("SELECT * FROM {} ORDER BY 1").format(sql.Identifier(table))
            ).fetchall()
            for table in PROTECTED
        }


@pytest.fixture
def submitted(world) -> Iterator[dict[str, list[tuple]]]:
    """A committed submission, scored, with its audit events and row history; yields the
    protected rows as they were before the attack, and checks after it that they still are."""
    responses = submit(world.participant_a)
    responses_score(response_ids=[r.pk for r in responses.values()])
    before = snapshot()
    assert all(before.values()), "every protected table has rows to attack"
    yield before
    assert snapshot() == before


def pgtrigger_ids() -> str:
    """Every pgtrigger trigger of the database, as `pgtrigger.ignore` would name them."""
    with owner_connect() as conn:
        names = conn.execute("SELECT tgname FROM pg_trigger WHERE tgname LIKE 'pgtrigger_%'")
        return "{" + ",".join(row[0] for row in names) + "}"


def attempt(conn: psycopg.Connection, statement: str, error: type[Exception], match: str) -> None:
    """Run one statement in a transaction of its own, which must fail with `error`."""
    with pytest.raises(error, match=match), conn.transaction():
        conn.execute(statement)


def test_the_application_role_owns_nothing_and_may_not_truncate_or_rewrite(submitted):
    app = settings.DATABASES["default"]["USER"]
    with owner_connect() as conn:
        role = conn.execute(
            "SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls "
            "FROM pg_roles WHERE rolname = %s",
            [app],
        ).fetchone()
        assert role == (False, False, False, False, False)
        owned = conn.execute(
            "SELECT count(*) FROM pg_class WHERE relowner = %s::regrole", [app]
        ).fetchone()
        assert owned == (0,)
        tables = [row[0] for row in conn.execute("SELECT tablename FROM pg_tables "
                                                  "WHERE schemaname = 'public'")]  # fmt: skip
        for table in tables:
            for privilege in ("TRUNCATE", "TRIGGER", "REFERENCES"):
                assert not conn.execute(
                    "SELECT has_table_privilege(%s, %s, %s)", [app, f"public.{table}", privilege]
                ).fetchone()[0], (table, privilege)
        for table in append_only_tables():
            for privilege in ("UPDATE", "DELETE"):
                assert not conn.execute(
                    "SELECT has_table_privilege(%s, %s, %s)", [app, table, privilege]
                ).fetchone()[0], (table, privilege)
        assert "diary_participantevent" in append_only_tables()
        assert {"diary_auditevent", "diary_response", "scoring_scoreevent"} <= set(
            append_only_tables()
        )


def test_the_application_role_cannot_truncate_audit_history_responses_or_scores(submitted):
    with app_connect() as conn:
        for table in PROTECTED:
            attempt(conn, f"TRUNCATE {table} CASCADE", errors.InsufficientPrivilege, "permission")


def test_pgtrigger_ignore_lets_the_application_role_change_nothing(submitted):
    with app_connect() as conn:
        for statement in (
            "UPDATE diary_auditevent SET actor_label = 'someone else'",
            "DELETE FROM diary_auditevent",
            "UPDATE diary_response SET answers = '{}'",
            "DELETE FROM diary_response",
            "UPDATE diary_participantevent SET language = 'xx'",
            "DELETE FROM diary_participantevent",
            "DELETE FROM scoring_score",
        ):
            with pytest.raises(errors.InsufficientPrivilege), conn.transaction():
                conn.execute("SELECT set_config('pgtrigger.ignore', %s, true)", [pgtrigger_ids()])
                conn.execute(statement)


def test_the_application_role_cannot_switch_triggers_off(submitted):
    with app_connect() as conn:
        attempt(
            conn,
            "SET session_replication_role = replica",
            errors.InsufficientPrivilege,
            "permission denied to set parameter",
        )
        # Had the SET been allowed, this would have rewritten her answer with no history.
        with pytest.raises(errors.InsufficientPrivilege), conn.transaction():
            conn.execute("SET LOCAL session_replication_role = replica")
            conn.execute("UPDATE diary_response SET answers = '{}'")
        for table in ("diary_response", "diary_auditevent", "diary_participant"):
            for switch in ("DISABLE TRIGGER ALL", "DISABLE TRIGGER USER", "OWNER TO CURRENT_USER"):
                attempt(
                    conn, f"ALTER TABLE {table} {switch}", errors.InsufficientPrivilege, "owner"
                )
        attempt(
            conn,
            "DROP TRIGGER epro_append_only ON diary_response",
            errors.InsufficientPrivilege,
            "owner",
        )


def test_the_application_role_cannot_shadow_a_history_table_or_create_anything(submitted):
    with app_connect() as conn:
        # A temporary table named like a history table would take the history of her writes.
        attempt(
            conn,
            "CREATE TEMPORARY TABLE diary_participantevent (LIKE diary_participantevent)",
            errors.InsufficientPrivilege,
            "permission denied",
        )
        attempt(conn, "CREATE TABLE public.x (id int)", errors.InsufficientPrivilege, "denied")
        attempt(conn, "CREATE SCHEMA mine", errors.InsufficientPrivilege, "denied")
        attempt(
            conn,
            "CREATE OR REPLACE FUNCTION public._pgtrigger_should_ignore(trigger_name NAME) "
            "RETURNS BOOLEAN LANGUAGE sql AS $$ SELECT TRUE $$",
            errors.InsufficientPrivilege,
            "denied",
        )


def test_row_history_is_written_whatever_pgtrigger_ignore_says(world):
    participant = world.participant_a
    before = participant.events.count()
    with app_connect() as conn, conn.transaction():
        conn.execute("SELECT set_config('pgtrigger.ignore', %s, true)", [pgtrigger_ids()])
        conn.execute("UPDATE diary_participant SET language = 'da' WHERE id = %s", [participant.pk])
    assert participant.events.count() == before + 1
    assert participant.events.latest("pgh_id").language == "da"


def test_the_owner_cannot_truncate_what_the_audit_trail_rests_on(submitted):
    with owner_connect() as conn:
        for table in no_truncate_tables():
            attempt(
                conn,
                f"TRUNCATE {table} CASCADE",
                errors.InsufficientPrivilege,
                "TRUNCATE of .* refused",
            )
    assert {"diary_participant", "diary_assessment", "pghistory_context"} <= set(
        no_truncate_tables()
    )


def test_the_owners_guards_honour_no_session_setting(submitted):
    append_only = (errors.InsufficientPrivilege, "is append-only")
    with owner_connect() as conn:
        for statement, (error, match) in (
            ("UPDATE diary_auditevent SET actor_label = 'someone else'", append_only),
            ("DELETE FROM diary_auditevent", append_only),
            ("UPDATE diary_response SET answers = '{}'", append_only),
            ("DELETE FROM diary_response", append_only),
            ("UPDATE diary_participantevent SET language = 'xx'", append_only),
            # A pgtrigger guard, which pgtrigger.ignore no longer switches off either.
            ("DELETE FROM scoring_score", (errors.RaiseException, "Cannot delete")),
        ):
            with pytest.raises(error, match=match), conn.transaction():
                conn.execute("SELECT set_config('pgtrigger.ignore', %s, true)", [pgtrigger_ids()])
                conn.execute(statement)


def test_a_stored_score_changes_only_with_its_rule_and_every_change_is_recorded(world):
    responses = submit(world.participant_a)
    responses_score(response_ids=[r.pk for r in responses.values()])
    vas = Score.objects.get(response=responses["vas_dysmenorrhea"])
    with app_connect() as conn:
        for statement in (
            "UPDATE scoring_score SET value = 99 WHERE id = %s",
            "UPDATE scoring_score SET algorithm_version = '0' WHERE id = %s",
            "UPDATE scoring_score SET response_id = response_id + 1 WHERE id = %s",
        ):
            with pytest.raises(errors.CheckViolation, match="score"), conn.transaction():
                conn.execute("SELECT set_config('pgtrigger.ignore', %s, true)", [pgtrigger_ids()])
                conn.execute(statement, [vas.pk])
    vas.refresh_from_db()
    assert vas.value == Decimal("63")
    assert list(vas.events.values_list("pgh_label", flat=True)) == ["insert"]

    # A rescore that changes nothing records nothing; a change of rule is recorded.
    responses_score(response_ids=[responses["vas_dysmenorrhea"].pk])
    assert vas.events.count() == 1
    Study.objects.filter(pk=world.study.pk).update(missing_item_rule="complete")
    responses_score(response_ids=[responses["vas_dysmenorrhea"].pk])
    assert list(vas.events.order_by("pgh_id").values_list("pgh_label", "missing_rule")) == [
        ("insert", "half"),
        ("update", "complete"),
    ]
