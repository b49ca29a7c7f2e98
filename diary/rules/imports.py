"""Reading and checking a file of clinical data before anything of it is stored.

Pure: no Django, no clock (today and now are arguments). Two formats: CDISC ODM 1.3.2 clinical
data in this project's OIDs (diary.rules.odm; what the archive writes), and the project's own
wide CSV (one row per participant and period, as the `wide` export writes it). Both read into
the same PeriodRecords; `records_check` then holds them against what the study already has.

Every problem is reported, each with where it is ("line 7: ..."; in ODM the element's line
and its subject and period), so that one run lists all that must be fixed. Nothing is coerced:
an answer is an integer code the item allows or not answered, a date is an ISO date, an instant
has a time zone.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from lxml import etree

from diary.rules import odm
from diary.rules.local_time import local_date
from diary.rules.spreadsheet import FORMULA_STARTS, PREFIX
from scoring.definitions import AnswersInvalid, Instrument, answers_validate

Collected = Sequence[tuple[Instrument, tuple[str, ...]]]

MAX_ERRORS = 200  # a file wrong throughout is reported by its first problems
_INTEGER = re.compile(r"-?[0-9]+")
# Columns a file of the study's design must not bring in: the allocation is never imported.
ALLOCATION_COLUMNS = frozenset({"sequence", "block", "treatment"})
CSV_REQUIRED = ("study_id", "period", "period_started_on")


@dataclass
class Answers:
    """One instrument's answers in one period, as the file gives them."""

    answers: dict[str, int | None]
    recorded_at: datetime | None  # when they were originally recorded, if the file says
    recorded_by: str  # who recorded them originally, if the file says ("" otherwise)
    where: str
    # An ODM file's transactions of each item it changed after its first value, in document
    # order (value, TransactionType, DateTimeStamp, user, reason): the final value is stored,
    # this is kept with it as data.
    history: dict[str, list[dict]] = field(default_factory=dict)


@dataclass
class PeriodRecord:
    """One participant's period in the file: its dates and the answers that follow it."""

    subject: str
    number: int
    started_on: date
    ended_on: date | None
    where: str
    reported_at: datetime | None = None
    responses: dict[str, Answers] = field(default_factory=dict)
    corrected_dates: int = 0  # dates an ODM file changed after their first value


@dataclass
class Parsed:
    file_format: str
    records: list[PeriodRecord]
    errors: list[str]


class NotThisFormat(ValueError):
    """The file is not of the format it was read as; the message says why."""


def file_format_of(content: bytes) -> str:
    """ "odm" for an XML file, else "wide_csv" (which the CSV reader may still refuse)."""
    return "odm" if content.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<") else "wide_csv"


def _validated(
    instrument: Instrument, modules: tuple[str, ...], given: dict, where: str
) -> tuple[dict, list[str]]:
    try:
        return answers_validate(instrument, given, modules=modules), []
    except AnswersInvalid as exc:
        return {}, [f"{where}: {instrument.key} {error}" for error in exc.errors]


def _date(text: str, what: str, where: str, errors: list[str]) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors.append(f"{where}: {what} {text!r} is not an ISO date (YYYY-MM-DD)")
        return None


def _instant(text: str, what: str, where: str, errors: list[str]) -> datetime | None:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        errors.append(f"{where}: {what} {text!r} is not an ISO 8601 date and time")
        return None
    if value.tzinfo is None:
        errors.append(f"{where}: {what} {text!r} has no time zone (add Z for UTC)")
        return None
    return value


def _code(text: str, what: str, where: str, errors: list[str]) -> int | None:
    if not _INTEGER.fullmatch(text):
        errors.append(f"{where}: {what} {text!r} is not an integer code")
        return None
    return int(text)


# --- ODM 1.3.2 ---------------------------------------------------------------------------------


def odm_parse(content: bytes, *, schema: etree.XMLSchema, collected: Collected) -> Parsed:
    """The periods and answers of an ODM 1.3.2 file's ClinicalData.

    The file must be well-formed XML, an ODM element of the 1.3 namespace, valid against the
    official XSD (`schema`), and use this project's OIDs for study events, forms and items.
    A Transactional file (the archive) is read as the history of each data point, in document
    order, and its final value taken (_odm_values); a Snapshot file has one value per point.
    """
    errors: list[str] = []
    try:
        root = etree.fromstring(content, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        raise NotThisFormat(f"not an XML file: line {exc.lineno}: {exc.msg}") from exc
    if root.tag != odm.q("ODM"):
        raise NotThisFormat(
            f"not an ODM 1.3.2 file: line {root.sourceline}: the root element is "
            f"{etree.QName(root).localname}, not ODM in namespace {odm.NS}"
        )
    if not schema.validate(root):
        found = [f"line {e.line}: {e.message}" for e in list(schema.error_log)[:20]]
        raise NotThisFormat("not valid ODM 1.3.2 (official XSD): " + "; ".join(found))
    clinical = root.findall(odm.q("ClinicalData"))
    if not clinical:
        raise NotThisFormat("the ODM file holds no ClinicalData")
    users = {
        user.get("OID"): user.findtext(odm.q("LoginName")) or user.get("OID")
        for user in root.iter(odm.q("User"))
    }
    forms = {oid: (key, items) for oid, (key, items) in odm.form_items(collected).items()}
    design = {instrument.key: (instrument, modules) for instrument, modules in collected}
    records: list[PeriodRecord] = []
    for data in clinical:
        for subject in data.iter(odm.q("SubjectData")):
            key = subject.get("SubjectKey")
            for event in subject.findall(odm.q("StudyEventData")):
                record = _odm_period(event, key, forms, design, users, errors)
                if record is not None:
                    records.append(record)
    return Parsed("odm", records, errors)


def _odm_values(form, known: Mapping[str, str], where: str, errors: list[str]):
    """(item variable -> final code or None, latest DateTimeStamp, its user OID, item variable
    -> its transactions when it has more than one) of a FormData.

    The ItemData are instructions applied in document order (a Transactional file's history
    of each data point): Insert, or no TransactionType, gives an item its first value; Update
    and Upsert change it; Remove clears it (not answered). A second Insert of an item is a
    duplicate, an Update or Remove before any value is refused.
    """
    values: dict[str, object] = {}
    transactions: dict[str, list[dict]] = {}
    latest, by = None, ""
    for item in form.iter(odm.q("ItemData")):
        here = f"line {item.sourceline}: {where}"
        oid = item.get("ItemOID")
        if oid not in known:
            errors.append(f"{here}: unknown item {oid} in form {form.get('FormOID')}")
            continue
        name, kind = known[oid], item.get("TransactionType")
        if kind == "Context":
            errors.append(f"{here}: item {oid} has TransactionType Context, which sets no value")
            continue
        if kind in (None, "Insert") and name in values:
            errors.append(f"{here}: duplicate item {oid}")
            continue
        if kind in ("Update", "Remove") and name not in values:
            errors.append(f"{here}: {kind} of item {oid} before any value of it")
            continue
        if kind == "Remove" or item.get("IsNull") == "Yes":
            value = None
        elif item.get("Value") is None:
            errors.append(f"{here}: item {oid} has neither a Value nor IsNull")
            continue
        else:
            value = item.get("Value")
        values[name] = value
        record = item.find(odm.q("AuditRecord"))
        stamp = item.findtext(f"{odm.q('AuditRecord')}/{odm.q('DateTimeStamp')}")
        user = item.find(f"{odm.q('AuditRecord')}/{odm.q('UserRef')}")
        user_oid = user.get("UserOID") if user is not None else ""
        transactions.setdefault(name, []).append(
            {
                "value": value,
                "transaction": kind or "Insert",
                "at": (stamp or "").strip(),
                "by": user_oid,
                "reason": (record.findtext(odm.q("ReasonForChange")) or "").strip()
                if record is not None
                else "",
            }
        )
        if stamp:
            at = _instant(stamp.strip(), f"the DateTimeStamp of {oid}", here, errors)
            if at is not None and (latest is None or at > latest):
                latest, by = at, user_oid
    history = {name: steps for name, steps in transactions.items() if len(steps) > 1}
    return values, latest, by, history


def _odm_period(event, subject, forms, design, users, errors) -> PeriodRecord | None:
    oid = event.get("StudyEventOID")
    number = odm.event_period(oid)
    where = f"line {event.sourceline}: {subject}"
    if number is None:
        errors.append(f"{where}: unknown study event {oid} (expected SE.P1, SE.P2, ...)")
        return None
    where = f"{subject} period {number}"
    record = PeriodRecord(subject, number, date.min, None, f"line {event.sourceline}: {where}")
    seen: set[str] = set()
    period_seen = False
    for form in event.findall(odm.q("FormData")):
        form_oid = form.get("FormOID")
        here = f"line {form.sourceline}: {where}"
        if form_oid in seen:
            errors.append(f"{here}: duplicate form {form_oid}")
            continue
        seen.add(form_oid)
        if form_oid == odm.PERIOD_FORM:
            period_seen = True
            known = {odm.PERIOD_START: "started_on", odm.PERIOD_END: "ended_on"}
            values, latest, _, history = _odm_values(form, known, where, errors)
            record.corrected_dates = len(history)
            start = values.get("started_on")
            if start is None:
                errors.append(f"{here}: the period has no start date ({odm.PERIOD_START})")
            else:
                record.started_on = _date(start, "start date", here, errors) or date.min
            if values.get("ended_on") is not None:
                record.ended_on = _date(values["ended_on"], "end date", here, errors)
            record.reported_at = latest
        elif form_oid in forms:
            key, known = forms[form_oid]
            values, latest, by, history = _odm_values(form, known, where, errors)
            codes = {k: None if v is None else _code(v, k, here, errors) for k, v in values.items()}
            instrument, modules = design[key]
            answers, problems = _validated(instrument, modules, codes, here)
            errors.extend(problems)
            if not problems:
                for steps in history.values():
                    for step in steps:
                        step["by"] = users.get(step["by"], step["by"])
                record.responses[key] = Answers(
                    answers, latest, users.get(by, by), here, history
                )
        else:
            errors.append(f"{here}: unknown form {form_oid}")
    if not period_seen:
        # The archive writes such an event for answers whose period was never reported; the
        # diary opens a questionnaire only after its period is reported, and so does the import.
        errors.append(
            f"{record.where}: answers of a period whose dates were never reported (no "
            f"{odm.PERIOD_FORM} form): the diary takes answers only for a reported period; "
            "report the period, then import its answers"
        )
        return None
    return record


# --- The project's wide CSV --------------------------------------------------------------------


def _cell(value: str | None) -> str:
    """A cell as the export wrote it, without the apostrophe that kept a spreadsheet from
    taking it for a formula (diary.rules.spreadsheet)."""
    value = (value or "").strip()
    if value.startswith(PREFIX) and value[1:2] in FORMULA_STARTS:
        return value[1:]
    return value


def wide_csv_parse(content: bytes, *, collected: Collected) -> Parsed:
    """The periods and answers of a wide CSV (the `wide` export's columns; scores, windows,
    statuses and cycle lengths are derived data and not read). An instrument's answers are
    read when its item cells or submitted_at are filled; submitted_at is then required."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NotThisFormat(f"not a UTF-8 text file (byte {exc.start})") from exc
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip() for name in (reader.fieldnames or [])]
    missing = [name for name in CSV_REQUIRED if name not in header]
    if missing:
        raise NotThisFormat(
            f"not the project's wide CSV: line 1: the header has no {', '.join(missing)} "
            "column" + ("s" if len(missing) > 1 else "")
        )
    allocation = sorted(ALLOCATION_COLUMNS & set(header))
    if allocation:
        raise NotThisFormat(
            f"line 1: the file has allocation columns ({', '.join(allocation)}): import a "
            "blinded file; the allocation is never imported"
        )
    reader.fieldnames = header
    errors: list[str] = []
    records: list[PeriodRecord] = []
    for row in reader:
        where = f"line {reader.line_num}"
        if None in row:
            errors.append(f"{where}: more cells than the header has columns")
            continue
        record = _csv_record({k: _cell(v) for k, v in row.items()}, collected, where, errors)
        if record is not None:
            records.append(record)
        if len(errors) >= MAX_ERRORS:
            break
    return Parsed("wide_csv", records, errors)


def _csv_record(row: dict[str, str], collected, where, errors) -> PeriodRecord | None:
    subject = row["study_id"]
    if not subject:
        errors.append(f"{where}: no study_id")
        return None
    number = _code(row["period"], "period", where, errors)
    if number is None:
        return None
    where = f"{where}: {subject} period {number}"
    filled = {
        instrument.key: [k for k in instrument.item_keys(modules) if row.get(k)]
        for instrument, modules in collected
    }
    submitted = row.get("submitted_at", "")
    if not row["period_started_on"]:
        if submitted or any(filled.values()):
            errors.append(f"{where}: answers for a period without period_started_on")
        return None  # a period not reported yet: nothing to import
    started_on = _date(row["period_started_on"], "period_started_on", where, errors)
    ended = row.get("period_ended_on", "")
    ended_on = _date(ended, "period_ended_on", where, errors) if ended else None
    if started_on is None:
        return None
    record = PeriodRecord(subject, number, started_on, ended_on, where)
    recorded_at = _instant(submitted, "submitted_at", where, errors) if submitted else None
    for instrument, modules in collected:
        if not (submitted or filled[instrument.key]):
            continue
        if not submitted:
            errors.append(f"{where}: {instrument.key} answers without submitted_at")
            continue
        missing = [k for k in instrument.item_keys(modules) if k not in row]
        if missing:
            errors.append(f"{where}: the header has no column {missing[0]} of {instrument.key}")
            continue
        codes = {
            key: _code(row[key], key, where, errors) if row[key] else None
            for key in instrument.item_keys(modules)
        }
        answers, problems = _validated(instrument, modules, codes, where)
        errors.extend(problems)
        if not problems:
            record.responses[instrument.key] = Answers(answers, recorded_at, "", where)
    return record


# --- Checks against the study ------------------------------------------------------------------


@dataclass(frozen=True)
class SubjectState:
    """What the study holds of one participant, as the importer may see it."""

    time_zone: str
    enrolled_at: datetime
    enrolled_on: date  # her local date of enrolment
    # The earliest period date the diary itself accepts from her: her enrolment day less the
    # study's backdating limit (a first period may have started a few days before she joined).
    earliest_day: date
    today: date  # her local date now
    randomised: bool
    withdrawn_on: date | None
    periods: Mapping[int, tuple[date, date | None]]  # already reported
    answers: Mapping[tuple[int, str], dict]  # current answers per (period, instrument)
    excused: frozenset[int]  # periods whose questionnaires were excused


@dataclass
class PlannedPeriod:
    """What an import stores for one record: the period if it is new, and the new answers."""

    record: PeriodRecord
    create_period: bool
    responses: dict[str, Answers]


def records_check(
    records: Sequence[PeriodRecord],
    *,
    subjects: Mapping[str, SubjectState],
    number_of_periods: int,
    now: datetime,
) -> tuple[list[PlannedPeriod], list[str]]:
    """What to store, and every reason not to: unknown or not randomised participant,
    duplicates, periods out of order or beyond the study, dates in the future, before her
    enrolment or after her withdrawal, data that differ from what is stored. Content already
    stored identically is skipped, so a file imported twice stores nothing the second time."""
    errors: list[str] = []
    plan: list[PlannedPeriod] = []
    seen: dict[tuple[str, int], str] = {}
    by_subject: dict[str, dict[int, PeriodRecord]] = {}
    for record in records:
        key = (record.subject, record.number)
        if key in seen:
            errors.append(f"{record.where}: duplicate: period {record.number} of "
                          f"{record.subject} is also at {seen[key]}")  # fmt: skip
            continue
        seen[key] = record.where.split(":")[0]
        by_subject.setdefault(record.subject, {})[record.number] = record
    for subject, periods in by_subject.items():
        state = subjects.get(subject)
        first = periods[min(periods)]
        if state is None:
            errors.append(f"{first.where}: participant {subject} is not enrolled in this study "
                          "at a site where you may enter data")  # fmt: skip
            continue
        if not state.randomised:
            errors.append(f"{first.where}: participant {subject} is not randomised")
            continue
        for number in sorted(periods):
            planned = _period_check(periods[number], periods, state, number_of_periods, now,
                                    errors)  # fmt: skip
            if planned is not None and (planned.create_period or planned.responses):
                plan.append(planned)
    return plan, errors


def _period_check(record, in_file, state, number_of_periods, now, errors):
    where, number = record.where, record.number
    count = len(errors)
    if not 1 <= number <= number_of_periods:
        errors.append(f"{where}: period {number} is beyond the study's {number_of_periods} periods")
        return None
    for label, day in (("starts", record.started_on), ("ends", record.ended_on)):
        if day is None:
            continue
        if day > state.today:
            errors.append(f"{where}: period {number} {label} in the future ({day})")
        elif day < state.earliest_day:
            errors.append(f"{where}: period {number} {label} before her enrolment on "
                          f"{state.enrolled_on} (the earliest day the diary accepts from her is "
                          f"{state.earliest_day})")  # fmt: skip
        elif state.withdrawn_on is not None and day > state.withdrawn_on:
            errors.append(f"{where}: period {number} {label} after her withdrawal "
                          f"({state.withdrawn_on})")  # fmt: skip
    if record.ended_on is not None and record.ended_on < record.started_on:
        errors.append(f"{where}: period {number} ends before it starts")
    stored = state.periods.get(number)
    create = stored is None
    if stored is not None and stored != (record.started_on, record.ended_on):
        errors.append(f"{where}: period {number} is already recorded with other dates "
                      f"(started {stored[0]}, ended {stored[1] or 'not reported'})")  # fmt: skip
    if create:
        previous = state.periods.get(number - 1)
        if previous is None and number - 1 in in_file:
            prior = in_file[number - 1]
            previous = (prior.started_on, prior.ended_on)
        if number > 1 and previous is None:
            errors.append(f"{where}: period {number} follows no period {number - 1}")
        elif previous is not None and record.started_on <= (previous[1] or previous[0]):
            errors.append(
                f"{where}: period {number} starts before period {number - 1} "
                f"{'ends' if previous[1] else 'starts'} ({previous[1] or previous[0]})"
            )
        following = state.periods.get(number + 1)
        if following is not None and (record.ended_on or record.started_on) >= following[0]:
            errors.append(f"{where}: period {number} does not end before period {number + 1} "
                          f"starts ({following[0]})")  # fmt: skip
    responses: dict[str, Answers] = {}
    for key, given in record.responses.items():
        if number in state.excused:
            errors.append(f"{given.where}: the questionnaires of period {number} were excused")
            continue
        if given.recorded_at is not None:
            if given.recorded_at > now:
                errors.append(f"{given.where}: {key} recorded in the future ({given.recorded_at})")
            elif given.recorded_at < state.enrolled_at:
                errors.append(f"{given.where}: {key} recorded before her enrolment")
            elif local_date(given.recorded_at, ZoneInfo(state.time_zone)) < record.started_on:
                errors.append(f"{given.where}: {key} recorded before period {number} started")
        stored_answers = state.answers.get((number, key))
        if stored_answers is None:
            responses[key] = given
        elif stored_answers != given.answers:
            errors.append(f"{given.where}: duplicate: {key} answers for period {number} are "
                          "already stored, with other values (correct them instead)")  # fmt: skip
    if len(errors) > count:
        return None
    return PlannedPeriod(record, create, responses)
