"""Importing clinical data from a file: periods and answers that did not come through the diary
(paper forms, a study migrated from another system), stored as what they are.

What is stored says so: responses have source "import" and metadata naming the batch, the
file's SHA-256 and name, and the original time and author the file gives; periods are stored
with the real time of the import as their report time and an IMPORTED audit event (actor, file,
hash, original report time). Nothing claims a web entry at a time that never happened: every
stored instant is the import's own, the file's dates are data.

The checks are the diary's own: answers through scoring.definitions.answers_validate with the
study's modules, windows through diary.rules.windows with the study's rule, period order and
dates as the period services check them, and scoring is queued after commit as a submission's
is. What an import does not do that the diary does: the backdating limit and the open window,
which are about entering data now, not about loading data recorded earlier.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache, partial
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from lxml import etree

from diary import access
from diary.models import (
    Allocation,
    Assessment,
    AssessmentStatus,
    AuditAction,
    ImportBatch,
    MenstrualPeriod,
    Participant,
    ParticipantStatus,
    Response,
    ResponseSource,
    Study,
)
from diary.rules import odm
from diary.rules.imports import (
    NotThisFormat,
    Parsed,
    PlannedPeriod,
    SubjectState,
    file_format_of,
    odm_parse,
    records_check,
    wide_csv_parse,
)
from diary.rules.local_time import local_date, utc_iso
from diary.rules.windows import WindowState, window_compute, window_state
from diary.selectors.questionnaire import instruments_collected
from diary.services.audit import audit_record
from diary.services.periods import window_rule_of
from scoring.definitions import instrument_get
from scoring.services import response_score_queue


@dataclass
class ImportReport:
    """What an import found and did. `errors` empty and `batch` set: stored; `already`: this
    very file was imported before (nothing changed); errors: nothing was stored."""

    file_name: str
    file_sha256: str
    file_format: str = ""
    errors: list[str] = field(default_factory=list)
    periods: int = 0
    responses: int = 0
    # Data points an ODM file corrected after their first value: their final value is what is
    # stored (as imported, not as a site correction), their history kept in the metadata.
    corrected: int = 0
    batch: ImportBatch | None = None
    already: ImportBatch | None = None
    preview: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@cache
def _odm_schema() -> etree.XMLSchema:
    """The official ODM 1.3.2 XSD, parsed once per process."""
    return etree.XMLSchema(etree.parse(str(odm.schema_path())))


def _parse(study: Study, content: bytes) -> Parsed:
    collected = instruments_collected(study=study)
    if file_format_of(content) == "odm":
        return odm_parse(content, schema=_odm_schema(), collected=collected)
    return wide_csv_parse(content, collected=collected)


def _states(
    study: Study, subjects: set[str], actor: AbstractBaseUser, now: datetime
) -> dict[str, SubjectState]:
    """The file's participants at the sites where the actor may enter data, locked (row locks
    before the import's first write, as the period services take them) and read."""
    participants = list(
        Participant.objects.select_for_update(no_key=True, of=("self",))
        .filter(study=study, subject_id__in=subjects)
        .annotate(randomised=Exists(Allocation.objects.filter(participant=OuterRef("pk"))))
        .order_by("pk")
    )
    participants = [p for p in participants if access.may_correct(actor, p)]
    ids = [p.pk for p in participants]
    list(Assessment.objects.select_for_update(no_key=True).filter(participant__in=ids))
    periods: dict[int, dict] = {}
    for row in MenstrualPeriod.objects.filter(participant__in=ids).values(
        "participant_id", "number", "started_on", "ended_on"
    ):
        periods.setdefault(row["participant_id"], {})[row["number"]] = (
            row["started_on"],
            row["ended_on"],
        )
    answers: dict[int, dict] = {}
    current = Response.objects.filter(assessment__participant__in=ids).exclude(
        Exists(Response.objects.filter(supersedes=OuterRef("pk")))
    )
    for row in current.values(
        "assessment__participant_id", "assessment__period_number", "instrument_key", "answers"
    ):
        answers.setdefault(row["assessment__participant_id"], {})[
            (row["assessment__period_number"], row["instrument_key"])
        ] = row["answers"]
    excused: dict[int, set[int]] = {}
    for participant_id, number in Assessment.objects.filter(
        participant__in=ids, status=AssessmentStatus.EXCUSED
    ).values_list("participant_id", "period_number"):
        excused.setdefault(participant_id, set()).add(number)
    states = {}
    for p in participants:
        zone = ZoneInfo(p.time_zone)
        withdrawn = p.withdrawn_at if p.status == ParticipantStatus.WITHDRAWN else None
        states[p.subject_id] = SubjectState(
            time_zone=p.time_zone,
            enrolled_at=p.enrolled_at,
            enrolled_on=local_date(p.enrolled_at, zone),
            earliest_day=local_date(p.enrolled_at, zone)
            - timedelta(days=study.backdating_limit_days),
            today=local_date(now, zone),
            randomised=p.randomised,
            withdrawn_on=local_date(withdrawn, zone) if withdrawn else None,
            periods=periods.get(p.pk, {}),
            answers=answers.get(p.pk, {}),
            excused=frozenset(excused.get(p.pk, ())),
        )
    return states


def _corrected(item: PlannedPeriod) -> int:
    """The data points of a planned period that the file corrected after their first value."""
    return item.record.corrected_dates * item.create_period + sum(
        len(given.history) for given in item.responses.values()
    )


def _preview(plan: list[PlannedPeriod]) -> list[str]:
    return [
        f"{item.record.subject} period {item.record.number}: "
        + ("new period " if item.create_period else "period stored already ")
        + f"({item.record.started_on} - {item.record.ended_on or 'no end'})"
        + (f"; answers: {', '.join(sorted(item.responses))}" if item.responses else "")
        + (
            f"; {_corrected(item)} corrected in the file: final value imported"
            if _corrected(item)
            else ""
        )
        for item in plan
    ]


@transaction.atomic
def study_data_import(
    *,
    study: Study,
    actor: AbstractBaseUser,
    file_name: str,
    content: bytes,
    confirm: bool = True,
    now: datetime | None = None,
) -> ImportReport:
    """Validate the whole file, then store all of it in this transaction, or nothing.

    Raises PermissionDenied unless the actor may enter data (diary.correct_response) at one
    site of the study at least; participants at other sites are reported as not enrolled at
    her sites. Returns an ImportReport: with errors (each with its line or element) nothing is
    stored; the same file (SHA-256) imported before changes nothing (`already`); content that
    is already stored identically is skipped. With `confirm` False it only checks and
    previews (the admin page's first step).
    """
    now = now or timezone.now()
    study = Study.objects.get(pk=study.pk)  # its settings as stored (the window rule's types)
    sha = hashlib.sha256(content).hexdigest()
    report = ImportReport(file_name=file_name, file_sha256=sha)
    if not access.staff_can(actor, access.CORRECT) or not any(
        access.staff_can(actor, access.CORRECT, study_id=study.pk, site_id=site.pk)
        for site in study.sites.all()
    ):
        raise PermissionDenied("You may not enter data in this study.")
    report.already = ImportBatch.objects.filter(study=study, file_sha256=sha).first()
    if report.already is not None:
        return report
    try:
        parsed = _parse(study, content)
    except NotThisFormat as exc:
        report.errors = [str(exc)]
        return report
    report.file_format = parsed.file_format
    # What could be read is checked against the study too, so one run reports every problem.
    states = _states(study, {r.subject for r in parsed.records}, actor, now)
    plan, errors = records_check(
        parsed.records, subjects=states, number_of_periods=study.number_of_periods, now=now
    )
    report.errors = [*parsed.errors, *errors]
    report.periods = sum(item.create_period for item in plan)
    report.responses = sum(len(item.responses) for item in plan)
    report.corrected = sum(_corrected(item) for item in plan)
    report.preview = _preview(plan)
    if report.errors or not confirm or not plan:
        return report
    try:
        with transaction.atomic():
            report.batch = _store(study, actor, file_name, sha, parsed.file_format, plan, now)
    except IntegrityError:
        # The same file, imported at the same moment by someone else: theirs stands.
        report.already = ImportBatch.objects.filter(study=study, file_sha256=sha).first()
        report.periods = report.responses = report.corrected = 0
    return report


def _store(study, actor, file_name, sha, file_format, plan, now) -> ImportBatch:
    batch = ImportBatch.objects.create(
        study=study,
        file_name=file_name[:255],
        file_sha256=sha,
        file_format=file_format,
        imported_by=actor,
        imported_at=now,
        periods_created=sum(item.create_period for item in plan),
        responses_created=sum(len(item.responses) for item in plan),
    )
    reason = f"Imported from {file_name} (SHA-256 {sha})"
    participants = {
        p.subject_id: p
        for p in Participant.objects.filter(
            study=study, subject_id__in={item.record.subject for item in plan}
        )
    }
    rule = window_rule_of(study)
    created: list[Response] = []
    for item in plan:
        participant, record = participants[item.record.subject], item.record
        assessment = Assessment.objects.get(participant=participant, period_number=record.number)
        if item.create_period:
            period = MenstrualPeriod.objects.create(
                participant=participant,
                number=record.number,
                started_on=record.started_on,
                ended_on=record.ended_on,
                start_reported_at=now,
                end_reported_at=now if record.ended_on else None,
            )
            opens_at, closes_at = window_compute(
                started_on=period.started_on,
                ended_on=period.ended_on,
                rule=rule,
                tz=ZoneInfo(participant.time_zone),
            )
            assessment.period = period
            assessment.opens_at, assessment.closes_at = opens_at, closes_at
            state = window_state(now=now, opens_at=opens_at, closes_at=closes_at)
            assessment.status = {
                WindowState.OPEN: AssessmentStatus.OPEN,
                WindowState.CLOSED: AssessmentStatus.MISSED,
            }.get(state, AssessmentStatus.SCHEDULED)
        new = [
            Response(
                assessment=assessment,
                instrument_key=key,
                instrument_version=instrument_get(key).version,
                instrument_hash=instrument_get(key).content_hash,
                answers=given.answers,
                metadata={
                    "import_batch": batch.pk,
                    "file_name": file_name,
                    "file_sha256": sha,
                    "original_recorded_at": utc_iso(given.recorded_at)
                    if given.recorded_at
                    else None,
                    "original_recorded_by": given.recorded_by,
                    # The file's own history of each answer it corrected (ODM Transactional):
                    # the original and each correction, with when, who and why.
                    **({"file_history": given.history} if given.history else {}),
                },
                submitted_at=now,
                submitted_by=actor,
                source=ResponseSource.IMPORT,
                reason=reason,
            )
            for key, given in item.responses.items()
        ]
        for response in new:
            response.save(force_insert=True)
        created += new
        if new and assessment.status != AssessmentStatus.SUBMITTED:
            assessment.status = AssessmentStatus.SUBMITTED
            assessment.submitted_at = now
        assessment.save(update_fields=["period", "opens_at", "closes_at", "status", "submitted_at"])
        audit_record(
            action=AuditAction.IMPORTED,
            actor=actor,
            participant=participant,
            obj=assessment.period if item.create_period else assessment,
            reason=reason,
            occurred_at=now,
            details={
                "import_batch": batch.pk,
                "file_sha256": sha,
                "number": record.number,
                "period_created": item.create_period,
                "started_on": record.started_on.isoformat(),
                "ended_on": record.ended_on.isoformat() if record.ended_on else None,
                "original_reported_at": utc_iso(record.reported_at) if record.reported_at else None,
                "responses": [r.pk for r in new],
            },
        )
    audit_record(
        action=AuditAction.IMPORTED,
        actor=actor,
        study=study,
        obj=batch,
        reason=reason,
        occurred_at=now,
        details={
            "import_batch": batch.pk,
            "file_name": file_name,
            "file_sha256": sha,
            "file_format": file_format,
            "periods": batch.periods_created,
            "responses": batch.responses_created,
            "corrected_in_file": sum(_corrected(item) for item in plan),
        },
    )
    transaction.on_commit(
        partial(response_score_queue, response_ids=[r.pk for r in created]), robust=True
    )
    return batch
