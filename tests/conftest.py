"""Shared fixtures: a small study 'world' with every role, so each page is tested for refusal
as well as success."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from config.database_roles import connected_as_owner
from diary.models import (
    AllocationSource,
    Participant,
    Sequence,
    SequenceBlock,
    Site,
    StaffMembership,
    StaffRole,
    Study,
    Treatment,
)
from diary.services.participants import participant_activate, participant_enrol
from diary.services.randomization import allocation_assign
from diary.services.staff import staff_groups_sync

PASSWORD = "correct-horse-battery-9"


def pytest_sessionstart(session: pytest.Session) -> None:
    """Say in one line which variable is wrong when the database does not answer, or when the
    owner role that creates the test database is not configured."""
    from django.conf import settings

    if not settings.DATABASE_OWNER:
        pytest.exit(
            "DATABASE_OWNER_URL: must be set with DATABASE_URL: the owner role creates and "
            "migrates the test database, the tests connect as DATABASE_URL's application role",
            returncode=2,
        )
    for variable, db in (
        ("DATABASE_URL", settings.DATABASES["default"]),
        ("DATABASE_OWNER_URL", settings.DATABASE_OWNER),
    ):
        try:
            # The maintenance database: the test database is created from there.
            psycopg.connect(
                dbname="postgres",
                user=db.get("USER") or None,
                password=db.get("PASSWORD") or None,
                host=db.get("HOST") or None,
                port=db.get("PORT") or None,
                connect_timeout=5,
            ).close()
        except psycopg.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            pytest.exit(f"{variable}: cannot connect to {db.get('HOST')}: {first}", returncode=2)


@pytest.fixture(scope="session")
def django_db_setup(
    request, django_test_environment, django_db_blocker, django_db_keepdb, django_db_createdb
):
    """The test database as production has it: created and migrated by the owner role (which
    grants the application role its privileges), then used by every test as the application
    role, DATABASE_URL's. pytest-django's fixture of this name, which this one replaces,
    would create it as the application role."""
    from django.test.utils import setup_databases, teardown_databases

    verbosity = request.config.option.verbose
    keepdb = django_db_keepdb and not django_db_createdb
    with django_db_blocker.unblock(), connected_as_owner():
        created = setup_databases(
            verbosity=verbosity, interactive=False, keepdb=keepdb, serialized_aliases=set()
        )
    yield
    if not keepdb:
        from django.db import connections

        with django_db_blocker.unblock():
            connections.close_all()
            with connected_as_owner():
                teardown_databases(created, verbosity=verbosity)


@pytest.fixture(autouse=True)
def _fresh_instrument_versions():
    """Each test sees the licensed versions of its own database, not a cached earlier one."""
    from scoring.selectors import stored_versions_forget

    stored_versions_forget()
    yield
    stored_versions_forget()


@pytest.fixture
def tasks_run_now():
    """Celery tasks published during this test run at once, in the test's process (eager mode
    for this test only, never for the whole suite)."""
    from config.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    try:
        yield
    finally:
        app.conf.task_always_eager = False
        app.conf.task_eager_propagates = False


@dataclass
class World:
    study: Study
    site1: Site
    site2: Site
    active: Treatment
    placebo: Treatment
    ap: Sequence
    pa: Sequence
    admin: object
    coordinator1: object
    coordinator2: object
    monitor: object
    statistician: object
    outsider: object
    investigator1: object
    participant_a: Participant
    participant_b: Participant


def make_staff(username: str, *, superuser: bool = False):
    User = get_user_model()
    user = User.objects.create_user(username=username, password=PASSWORD, is_staff=True)
    if superuser:
        user.is_superuser = True
        user.save(update_fields=["is_superuser"])
    return user


def make_participant(
    study: Study,
    site: Site,
    subject_id: str,
    *,
    sequence: Sequence | None = None,
    time_zone: str = "Europe/Copenhagen",
    now: datetime | None = None,
    email: str | None = None,
) -> Participant:
    now = now or timezone.now() - timedelta(days=60)
    participant = participant_enrol(
        study=study,
        site=site,
        subject_id=subject_id,
        email=email or f"{subject_id.lower()}@example.org",
        actor=None,
        time_zone=time_zone,
        now=now,
    )
    participant.user.set_password(PASSWORD)
    participant.user.save(update_fields=["password"])
    participant_activate(participant=participant, actor=None, now=now)
    if sequence is not None:
        allocation_assign(
            participant=participant,
            sequence=sequence,
            source=AllocationSource.RANDOMIZER,
            actor=None,
            now=now,
        )
    participant.refresh_from_db()
    return participant


def make_study(code: str = "TEST-1", **fields) -> Study:
    fields.setdefault("instruments", ["ehp30", "vas_dysmenorrhea"])
    return Study.objects.create(code=code, name=f"Study {code}", **fields)


@pytest.fixture
def world(db) -> World:
    study = make_study()
    site1 = Site.objects.create(study=study, code="S01", name="North")
    site2 = Site.objects.create(study=study, code="S02", name="South")
    active = Treatment.objects.create(study=study, code="A", name="Anakinra 100 mg")
    placebo = Treatment.objects.create(study=study, code="P", name="Placebo")
    ap = Sequence.objects.create(study=study, code="AP")
    pa = Sequence.objects.create(study=study, code="PA")
    for sequence, order in ((ap, (active, placebo)), (pa, (placebo, active))):
        for block, treatment in enumerate(order, start=1):
            SequenceBlock.objects.create(sequence=sequence, block=block, treatment=treatment)
    admin = make_staff("admin", superuser=True)
    coordinator1 = make_staff("coordinator1")
    coordinator2 = make_staff("coordinator2")
    monitor = make_staff("monitor")
    statistician = make_staff("statistician")
    outsider = make_staff("outsider")
    # Site 1's investigator, with the full name her signature prints.
    investigator1 = make_staff("investigator1")
    investigator1.first_name, investigator1.last_name = "Ida", "Nordahl"
    investigator1.save(update_fields=["first_name", "last_name"])
    StaffMembership.objects.create(user=admin, study=study, role=StaffRole.ADMIN)
    StaffMembership.objects.create(
        user=coordinator1, study=study, site=site1, role=StaffRole.COORDINATOR
    )
    StaffMembership.objects.create(
        user=coordinator2, study=study, site=site2, role=StaffRole.COORDINATOR
    )
    StaffMembership.objects.create(user=monitor, study=study, role=StaffRole.MONITOR)
    StaffMembership.objects.create(user=statistician, study=study, role=StaffRole.STATISTICIAN)
    StaffMembership.objects.create(
        user=investigator1, study=study, site=site1, role=StaffRole.INVESTIGATOR
    )
    for user in (admin, coordinator1, coordinator2, monitor, statistician, investigator1):
        staff_groups_sync(user=user)
    return World(
        study=study,
        site1=site1,
        site2=site2,
        active=active,
        placebo=placebo,
        ap=ap,
        pa=pa,
        admin=admin,
        coordinator1=coordinator1,
        coordinator2=coordinator2,
        monitor=monitor,
        statistician=statistician,
        outsider=outsider,
        investigator1=investigator1,
        participant_a=make_participant(study, site1, "S01-001", sequence=ap),
        participant_b=make_participant(study, site2, "S02-001", sequence=pa),
    )
