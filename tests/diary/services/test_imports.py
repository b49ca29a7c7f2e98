"""Importing periods and answers from a file: stored as imported, all or nothing, once."""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import timedelta
from io import StringIO

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.utils import timezone

from diary.models import (
    AssessmentStatus,
    AuditAction,
    AuditEvent,
    ImportBatch,
    MenstrualPeriod,
    Response,
    ResponseSource,
)
from diary.services.imports import study_data_import
from scoring.definitions import instrument_get
from tests.conftest import make_participant

pytestmark = pytest.mark.django_db

ITEMS = instrument_get("ehp30").item_keys()
HEADER = [
    "study_id",
    "site",
    "period",
    "period_started_on",
    "period_ended_on",
    "submitted_at",
    *ITEMS,
    "vas_dysmenorrhea",
    "pain",
]


def row(subject="S01-001", period=1, start=-40, end=-36, submitted=-35, code=2, **cells):
    """A wide CSV row; dates in days from today, the EHP-30 all `code`, a VAS of 40."""
    today = timezone.now().date()
    values = {
        "study_id": subject,
        "site": "S01",
        "period": str(period),
        "period_started_on": "" if start is None else (today + timedelta(days=start)).isoformat(),
        "period_ended_on": "" if end is None else (today + timedelta(days=end)).isoformat(),
        "submitted_at": ""
        if submitted is None
        else f"{today + timedelta(days=submitted)}T10:00:00Z",
        **{key: str(code) for key in ITEMS},
        "vas_dysmenorrhea": "40",
        "pain": "50.0000",  # a derived score: not read
    }
    values.update({k: str(v) for k, v in cells.items()})
    return values


def wide_csv(*rows: dict, header=HEADER) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def load(world, content: bytes, *, user=None, name="paper.csv", **kwargs):
    return study_data_import(
        study=world.study,
        actor=user or world.coordinator1,
        file_name=name,
        content=content,
        **kwargs,
    )


def nothing_stored() -> bool:
    return not (
        ImportBatch.objects.exists()
        or MenstrualPeriod.objects.exists()
        or Response.objects.exists()
        or AuditEvent.objects.filter(action=AuditAction.IMPORTED).exists()
    )


def test_wide_csv_import_stores_periods_and_answers_as_imported(world):
    content = wide_csv(row(), row(period=2, start=-12, end=-8, submitted=-7, code=1))
    before = timezone.now()
    report = load(world, content)
    assert report.ok, report.errors
    assert (report.periods, report.responses) == (2, 4)
    a = world.participant_a
    periods = list(a.periods.order_by("number"))
    today = timezone.now().date()
    assert [p.started_on for p in periods] == [today - timedelta(40), today - timedelta(12)]
    # The real time of the import, never the file's dates, as the report time.
    assert all(p.start_reported_at >= before for p in periods)
    responses = Response.objects.filter(assessment__participant=a).order_by("pk")
    assert {r.source for r in responses} == {ResponseSource.IMPORT}
    first = responses.get(assessment__period_number=1, instrument_key="ehp30")
    assert first.answers["ehp30_q01"] == 2
    assert first.submitted_by == world.coordinator1 and first.submitted_at >= before
    sha = hashlib.sha256(content).hexdigest()
    assert first.metadata["file_sha256"] == sha
    assert first.metadata["original_recorded_at"] == f"{today - timedelta(35)}T10:00:00Z"
    assert sha in first.reason
    vas = responses.get(assessment__period_number=2, instrument_key="vas_dysmenorrhea")
    assert vas.answers == {"vas_dysmenorrhea": 40}
    assert {x.status for x in a.assessments.filter(period_number__lte=2)} == {
        AssessmentStatus.SUBMITTED
    }
    batch = ImportBatch.objects.get()
    assert (batch.file_sha256, batch.imported_by, batch.file_format) == (
        sha,
        world.coordinator1,
        "wide_csv",
    )
    events = AuditEvent.objects.filter(action=AuditAction.IMPORTED)
    assert events.filter(participant=a).count() == 2
    assert events.filter(participant=None, study=world.study).count() == 1
    assert not events.filter(unblinded=True).exists()


def test_importing_the_same_file_again_changes_nothing(world):
    content = wide_csv(row())
    assert load(world, content).ok
    counts = (Response.objects.count(), MenstrualPeriod.objects.count(), AuditEvent.objects.count())
    again = load(world, content)
    assert again.already == ImportBatch.objects.get() and again.batch is None
    assert counts == (
        Response.objects.count(),
        MenstrualPeriod.objects.count(),
        AuditEvent.objects.count(),
    )


def test_content_already_stored_is_skipped_in_another_file(world):
    assert load(world, wide_csv(row())).ok
    report = load(world, wide_csv(row(), row(period=2, start=-12, end=-8, submitted=-7)))
    assert report.ok and (report.periods, report.responses) == (1, 2)
    assert Response.objects.count() == 4


def test_check_only_previews_and_stores_nothing(world):
    report = load(world, wide_csv(row()), confirm=False)
    assert report.ok and report.preview == [
        f"S01-001 period 1: new period ({row()['period_started_on']} - "
        f"{row()['period_ended_on']}); answers: ehp30, vas_dysmenorrhea"
    ]
    assert nothing_stored()


@pytest.fixture
def site1_others(world):
    """S01-009, not randomised, and S01-002, randomised, both at coordinator1's site."""
    make_participant(world.study, world.site1, "S01-009")
    make_participant(world.study, world.site1, "S01-002", sequence=world.pa)


BAD_CSV = {
    "not the expected CSV": (
        b"name,value\nfoo,1\n",
        "not the project's wide CSV: line 1: the header has no study_id, period, "
        "period_started_on columns",
    ),
    "participant not enrolled": (
        wide_csv(row(subject="S01-404")),
        "line 2: S01-404 period 1: participant S01-404 is not enrolled in this study at a "
        "site where you may enter data",
    ),
    "participant at another site": (
        wide_csv(row(subject="S02-001")),
        "participant S02-001 is not enrolled in this study at a site where you may enter data",
    ),
    "participant not randomised": (
        wide_csv(row(subject="S01-009")),
        "line 2: S01-009 period 1: participant S01-009 is not randomised",
    ),
    "item code out of range": (
        wide_csv(row(ehp30_q07="5")),
        "line 2: S01-001 period 1: ehp30 ehp30_q07: int 5 is not a valid answer, expected an "
        "integer 0-4 or no answer",
    ),
    "code that is not an integer": (
        wide_csv(row(ehp30_q07="2.0")),
        "line 2: S01-001 period 1: ehp30_q07 '2.0' is not an integer code",
    ),
    "VAS out of range": (
        wide_csv(row(vas_dysmenorrhea="101")),
        "vas_dysmenorrhea: int 101 is not a valid answer",
    ),
    "date in the future": (
        wide_csv(row(start=3, end=5, submitted=None, code="", vas_dysmenorrhea="")),
        "line 2: S01-001 period 1: period 1 starts in the future",
    ),
    "date before enrolment": (
        wide_csv(row(start=-90, end=-86, submitted=None, code="", vas_dysmenorrhea="")),
        "line 2: S01-001 period 1: period 1 starts before her enrolment",
    ),
    "answers recorded in the future": (
        wide_csv(row(submitted=2)),
        "line 2: S01-001 period 1: ehp30 recorded in the future",
    ),
    "duplicate": (
        wide_csv(row(), row()),
        "line 3: S01-001 period 1: duplicate: period 1 of S01-001 is also at line 2",
    ),
    "periods out of order": (
        wide_csv(row(), row(period=2, start=-38, end=-30, submitted=-29)),
        "line 3: S01-001 period 2: period 2 starts before period 1 ends",
    ),
    "a period skipped": (
        wide_csv(row(period=2)),
        "line 2: S01-001 period 2: period 2 follows no period 1",
    ),
    "period beyond the study": (
        wide_csv(row(period=9)),
        "period 9 is beyond the study's 6 periods",
    ),
    "answers without a time": (
        wide_csv(row(submitted=None)),
        "line 2: S01-001 period 1: ehp30 answers without submitted_at",
    ),
    "allocation columns": (
        wide_csv(row(), header=[*HEADER, "treatment"]),
        "line 1: the file has allocation columns (treatment)",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CSV))
def test_bad_input_is_reported_by_line_and_nothing_is_stored(world, site1_others, case):
    content, message = BAD_CSV[case]
    if content.startswith(b"study_id"):
        # A valid row of another participant after the bad ones: not stored either.
        content += wide_csv(row(subject="S01-002")).split(b"\n", 1)[1]
    report = load(world, content)
    assert not report.ok
    assert any(message in error for error in report.errors), report.errors
    assert nothing_stored()


def test_an_answer_that_differs_from_the_stored_one_is_a_duplicate(world):
    assert load(world, wide_csv(row())).ok
    report = load(world, wide_csv(row(code=3)))
    assert report.errors == [
        "line 2: S01-001 period 1: duplicate: ehp30 answers for period 1 are already stored, "
        "with other values (correct them instead)"
    ]
    assert Response.objects.count() == 2


def test_only_staff_who_may_enter_data_import(world):
    with pytest.raises(PermissionDenied):
        load(world, wide_csv(row()), user=world.monitor)
    with pytest.raises(PermissionDenied):
        load(world, wide_csv(row()), user=world.statistician)
    assert nothing_stored()


BAD_ODM = {
    "not XML": (b"<ODM", "not an XML file: line 1"),
    "not ODM": (
        b'<?xml version="1.0"?>\n<Study xmlns="urn:other"/>',
        "not an ODM 1.3.2 file: line 2: the root element is Study",
    ),
    "invalid ODM": (
        b'<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" ODMVersion="1.3.2"/>',
        "not valid ODM 1.3.2 (official XSD): line 1:",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_ODM))
def test_a_file_that_is_not_odm_is_refused(world, case):
    content, message = BAD_ODM[case]
    report = load(world, content, name="data.xml")
    assert len(report.errors) == 1 and report.errors[0].startswith(message), report.errors
    assert nothing_stored()


def test_the_command_reports_problems_and_imports_a_good_file(world, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(wide_csv(row(ehp30_q07="9")))
    err = StringIO()
    with pytest.raises(CommandError, match="1 problem"):
        call_command(
            "import_study_data", "--study", world.study.code, "--user", "coordinator1",
            str(bad), stderr=err,
        )  # fmt: skip
    assert "bad.csv: line 2: S01-001 period 1: ehp30 ehp30_q07: int 9" in err.getvalue()
    assert nothing_stored()
    good = tmp_path / "good.csv"
    good.write_bytes(wide_csv(row()))
    out = StringIO()
    args = ("import_study_data", "--study", world.study.code, "--user", "coordinator1", str(good))
    call_command(*args, stdout=out)
    assert "Imported good.csv" in out.getvalue() and "1 periods, 2 questionnaire" in out.getvalue()
    out = StringIO()
    call_command(*args, stdout=out)
    assert "nothing changed" in out.getvalue()
    assert ImportBatch.objects.count() == 1
