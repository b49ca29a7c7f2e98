"""The long analysis file (one row per participant x period x outcome) and the participant's
status, randomisation and withdrawal in every file."""

import csv
import io
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from diary.admin.pages.exports import ExportForm
from diary.exports.columns import (
    KINDS,
    PARTICIPANT,
    UNBLINDED_ONLY_KINDS,
    analysis_columns,
    analysis_outcomes,
)
from diary.models import AuditAction, AuditEvent, Participant, Response
from diary.rules.local_time import local_midnight, utc_iso
from diary.selectors.questionnaire import instruments_collected
from diary.services.exports import ExportRequest, export_start
from diary.services.periods import period_start_report
from diary.services.site_actions import participant_withdraw
from scoring.engine import scores_compute
from tests.diary.exports.test_export_service import download

pytestmark = pytest.mark.django_db

# The files with a row per participant (the dictionary describes variables, the flow counts
# participants per stage).
FILES = [
    (kind, blinded)
    for kind in KINDS
    if kind not in {"dictionary", "flow"}
    for blinded in (True, False)
    if not (blinded and kind in UNBLINDED_ONLY_KINDS)
]


def statistician_of(study):
    return study.memberships.get(role="statistician").user


def analysis_file(study) -> tuple[bytes, pd.DataFrame]:
    content, _ = download(statistician_of(study), study=study, kinds=("analysis",), blinded=False)
    return content, pd.read_csv(io.BytesIO(content))


def exact_scores(study) -> dict[tuple[str, int, str], Fraction]:
    """(study ID, period, scale) -> the engine's exact score, recomputed from the current
    answers of submitted assessments (not read from Score)."""
    out = {}
    collected = dict(instruments_collected(study=study))
    responses = Response.objects.filter(
        assessment__participant__study=study,
        assessment__status="submitted",
        superseded_by__isnull=True,
    ).select_related("assessment__participant")
    for response in responses:
        instrument = next(i for i in collected if i.key == response.instrument_key)
        scores = scores_compute(
            instrument,
            response.answers,
            rule=study.missing_item_rule,
            modules=collected[instrument],
        )
        for score in scores:
            if score.value is not None:
                key = (response.assessment.participant.subject_id,
                       response.assessment.period_number, score.scale)  # fmt: skip
                out[key] = Fraction(score.value)
    return out


def test_one_row_per_participant_period_and_outcome_with_exact_values(trial):
    content, frame = analysis_file(trial)
    collected = instruments_collected(study=trial)
    assert list(frame.columns) == [c.name for c in analysis_columns(collected)]
    outcomes = [o.key for o in analysis_outcomes(collected)]
    assert outcomes[-1] == "cycle_length_days" and len(outcomes) == 7
    participants = Participant.objects.filter(study=trial, allocation__isnull=False).count()
    assert len(frame) == participants * trial.number_of_periods * len(outcomes)
    assert not frame.duplicated(["study_id", "period", "outcome"]).any()
    # In the summary's outcome order within each participant and period.
    first = frame[(frame.study_id == "S01-001") & (frame.period == 1)]
    assert first.outcome.tolist() == outcomes
    # Every scale value is the engine's exact score, written to 20 decimals.
    rows = list(csv.DictReader(io.StringIO(content.decode())))
    exact = exact_scores(trial)
    written = {
        (r["study_id"], int(r["period"]), r["outcome"]): r["value"]
        for r in rows
        if r["outcome"] != "cycle_length_days" and r["value"]
    }
    assert written.keys() == exact.keys()
    for key, text in written.items():
        assert abs(Fraction(Decimal(text)) - exact[key]) <= Fraction(1, 2 * 10**20), key
    assert any(exact[key].denominator % 3 == 0 for key in exact)  # thirds, not 4-decimal exact


def test_each_row_carries_its_treatment_block_and_items_used(trial):
    _, frame = analysis_file(trial)
    content, _ = download(statistician_of(trial), study=trial, kinds=("wide",), blinded=False)
    wide = pd.read_csv(io.BytesIO(content)).set_index(["study_id", "period"])
    for (subject, period), row in frame.groupby(["study_id", "period"]):
        other = wide.loc[(subject, period)]
        assert (row.sequence == other.sequence).all() and (row.treatment == other.treatment).all()
        assert (row.block == (period - 1) // trial.periods_per_block + 1).all()
        assert (row.assessment_status == other.assessment_status).all()
        by_outcome = row.set_index("outcome")
        cycle = by_outcome.loc["cycle_length_days"]
        assert pd.isna(cycle.n_items) and pd.isna(cycle.n_items_in_scale)
        # Cycle length is the period's, whatever happened to its questionnaire.
        assert cycle.value == other.cycle_length_days or (
            pd.isna(cycle.value) and pd.isna(other.cycle_length_days)
        )
        for scale in ("pain", "self_image"):
            items = by_outcome.loc[scale, "n_items"]
            assert items == other[f"{scale}_n"] or (pd.isna(items) and pd.isna(other[f"{scale}_n"]))
        if other.assessment_status != "submitted":
            # Missing is an empty cell, never 0: no value and no item count.
            scales = row[row.outcome != "cycle_length_days"]
            assert scales.value.isna().all() and scales.n_items.isna().all()


def test_every_file_tells_status_randomisation_and_withdrawal(trial):
    names = [column.name for column in PARTICIPANT]
    everyone = Participant.objects.filter(study=trial).select_related("allocation")
    participants = {p.subject_id: p for p in everyone}
    for kind, blinded in FILES:
        content, _ = download(statistician_of(trial), study=trial, kinds=(kind,), blinded=blinded)
        frame = pd.read_csv(io.BytesIO(content))
        assert names == [c for c in frame.columns if c in names], kind
        per_participant = frame.drop_duplicates("study_id").set_index("study_id")
        assert len(frame.drop_duplicates(["study_id", *names])) == len(per_participant), kind
        for subject, row in per_participant.iterrows():
            participant = participants[subject]
            assert row.participant_status == participant.status
            allocated = participant.allocation.allocated_at.replace(microsecond=0)
            assert row.randomised_at == utc_iso(allocated)
            if participant.withdrawn_at is None:
                assert pd.isna(row.withdrawn_at) and pd.isna(row.withdrawal_period)
            else:
                assert row.withdrawn_at == utc_iso(participant.withdrawn_at.replace(microsecond=0))
        withdrawn = per_participant[per_participant.participant_status == "withdrawn"]
        # S01-004 withdrew after her fourth period had started; S02-008 before her first (she
        # has no answers, so no rows in `long`).
        expected = {"S01-004": 4, "S02-008": 0}
        if kind == "long":
            del expected["S02-008"]
        assert withdrawn.withdrawal_period.to_dict() == expected, kind
        if blinded:
            assert b"treatment" not in content and b"sequence" not in content


def test_the_withdrawal_period_is_the_one_in_progress_on_her_own_calendar(world):
    """Withdrawn at 00:30 on the day her period began (Copenhagen), she withdrew in that
    period; at 23:30 the evening before, in the one before it (here: none yet, 0)."""
    participant = world.participant_a
    tz = ZoneInfo(participant.time_zone)
    day = timezone.now().astimezone(tz).date() - timedelta(days=3)
    period_start_report(participant=participant, started_on=day, actor=participant.user)
    midnight = local_midnight(day, tz)
    for minutes, expected in ((30, 1), (-30, 0)):
        Participant.objects.filter(pk=participant.pk).update(
            status="active", withdrawn_at=None, withdrawal_reason=""
        )
        participant_withdraw(
            participant=participant,
            reason="Moved abroad",
            actor=world.coordinator1,
            now=midnight + timedelta(minutes=minutes),
        )
        content, _ = download(world.statistician, study=world.study, kinds=("wide",))
        frame = pd.read_csv(io.BytesIO(content))
        rows = frame[frame.study_id == participant.subject_id]
        assert set(rows.withdrawal_period) == {expected}, minutes
        assert set(frame[frame.study_id != participant.subject_id].withdrawal_period.isna()) == {
            True
        }


@pytest.mark.parametrize("who", ["statistician", "coordinator1", "monitor"])
def test_the_analysis_file_exists_only_unblinded(submitted, who):
    user = getattr(submitted, who)
    with pytest.raises(PermissionDenied, match="only as an unblinded export"):
        export_start(user=user, request=ExportRequest(study=submitted.study, kinds=("analysis",)))
    if who != "statistician":
        with pytest.raises(PermissionDenied, match="need an unblinded role"):
            export_start(
                user=user,
                request=ExportRequest(study=submitted.study, kinds=("analysis",), blinded=False),
            )
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORTED).exists()
    offered = {value for value, _ in ExportForm(user=user).fields["kinds"].choices}
    assert ("analysis" in offered) == (who == "statistician")


def test_no_nan_or_infinity_reaches_a_file(trial):
    forbidden = {"nan", "-nan", "infinity", "-infinity", "inf", "-inf", "none", "null"}
    for kind, blinded in [*FILES, ("dictionary", True), ("dictionary", False)]:
        content, _ = download(statistician_of(trial), study=trial, kinds=(kind,), blinded=blinded)
        cells = {cell.strip().lower() for row in csv.reader(io.StringIO(content.decode()))
                 for cell in row}  # fmt: skip
        assert not cells & forbidden, kind
