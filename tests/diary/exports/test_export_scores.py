"""Wide and treatment-means exports carry the exact scores the pipeline stored."""

import io

import pandas as pd
import pytest

from diary.exports.columns import wide_columns
from diary.selectors.questionnaire import instruments_collected
from scoring.services import scoring_sweep
from tests.diary.exports.test_export_service import download

pytestmark = pytest.mark.django_db


@pytest.fixture
def scored(submitted):
    scoring_sweep()
    return submitted


def test_wide_export_has_one_row_per_participant_and_period_with_exact_scores(scored):
    content, export = download(scored.statistician, study=scored.study, kinds=("wide",))
    frame = pd.read_csv(io.BytesIO(content), dtype={"study_id": str})
    assert list(frame.columns) == [
        v.name for v in wide_columns(instruments_collected(study=scored.study), blinded=True)
    ]
    assert len(frame) == 2 * 6 == export.files[0].rows
    a1 = frame[(frame.study_id == "S01-001") & (frame.period == 1)].iloc[0]
    assert a1.assessment_status == "submitted"
    assert a1.ehp30_q01 == 2 and pd.isna(a1.ehp30_q03)
    # Pain: 10 of 11 items answered, all "Sometimes" (2): 100 * 20 / 40 = 50.
    assert (a1.pain, a1.pain_n) == (50.0, 10)
    assert (a1.control_powerlessness, a1.control_powerlessness_n) == (50.0, 5)
    assert a1.vas_dysmenorrhea == 63
    assert ",50.0000," in content.decode()  # stored exactly, printed to 4 decimals
    b1 = frame[(frame.study_id == "S02-001") & (frame.period == 1)].iloc[0]
    assert b1.pain == 25.0 and pd.isna(b1.vas_dysmenorrhea)
    later = frame[(frame.study_id == "S01-001") & (frame.period == 2)].iloc[0]
    assert later.assessment_status == "scheduled"
    assert pd.isna(later.pain) and pd.isna(later.ehp30_q01) and pd.isna(later.submitted_at)
    assert "treatment" not in frame.columns and b"Anakinra" not in content


def test_wide_unblinded_export_names_the_treatment_of_each_period(scored):
    content, _ = download(scored.statistician, study=scored.study, kinds=("wide",), blinded=False)
    frame = pd.read_csv(io.BytesIO(content), dtype={"study_id": str})
    a = frame[frame.study_id == "S01-001"].set_index("period")
    assert a.treatment.tolist() == ["A", "A", "A", "P", "P", "P"]
    assert a.block.tolist() == [1, 1, 1, 2, 2, 2]
    assert set(a.sequence) == {"AP"}


def test_cycle_length_is_the_days_between_period_starts(scored):
    from datetime import timedelta

    from django.utils import timezone

    from diary.services.periods import period_start_report

    participant = scored.participant_a
    first = participant.periods.get(number=1)
    period_start_report(
        participant=participant, started_on=timezone.now().date(), actor=participant.user
    )
    content, _ = download(scored.statistician, study=scored.study, kinds=("wide",))
    frame = pd.read_csv(io.BytesIO(content), dtype={"study_id": str})
    row = frame[(frame.study_id == "S01-001") & (frame.period == 1)].iloc[0]
    expected = (timezone.now().date() - first.started_on) // timedelta(days=1)
    assert row.cycle_length_days == expected


def test_treatment_means_give_one_row_per_participant_and_treatment(scored):
    content, _ = download(
        scored.statistician, study=scored.study, kinds=("treatment_means",), blinded=False
    )
    frame = pd.read_csv(io.BytesIO(content), dtype={"study_id": str})
    rows = frame.set_index(["study_id", "treatment"])
    assert list(rows.index) == [
        ("S01-001", "A"),
        ("S01-001", "P"),
        ("S02-001", "A"),
        ("S02-001", "P"),
    ]
    assert rows.loc[("S01-001", "A"), "n_assessments"] == 1
    assert rows.loc[("S01-001", "A"), "mean_pain"] == 50.0
    assert rows.loc[("S01-001", "A"), "mean_vas_dysmenorrhea"] == 63.0
    assert rows.loc[("S01-001", "P"), "n_assessments"] == 0
    assert pd.isna(rows.loc[("S01-001", "P"), "mean_pain"])  # no data is empty, never 0
    assert rows.loc[("S02-001", "P"), "mean_pain"] == 25.0
    assert rows.loc[("S02-001", "P"), "sequence"] == "PA"
