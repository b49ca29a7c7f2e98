"""What the database enforces against the application's own role, applied by the owner after
every migrate (a post_migrate receiver, so tables that later migrations add are covered too).

The application role (DATABASE_URL; config/database_roles.py) connects with these privileges:

| tables | privileges |
|---|---|
| append-only: audit events, responses, instrument versions, row history | SELECT, INSERT |
| scores, pghistory's context | SELECT, INSERT, UPDATE |
| django_migrations | SELECT |
| everything else | SELECT, INSERT, UPDATE, DELETE |

and never TRUNCATE, REFERENCES or TRIGGER, nor CREATE in the database or the schema (no
temporary tables either: one named like a history table would take the history of this
session's writes). A table is append-only when its model declares a pgtrigger.Protect on UPDATE
and DELETE (pghistory gives every event model one, PGHISTORY_APPEND_ONLY).

Guards that honour no session setting, on top of the privileges:

- `epro_append_only`: a row trigger on every append-only table refusing UPDATE and DELETE. It is
  plain SQL, not a pgtrigger trigger: those skip themselves when `pgtrigger.ignore` names them,
  and any role may set that variable.
- `epro_no_truncate`: a statement trigger refusing TRUNCATE, which skips row triggers and so
  would erase history without a trace, even for the owner, on the append-only tables, every
  table with row history, scores and the context table. The owner can still drop a trigger:
  the keyed audit chain is what detects an owner's or a superuser's edit.
- pgtrigger's ignore switch is answered "no" for every trigger: the row-history triggers and
  the model invariants (period numbers, score updates) are pgtrigger triggers, and the
  application must not be able to silence them with `SET LOCAL pgtrigger.ignore`. (Running
  `manage.py pgtrigger install` re-creates pgtrigger's own function; migrate again after it.)

- `epro_study_lock`: row triggers on the clinical tables refusing what a study's lock forbids
  (Study.lock_level; diary.services.study_lock gives the same refusals their messages), so no
  write path skips the lock: under a hard lock every INSERT, UPDATE and DELETE of a
  participant's record, periods, assessments, responses, drafts and allocation (a
  participant's row only when its status changes or it is new); under a soft lock a new
  period, any draft and any response but a documented correction.

The application role cannot set `session_replication_role` (superuser only) and cannot ALTER
or disable triggers (owner only).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pgtrigger
import pgtrigger.features
from django.apps import apps as global_apps
from django.conf import settings
from django.core.management.base import CommandError
from django.db import connections, models, transaction

from config.database_roles import database_problem
from diary.chain_tables import chained_tables
from diary.rules.audit_chain import (
    CHAIN_FUNCTION,
    CHAIN_FUNCTION_NAME,
    CHAIN_LOCK,
    CHAIN_TRIGGER,
    DELETED,
    DIGEST_SESSION,
    GENESIS,
    content_digest_sql,
    link_message,
    row_digest_sql,
)
from diary.rules.chain_key import chain_secret, check_value, link_hmac

APPEND_ONLY_TRIGGER = "epro_append_only"
STUDY_LOCK_TRIGGER = "epro_study_lock"
NO_TRUNCATE_TRIGGER = "epro_no_truncate"
CHAIN_LINK_TABLE = "diary_auditchainlink"

ALL = "SELECT, INSERT, UPDATE, DELETE"
NO_DELETE = "SELECT, INSERT, UPDATE"
APPEND_ONLY = "SELECT, INSERT"

# Scores are recomputed in place when a study changes its missing-item rule (with row history;
# scoring/models.py refuses any other change); the context rows of pghistory are upserted as a
# request's metadata grows.
# Queries to sites change status and signal thresholds change, both with row history: neither
# is ever deleted; nor is a participant's change request, decided once.
NO_DELETE_MODELS = (
    "scoring.Score",
    "pghistory.Context",
    "diary.DataQuery",
    "diary.StudySignalSettings",
    "diary.DataChangeRequest",
)

_GUARD_FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION public.{APPEND_ONLY_TRIGGER}() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE OR REPLACE FUNCTION public.{NO_TRUNCATE_TRIGGER}() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    RAISE EXCEPTION 'TRUNCATE of % refused: its rows are part of the audit trail', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END $$;
"""

# The argument says how a row reaches its study: 'participant' (the row is one), 'member'
# (participant_id) or 'answer' (assessment_id). The read of the level is plain, not FOR SHARE:
# a share lock on the study row from every submission would deadlock with the lock's own
# confirmation (which holds the study row and then waits for the audit chain); a write whose
# statement ran before the confirmation committed happened before the lock.
_STUDY_LOCK_FUNCTION = """
CREATE OR REPLACE FUNCTION public.epro_study_lock() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_catalog AS $$
DECLARE
    rec record;
    study_id bigint;
    level text;
BEGIN
    IF TG_OP = 'DELETE' THEN rec := OLD; ELSE rec := NEW; END IF;
    IF TG_ARGV[0] = 'participant' THEN
        IF TG_OP = 'UPDATE' AND NEW.status IS NOT DISTINCT FROM OLD.status THEN
            RETURN NEW;
        END IF;
        study_id := rec.study_id;
    ELSIF TG_ARGV[0] = 'member' THEN
        SELECT p.study_id INTO study_id FROM diary_participant p WHERE p.id = rec.participant_id;
    ELSE
        SELECT p.study_id INTO study_id FROM diary_assessment a
            JOIN diary_participant p ON p.id = a.participant_id WHERE a.id = rec.assessment_id;
    END IF;
    SELECT s.lock_level INTO level FROM diary_study s WHERE s.id = study_id;
    -- Nested, not one OR: PL/pgSQL does not promise to skip rec.source on other tables.
    IF level = 'soft' THEN
        IF TG_TABLE_NAME = 'diary_responsedraft'
            OR (TG_TABLE_NAME = 'diary_menstrualperiod' AND TG_OP = 'INSERT') THEN
            level := 'hard_for_this';
        ELSIF TG_TABLE_NAME = 'diary_response' THEN
            IF rec.source <> 'site_correction' THEN level := 'hard_for_this'; END IF;
        END IF;
    END IF;
    IF level IN ('hard', 'hard_for_this') THEN
        RAISE EXCEPTION 'study % is locked (%): % on % refused', study_id,
            CASE level WHEN 'hard' THEN 'hard lock' ELSE 'soft lock' END, TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END $$;
"""
# Table -> how its rows reach their study (the trigger's argument).
STUDY_LOCK_TABLES = {
    "diary_participant": "participant",
    "diary_menstrualperiod": "member",
    "diary_assessment": "member",
    "diary_allocation": "member",
    "diary_response": "answer",
    "diary_responsedraft": "answer",
}

# Same name, arguments and result as pgtrigger's, so its triggers keep calling it.
_IGNORE_NOTHING = """
CREATE OR REPLACE FUNCTION {schema}._pgtrigger_should_ignore(trigger_name NAME)
RETURNS BOOLEAN LANGUAGE sql STABLE AS $$ SELECT FALSE $$;
"""


def _protects_update_and_delete(model: type[models.Model]) -> bool:
    for trigger in getattr(model._meta, "triggers", ()):
        if isinstance(trigger, pgtrigger.Protect):
            operations = set(str(trigger.operation).split(" OR "))
            if {"UPDATE", "DELETE"} <= operations:
                return True
    return False


def _concrete_models() -> list[type[models.Model]]:
    models_ = global_apps.get_models(include_auto_created=True)  # many-to-many tables too
    return [m for m in models_ if m._meta.managed and not m._meta.proxy]


def append_only_tables() -> list[str]:
    return sorted(m._meta.db_table for m in _concrete_models() if _protects_update_and_delete(m))


def history_tables() -> list[str]:
    """The tables whose rows have row history (the models pghistory tracks)."""
    tracked = {getattr(m, "pgh_tracked_model", None) for m in _concrete_models()} - {None}
    return sorted(m._meta.db_table for m in tracked)


def no_truncate_tables() -> list[str]:
    no_delete = [global_apps.get_model(label)._meta.db_table for label in NO_DELETE_MODELS]
    return sorted({*append_only_tables(), *history_tables(), *no_delete})


def table_privileges() -> dict[str, str]:
    """What the application role may do to each table of the project."""
    privileges = {m._meta.db_table: ALL for m in _concrete_models()}
    for label in NO_DELETE_MODELS:
        privileges[global_apps.get_model(label)._meta.db_table] = NO_DELETE
    for table in append_only_tables():
        privileges[table] = APPEND_ONLY
    privileges["django_migrations"] = "SELECT"
    # Links are written by the chain trigger alone, as the owner (SECURITY DEFINER).
    privileges[global_apps.get_model("diary", "AuditChainLink")._meta.db_table] = "SELECT"
    return privileges


def _app_role() -> str:
    role = settings.DATABASE_APP_ROLE
    if not role:
        raise CommandError("DATABASE_URL: names no user; the application role must be named")
    return role


def enforcement_sql(
    *,
    app_role: str,
    owner_role: str,
    existing: set[str],
    quote: Callable[[str], str],
    study_lock: bool = True,
) -> list[str]:
    """The statements that give the application role its privileges and install the guards,
    for the tables in `existing` (the study lock's only when `study_lock`: the study table has
    its lock column). Idempotent."""
    app, owner = quote(app_role), quote(owner_role)
    statements = [
        _GUARD_FUNCTIONS,
        _STUDY_LOCK_FUNCTION,
        CHAIN_FUNCTION,
        _IGNORE_NOTHING.format(schema=quote(pgtrigger.features.schema())),
        # The database's and the schema's privileges: connect and use, nothing more.
        f"""DO $$ BEGIN
            EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
            EXECUTE format('REVOKE ALL ON DATABASE %I FROM {app}', current_database());
            EXECUTE format('GRANT CONNECT ON DATABASE %I TO {app}', current_database());
        END $$""",
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
        f"REVOKE ALL ON SCHEMA public FROM {app}",
        f"GRANT USAGE ON SCHEMA public TO {app}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC, {app}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM PUBLIC, {app}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {app}",
        # A table a later migration creates can be read and added to at once; what else the
        # application may do to it is granted here, at the end of that migrate.
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public "
        f"REVOKE ALL ON TABLES FROM {app}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public "
        f"GRANT SELECT, INSERT ON TABLES TO {app}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public "
        f"GRANT USAGE, SELECT ON SEQUENCES TO {app}",
    ]
    for table, privileges in sorted(table_privileges().items()):
        if table in existing:
            statements.append(f"GRANT {privileges} ON {quote(table)} TO {app}")
    for table in append_only_tables():
        if table in existing:
            statements.append(
                f"CREATE OR REPLACE TRIGGER {APPEND_ONLY_TRIGGER} BEFORE UPDATE OR DELETE "
                f"ON {quote(table)} FOR EACH ROW EXECUTE FUNCTION public.{APPEND_ONLY_TRIGGER}()"
            )
    for table, reach in STUDY_LOCK_TABLES.items():
        if table in existing and not study_lock:
            # Migrated back before the lock's column: the guard would fail every write.
            statements.append(f"DROP TRIGGER IF EXISTS {STUDY_LOCK_TRIGGER} ON {quote(table)}")
        elif table in existing:
            statements.append(
                f"CREATE OR REPLACE TRIGGER {STUDY_LOCK_TRIGGER} "
                f"BEFORE INSERT OR UPDATE OR DELETE ON {quote(table)} FOR EACH ROW "
                f"EXECUTE FUNCTION public.{STUDY_LOCK_TRIGGER}('{reach}')"
            )
    # Before the chain's migration (a migration test stepping back) there is nothing to chain to.
    chain_exists = CHAIN_LINK_TABLE in existing
    for table, arguments in chained_tables().items():
        if chain_exists and table in existing:
            quoted = ", ".join(f"'{argument}'" for argument in arguments)
            statements.append(
                f"CREATE OR REPLACE TRIGGER {CHAIN_TRIGGER} AFTER INSERT ON {quote(table)} "
                f"FOR EACH ROW EXECUTE FUNCTION public.{CHAIN_FUNCTION_NAME}({quoted})"
            )
    for table in no_truncate_tables():
        if table in existing:
            statements.append(
                f"CREATE OR REPLACE TRIGGER {NO_TRUNCATE_TRIGGER} BEFORE TRUNCATE "
                f"ON {quote(table)} FOR EACH STATEMENT "
                f"EXECUTE FUNCTION public.{NO_TRUNCATE_TRIGGER}()"
            )
    return statements


def enforcement_apply(*, using: str, **kwargs: Any) -> None:
    """post_migrate: run enforcement_sql as the owner, then check that the application role
    can do no more than granted. Raises CommandError (one line) when it still can.

    Migrations run as the owner (diary's migrate command). A post_migrate sent on the
    application role's own connection (the test suite's flush) changed no schema and could
    grant nothing: it is left alone.
    """
    connection = connections[using]
    app = _app_role()
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        owner = cursor.fetchone()[0]
        if owner == app:
            return
        existing = set(connection.introspection.table_names(cursor))
        quote = connection.ops.quote_name
        study_lock = "diary_study" in existing and any(
            column.name == "lock_level"
            for column in connection.introspection.get_table_description(cursor, "diary_study")
        )
        for statement in enforcement_sql(
            app_role=app, owner_role=owner, existing=existing, quote=quote, study_lock=study_lock
        ):
            cursor.execute(statement)
        chain_backfill(cursor, key=settings.AUDIT_CHAIN_KEY, existing=existing, quote=quote)
        problem = database_problem(cursor, app=app)
    if problem:
        raise CommandError(problem)


def chain_backfill(
    cursor: Any, *, key: str, existing: set[str], quote: Callable[[str], str]
) -> int:
    """Start the audit chain over the rows written before it existed: when the chain has no
    genesis yet, link every row of every chained table (table by table, in key order) as the
    trigger would have. Once the chain has begun, never: a row without a link is then one
    written around the chain, which audit_verify reports. Returns the links written."""
    if CHAIN_LINK_TABLE not in existing:
        return 0
    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK])
    cursor.execute("SELECT 1 FROM diary_auditchainlink WHERE seq = 0")
    if cursor.fetchone() is not None:
        return 0
    for statement in DIGEST_SESSION:
        cursor.execute(statement)
    secret, previous, seq = chain_secret(key), check_value(key), 0
    links = [(0, "", previous, GENESIS, 0, "", "", None, "")]
    for table, arguments in chained_tables().items():
        if table not in existing:
            continue
        pk, content = quote(arguments[0]), len(arguments) > 1
        columns = f"t.{pk}, {row_digest_sql('t')}"
        if content:
            columns += (
                f", t.pgh_obj_id, t.pgh_label, {content_digest_sql('t', arguments[2:], event=True)}"
            )
        cursor.execute(f"SELECT {columns} FROM {quote(table)} t ORDER BY t.{pk}")  # noqa: S608
        for row in cursor.fetchall():
            object_table, object_id, digest = "", None, ""
            if content:
                object_table, object_id = arguments[1], row[2]
                digest = DELETED if row[3] == "delete" else row[4]
            seq += 1
            message = link_message(
                seq=seq,
                prev_hash=previous,
                source_table=table,
                source_id=row[0],
                row_digest=row[1],
                object_table=object_table,
                object_id=object_id,
                content_digest=digest,
            )
            link = link_hmac(secret, message)
            links.append(
                (seq, previous, link, table, row[0], row[1], object_table, object_id, digest)
            )
            previous = link
    if len(links) == 1:
        return 0  # nothing to chain: the first writer's trigger starts the chain
    cursor.executemany(
        "INSERT INTO diary_auditchainlink (seq, prev_hash, hash, source_table, source_id, "
        "row_digest, object_table, object_id, content_digest) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        links,
    )
    return len(links) - 1
