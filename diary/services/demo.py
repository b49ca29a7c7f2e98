"""The demo crossover study that `make run` shows: realistic, deterministic, never production.

Everything goes through the same services a real study uses, with `now` set to the moment each
thing would have happened, so windows, audit events and scoring behave exactly as in use.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from diary.models import (
    AllocationSource,
    AuditAction,
    Participant,
    Sequence,
    SequenceBlock,
    Site,
    StaffMembership,
    StaffRole,
    Study,
    Treatment,
)
from diary.rules.local_time import local_datetime
from diary.selectors.allocation import period_treatments
from diary.services.audit import audit_record
from diary.services.participants import participant_activate, participant_enrol
from diary.services.periods import (
    period_closing_report,
    period_end_report,
    period_start_report,
)
from diary.services.randomization import allocation_assign
from diary.services.staff import staff_groups_sync
from diary.services.submission import assessment_submit
from scoring.definitions import instrument_get

DEMO_CODE = "ENDO-ANK"
SEED = 20240611
PARTICIPANTS_PER_SITE = 8
STAFF = [
    # username, role, site code (None = all sites), superuser
    ("admin", StaffRole.ADMIN, None, True),
    ("coordinator1", StaffRole.COORDINATOR, "S01", False),
    ("coordinator2", StaffRole.COORDINATOR, "S02", False),
    ("monitor", StaffRole.MONITOR, None, False),
    ("statistician", StaffRole.STATISTICIAN, None, False),
    ("investigator1", StaffRole.INVESTIGATOR, "S01", False),
    ("investigator2", StaffRole.INVESTIGATOR, "S02", False),
]
# A signature prints the signer's full name (21 CFR 11.50): the demo investigators have one.
FULL_NAMES = {
    "investigator1": ("Ida", "Nordahl"),
    "investigator2": ("Sarah", "Southwell"),
}
SITES = [
    ("S01", "University Hospital North", "Europe/Copenhagen"),
    ("S02", "Regional Hospital South", "Europe/London"),
]


def _user(username: str, *, password: str, is_staff: bool, is_superuser: bool = False):
    User = get_user_model()
    first, last = FULL_NAMES.get(username, ("", ""))
    user = User.objects.create_user(
        username=username,
        password=password,
        email=f"{username}@example.org",
        first_name=first,
        last_name=last,
    )
    user.is_staff = is_staff
    user.is_superuser = is_superuser
    user.save(update_fields=["is_staff", "is_superuser"])
    return user


def _answers(rng: random.Random, item_keys: list[str], severity: float) -> dict[str, int | None]:
    """EHP-30 codes around a severity (0..4), with an occasional item left unanswered."""
    answers: dict[str, int | None] = {}
    for key in item_keys:
        if rng.random() < 0.03:
            answers[key] = None
            continue
        answers[key] = max(0, min(4, round(rng.gauss(severity, 0.8))))
    return answers


def _submit_moment(opens_at: datetime, closes_at: datetime, rng: random.Random) -> datetime:
    span = (closes_at - opens_at).total_seconds()
    return opens_at + timedelta(seconds=span * rng.uniform(0.05, 0.8))


@transaction.atomic
def demo_study_create(*, today: date | None = None) -> Study | None:
    """Create the demo study unless it exists; returns None when it already did (idempotent)."""
    if Study.objects.filter(code=DEMO_CODE).exists():
        return None
    rng = random.Random(SEED)  # noqa: S311 - reproducible demo data, not security
    password = settings.DEMO_PASSWORD
    now = timezone.now()
    today = today or now.date()

    study = Study.objects.create(
        code=DEMO_CODE,
        name="Anakinra for dysmenorrhea in endometriosis (demo crossover)",
        number_of_periods=6,
        periods_per_block=3,
        instruments=["ehp30", "vas_dysmenorrhea"],
        instrument_modules={},  # the core questionnaires only, no optional module
        is_demo=True,
    )
    sites = {
        code: Site.objects.create(study=study, code=code, name=name) for code, name, _ in SITES
    }
    zones = {code: tz for code, _, tz in SITES}
    active = Treatment.objects.create(study=study, code="A", name="Anakinra 100 mg")
    placebo = Treatment.objects.create(study=study, code="P", name="Placebo")
    sequences: dict[str, Sequence] = {}
    for code, order in (("AP", (active, placebo)), ("PA", (placebo, active))):
        sequences[code] = Sequence.objects.create(study=study, code=code)
        for block, treatment in enumerate(order, start=1):
            SequenceBlock.objects.create(sequence=sequences[code], block=block, treatment=treatment)

    admin = None
    for username, role, site_code, superuser in STAFF:
        user = _user(username, password=password, is_staff=True, is_superuser=superuser)
        admin = admin or user
        StaffMembership.objects.create(
            user=user, study=study, site=sites[site_code] if site_code else None, role=role
        )
        staff_groups_sync(user=user)

    ehp30 = instrument_get("ehp30")
    item_keys = list(ehp30.item_keys())
    for site_code, site in sites.items():
        # Permuted blocks of four within each site: two AP and two PA per block.
        order = []
        while len(order) < PARTICIPANTS_PER_SITE:
            block = ["AP", "AP", "PA", "PA"]
            rng.shuffle(block)
            order.extend(block)
        for index in range(PARTICIPANTS_PER_SITE):
            _demo_participant(
                study=study,
                site=site,
                index=index,
                sequence=sequences[order[index]],
                tz=ZoneInfo(zones[site_code]),
                rng=rng,
                today=today,
                now=now,
                admin=admin,
                password=password,
                item_keys=item_keys,
                active_code=active.code,
            )
    audit_record(action=AuditAction.DEMO_CREATED, actor=admin, study=study, occurred_at=now)
    return study


# Per participant index within a site: (periods reported, days since the last one ended, or
# None when the last period is still going on). Gives finished, open, ongoing and new diaries.
PROFILES = [(6, 40), (6, 2), (5, 15), (4, 1), (3, 12), (3, None), (1, 3), (0, None)]


def _period_dates(
    rng: random.Random, today: date, reported: int, ended_ago: int | None
) -> list[tuple[date, date | None]]:
    """Start and end dates of the reported periods, laid out backwards from today."""
    dates: list[tuple[date, date | None]] = []
    if reported == 0:
        return dates
    length = rng.randint(4, 6)
    if ended_ago is None:
        start, end = today - timedelta(days=2), None
    else:
        end = today - timedelta(days=ended_ago)
        start = end - timedelta(days=length - 1)
    dates.append((start, end))
    for _ in range(reported - 1):
        start = start - timedelta(days=rng.randint(26, 32))
        dates.append((start, start + timedelta(days=rng.randint(4, 6) - 1)))
    return list(reversed(dates))


def _demo_participant(
    *,
    study: Study,
    site: Site,
    index: int,
    sequence: Sequence,
    tz: ZoneInfo,
    rng: random.Random,
    today: date,
    now: datetime,
    admin,
    password: str,
    item_keys: list[str],
    active_code: str,
) -> Participant:
    subject_id = f"{site.code}-{index + 1:03d}"
    reported, ended_ago = PROFILES[index % len(PROFILES)]
    dates = _period_dates(rng, today, reported, ended_ago)
    first_start = dates[0][0] if dates else today - timedelta(days=5)
    enrolled = local_datetime(first_start - timedelta(days=10), time(10), tz)
    participant = participant_enrol(
        study=study,
        site=site,
        subject_id=subject_id,
        email=f"{subject_id.lower()}@example.org",
        actor=admin,
        time_zone=str(tz),
        now=enrolled,
    )
    user = participant.user
    user.set_password(password)
    user.save(update_fields=["password"])
    participant_activate(participant=participant, actor=admin, now=enrolled)
    allocation_assign(
        participant=participant,
        sequence=sequence,
        source=AllocationSource.DEMO,
        actor=admin,
        now=enrolled,
    )
    treatments = period_treatments(study=study, sequence=sequence)
    severity = rng.uniform(1.6, 2.8)
    vas_base = rng.uniform(55, 80)
    for number, (start, end) in enumerate(dates, start=1):
        period = period_start_report(
            participant=participant,
            started_on=start,
            actor=user,
            now=min(now, local_datetime(start, time(8, 30), tz)),
        )
        if end is None:
            break
        ended_at = min(now, local_datetime(end, time(20, 0), tz))
        period_end_report(period=period, ended_on=end, actor=user, now=ended_at)
        assessment = period.assessment
        assessment.refresh_from_db()
        if assessment.closes_at > now:
            continue  # Her window is open now: left for her to fill in.
        if rng.random() > 0.85:
            continue  # Missed.
        moment = _submit_moment(max(assessment.opens_at, ended_at), assessment.closes_at, rng)
        on_drug = treatments[number].code == active_code
        effect = 0.55 if on_drug else 0.0
        assessment_submit(
            participant=participant,
            assessment_id=assessment.pk,
            answers={
                "ehp30": _answers(rng, item_keys, severity - effect),
                "vas_dysmenorrhea": {
                    "vas_dysmenorrhea": max(
                        0, min(100, round(rng.gauss(vas_base - (14 if on_drug else 0), 9)))
                    )
                },
            },
            metadata={
                "vas_dysmenorrhea": {
                    "answered_at": moment.astimezone(UTC).isoformat(),
                    "viewport_width": rng.choice([360, 390, 412, 1280]),
                    "device_pixel_ratio": rng.choice([2, 3, 1]),
                }
            },
            actor=user,
            confirm_unanswered=True,  # her demo answers leave some items unanswered
            now=moment,
        )
    if reported == study.number_of_periods and ended_ago is not None and ended_ago >= 30:
        # Long finished: she has reported the start of her next period too, which closes her
        # last cycle (no questionnaire). No random draw, so the other demo data stay as they were.
        closing = dates[-1][0] + timedelta(days=27 + index % 4)
        period_closing_report(
            participant=participant,
            started_on=closing,
            actor=user,
            now=min(now, local_datetime(closing, time(8, 30), tz)),
        )
    return participant
