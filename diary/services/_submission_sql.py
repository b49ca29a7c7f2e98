"""A submission's two statements, written out: the lock with the draft, and the writes.

A submission is the diary's busiest write. Through the ORM its writes are four statements: the
responses, the assessment's status, the draft's stamp and the audit event, each a round trip
to PostgreSQL and each compiled in Python while the participant waits; under load each round
trip also waits its turn for the worker's CPU. Here the four are one statement with
data-modifying CTEs. Compiling the ORM's locking query cost four times as much CPU as running
the same SELECT written out, so the lock is written out too (bench/bench_submit.py).

Nothing about the rows changes: the column lists come from the models and the values are
prepared by the models' fields, as the ORM does; PostgreSQL's row triggers (row history with
its request context, the append-only guards) and constraints act on them as on any write.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from django.db import connection, models

from diary.models import Assessment, AssessmentStatus, AuditEvent, Response, ResponseDraft


def _columns(model: type[models.Model], alias: str) -> tuple[list[models.Field], str]:
    fields = list(model._meta.concrete_fields)
    quote = connection.ops.quote_name
    return fields, ", ".join(f"{alias}.{quote(field.column)}" for field in fields)


def _instance(model: type[models.Model], fields: list[models.Field], values: Sequence[Any]):
    """A model instance from the values of `fields` as a query returned them (as the ORM's
    from_db_value converters leave them: JSON decoded, for one)."""
    converted = [
        field.from_db_value(value, None, connection)
        if value is not None and hasattr(field, "from_db_value")
        else value
        for field, value in zip(fields, values, strict=True)
    ]
    return model.from_db(connection.alias, [field.attname for field in fields], converted)


@cache
def _lock_statement() -> tuple[list[models.Field], list[models.Field], str]:
    """assessment_lock's SELECT and the fields of its columns: the same for every call."""
    quote = connection.ops.quote_name
    assessment_fields, assessment_columns = _columns(Assessment, "a")
    draft_fields, draft_columns = _columns(ResponseDraft, "d")

    def column(model: type[models.Model], name: str) -> str:
        return quote(model._meta.get_field(name).column)

    sql = f"""
        SELECT {assessment_columns}, {draft_columns}
        FROM {quote(Assessment._meta.db_table)} a
        LEFT JOIN {quote(ResponseDraft._meta.db_table)} d
            ON d.{column(ResponseDraft, "assessment")} = a.{column(Assessment, "id")}
        WHERE a.{column(Assessment, "id")} = %s AND a.{column(Assessment, "participant")} = %s
            AND a.{column(Assessment, "opens_at")} IS NOT NULL
        FOR UPDATE OF a
    """
    return assessment_fields, draft_fields, sql


def assessment_lock(
    *, participant_id: int, assessment_id: int
) -> tuple[Assessment, ResponseDraft | None]:
    """Lock the participant's assessment `assessment_id` (FOR UPDATE, until the caller's
    transaction ends) and read it with its draft, if any, in one statement.

    Raises Assessment.DoesNotExist when it is not hers or its window is not known yet.
    """
    assessment_fields, draft_fields, sql = _lock_statement()
    with connection.cursor() as cursor:
        cursor.execute(sql, [assessment_id, participant_id])
        row = cursor.fetchone()
    if row is None:
        raise Assessment.DoesNotExist(f"No assessment {assessment_id} of this participant.")
    split = len(assessment_fields)
    assessment = _instance(Assessment, assessment_fields, row[:split])
    draft = None
    if row[split] is not None:  # the draft's id: she has saved something
        draft = _instance(ResponseDraft, draft_fields, row[split:])
        draft.assessment = assessment
    return assessment, draft


def _insert(
    instances: Sequence[models.Model], *, expressions: dict[str, str] | None = None
) -> tuple[str, list[Any]]:
    """INSERT ... VALUES ... RETURNING id for unsaved instances of one model.

    `expressions` maps a field name to an SQL expression with one %s for the field's value,
    to compute that column in the statement itself.
    """
    model = type(instances[0])
    expressions = expressions or {}
    quote = connection.ops.quote_name
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    rows, params = [], []
    for instance in instances:
        marks = []
        for field in fields:
            marks.append(expressions.get(field.name, "%s"))
            value = field.pre_save(instance, add=True)
            params.append(field.get_db_prep_save(value, connection=connection))
        rows.append(f"({', '.join(marks)})")
    columns = ", ".join(quote(f.column) for f in fields)
    return (
        f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES {', '.join(rows)} "
        f"RETURNING {quote(model._meta.pk.column)}",
        params,
    )


def submission_write(
    *,
    assessment: Assessment,
    responses: Sequence[Response],
    audit: AuditEvent,
    now: datetime,
) -> None:
    """Store a validated submission in one statement: insert `responses`, mark `assessment`
    submitted at `now`, stamp its draft (if any) as submitted, and append `audit` with the new
    response ids added to its details under "responses".

    The caller holds the assessment's row lock in the current transaction and has checked that
    it may be submitted. Sets the primary keys of `responses` and `audit`.
    """
    quote = connection.ops.quote_name

    def column(model: type[models.Model], name: str) -> str:
        return quote(model._meta.get_field(name).column)

    insert_responses, response_params = _insert(responses)
    # The event lists the ids of the responses the same statement inserts.
    insert_audit, audit_params = _insert(
        [audit],
        expressions={
            "details": "jsonb_set(%s::jsonb, '{responses}', "
            "(SELECT coalesce(jsonb_agg(id ORDER BY id), '[]'::jsonb) FROM responses))"
        },
    )
    sql = f"""
        WITH submitted AS (
            UPDATE {quote(Assessment._meta.db_table)}
            SET {column(Assessment, "status")} = %s, {column(Assessment, "submitted_at")} = %s
            WHERE {column(Assessment, "id")} = %s
        ), stamped AS (
            UPDATE {quote(ResponseDraft._meta.db_table)}
            SET {column(ResponseDraft, "submitted_at")} = %s
            WHERE {column(ResponseDraft, "assessment")} = %s
        ), responses AS (
            {insert_responses}
        ), audit AS (
            {insert_audit}
        )
        SELECT 'response', id FROM responses UNION ALL SELECT 'audit', id FROM audit
    """
    params = [
        AssessmentStatus.SUBMITTED.value,
        now,
        assessment.pk,
        now,
        assessment.pk,
        *response_params,
        *audit_params,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    response_ids = sorted(pk for kind, pk in rows if kind == "response")
    (audit.pk,) = (pk for kind, pk in rows if kind == "audit")
    # Ids come from the sequence in the order of the VALUES list.
    for response, pk in zip(responses, response_ids, strict=True):
        response.pk = pk
    for instance in (*responses, audit):
        instance._state.adding = False
        instance._state.db = connection.alias
    audit.details = {**audit.details, "responses": response_ids}
    assessment.status = AssessmentStatus.SUBMITTED
    assessment.submitted_at = now
