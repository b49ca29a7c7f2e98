"""The facts the flow of participants counts (scoring.statistics.flow), one per participant.

Unblinded content (each participant's sequence): callers check access. Selectors read and
never write.
"""

from __future__ import annotations

from datetime import UTC

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import Exists, F, IntegerField, OuterRef
from django.db.models.expressions import RawSQL
from django.db.models.functions import TruncDate

from diary.exports.sql import table, withdrawal_period
from diary.models import (
    Assessment,
    AssessmentStatus,
    ClosingPeriodStart,
    MenstrualPeriod,
    Participant,
    Study,
)
from scoring.statistics.flow import FlowParticipant


def withdrawal_period_expression() -> RawSQL:
    """The period in which a participant (the outer Participant row) withdrew, by the rule
    every export uses (diary.exports.sql.withdrawal_period); NULL when she has not withdrawn."""
    # The SQL is built from model metadata only, no input.
    return RawSQL(withdrawal_period(participant=table(Participant)), (), IntegerField())  # noqa: S611


def flow_participants(
    *, study: Study, site_ids: tuple[int, ...] | None = None
) -> list[FlowParticipant]:
    """Every participant of the study (of `site_ids` only, when given), one query: her
    sequence (None: not randomised), the periods she started and completed (questionnaire
    submitted), her withdrawal date (UTC) and period, and whether she closed the last cycle."""
    participants = Participant.objects.filter(study=study)
    if site_ids is not None:
        participants = participants.filter(site_id__in=site_ids)
    rows = (
        participants.annotate(
            sequence_code=F("allocation__sequence__code"),
            started=ArraySubquery(
                MenstrualPeriod.objects.filter(participant=OuterRef("pk")).values("number")
            ),
            completed=ArraySubquery(
                Assessment.objects.filter(
                    participant=OuterRef("pk"), status=AssessmentStatus.SUBMITTED
                ).values("period_number")
            ),
            withdrawn_on=TruncDate("withdrawn_at", tzinfo=UTC),
            withdrawn_in=withdrawal_period_expression(),
            closed=Exists(ClosingPeriodStart.objects.filter(participant=OuterRef("pk"))),
        )
        .order_by("subject_id")
        .values_list(
            "subject_id", "sequence_code", "started", "completed", "withdrawn_on",
            "withdrawn_in", "closed",
        )
    )  # fmt: skip
    return [
        FlowParticipant(
            participant=subject, sequence=sequence, started=frozenset(started),
            completed=frozenset(completed), withdrawn_on=withdrawn_on,
            withdrawn_in_period=withdrawn_in if withdrawn_on is not None else None,
            cycle_closed=closed,
        )
        for subject, sequence, started, completed, withdrawn_on, withdrawn_in, closed in rows
    ]  # fmt: skip
