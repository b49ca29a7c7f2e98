"""'Is this questionnaire open?' has one answer, which drafts, submission and pages share."""

from datetime import UTC, datetime, timedelta

import pytest

from diary.models import Assessment, AssessmentStatus
from diary.selectors.questionnaire import QuestionnaireState, questionnaire_state
from diary.services.submission import submission_refusal

NOW = datetime(2025, 3, 30, 12, tzinfo=UTC)
WINDOWS = {
    "undefined": (None, None),
    "before": (NOW + timedelta(hours=1), NOW + timedelta(days=7)),
    "open": (NOW - timedelta(hours=1), NOW + timedelta(days=7)),
    "closed": (NOW - timedelta(days=8), NOW),  # closes_at itself is closed
}
S, Q = AssessmentStatus, QuestionnaireState


@pytest.mark.parametrize(
    ("status", "window", "expected"),
    [
        (S.SCHEDULED, "undefined", Q.NOT_YET_DEFINED),
        (S.SCHEDULED, "before", Q.BEFORE),
        (S.SCHEDULED, "open", Q.OPEN),
        (S.OPEN, "open", Q.OPEN),
        (S.OPEN, "closed", Q.CLOSED),  # the sweep has not marked it missed yet
        (S.SUBMITTED, "open", Q.SUBMITTED),
        (S.SUBMITTED, "closed", Q.SUBMITTED),
        (S.MISSED, "open", Q.CLOSED),
        (S.EXCUSED, "open", Q.CLOSED),
        (S.EXCUSED, "before", Q.CLOSED),
    ],
)
def test_status_first_then_window_decides_whether_it_is_open(status, window, expected):
    opens_at, closes_at = WINDOWS[window]
    assessment = Assessment(status=status, opens_at=opens_at, closes_at=closes_at)
    state = questionnaire_state(assessment=assessment, now=NOW)
    assert state == expected
    # Submission and drafts refuse exactly when it is not open.
    assert (submission_refusal(assessment, NOW) == "") == (state == Q.OPEN)
