from datetime import timedelta
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from diary.models import Participant, Response, Study
from diary.services.periods import period_end_report, period_start_report
from diary.services.site_actions import participant_withdraw
from diary.services.submission import assessment_submit
from scoring.definitions import instrument_get
from scoring.services import scoring_sweep


def submit_period(participant, *, number: int, answers: dict, vas: int | None, days_ago: int):
    """Report a period that ended `days_ago` days ago and submit its questionnaires now."""
    now = timezone.now()
    today = now.date()
    period = period_start_report(
        participant=participant,
        started_on=today - timedelta(days=days_ago + 4),
        actor=participant.user,
        now=now,
    )
    assert period.number == number
    period_end_report(
        period=period, ended_on=today - timedelta(days=days_ago), actor=participant.user, now=now
    )
    period.assessment.refresh_from_db()
    return assessment_submit(
        participant=participant,
        assessment_id=period.assessment.pk,
        answers={"ehp30": answers, "vas_dysmenorrhea": {"vas_dysmenorrhea": vas}},
        actor=participant.user,
        confirm_unanswered=True,
        now=now,
    )


def ehp30_answers(code: int, *, missing: tuple[str, ...] = ()) -> dict:
    keys = instrument_get("ehp30").item_keys()
    return {key: (None if key in missing else code) for key in keys}


def answered_without_a_reported_period(participant, *, number: int, code: int, now) -> Response:
    """Her questionnaire of period `number` answered and submitted while no period `number`
    is reported: the database allows it (Assessment.period is nullable, the answers need no
    period row), as data loaded from an earlier system or entered before the link shows."""
    assessment = participant.assessments.get(period_number=number)
    assert assessment.period_id is None and not participant.periods.filter(number=number)
    type(assessment).objects.filter(pk=assessment.pk).update(status="submitted", submitted_at=now)
    instrument = instrument_get("ehp30")
    return Response.objects.create(
        assessment=assessment,
        instrument_key="ehp30",
        instrument_version=instrument.version,
        instrument_hash=instrument.content_hash,
        answers=ehp30_answers(code, missing=("ehp30_q05",)),
        submitted_at=now,
        submitted_by=participant.user,
        source="participant_web",
    )


@pytest.fixture
def submitted(world):
    """participant_a (site S01, AP) and participant_b (site S02, PA) each submitted period 1."""
    world.study.backdating_limit_days = 14
    world.study.save()
    submit_period(
        world.participant_a,
        number=1,
        answers=ehp30_answers(2, missing=("ehp30_q03", "ehp30_q17")),
        vas=63,
        days_ago=1,
    )
    submit_period(world.participant_b, number=1, answers=ehp30_answers(1), vas=None, days_ago=1)
    return world


@pytest.fixture
def trial(db):
    """The demo study, scored, with two withdrawals: S01-004 after reporting her fourth period
    (in the second treatment block) and S02-008 before her first."""
    cache.clear()
    with override_settings(DEBUG=True):
        call_command("demo_study", stdout=StringIO())
    scoring_sweep()
    study = Study.objects.get(code="ENDO-ANK")
    coordinator = study.memberships.filter(role="coordinator").first().user
    for subject_id in ("S01-004", "S02-008"):
        participant_withdraw(
            participant=Participant.objects.get(study=study, subject_id=subject_id),
            reason="Moved abroad",
            actor=coordinator,
        )
    return study
