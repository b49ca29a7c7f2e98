"""Every admin list and custom page runs a fixed number of queries, however many rows it shows.

The pages are read from the admin site, not listed by hand: each registered ModelAdmin's
changelist and change view (of one object), the extra pages the project's own ModelAdmins add
(get_urls) and every route of diary.admin.pages.urls. A page without a row in QUERIES fails
`test_every_admin_page_has_a_query_count`, so a new admin or page needs its count.

Each page is opened as a role allowed to see it, once to warm the process (ContentTypes,
instrument definitions), then counted with django_assert_num_queries: with one unit of rows
(rows_add), and again after five more, when every list shows several times the rows (checked
on each changelist's result count) and participant A's own page and timeline show six periods,
six submissions with their corrections and six reminders instead of one of each.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pghistory
import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.auth.models import Group, Permission
from django.db.models import Model
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.urls import URLPattern, resolve, reverse
from django.utils import timezone
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)
from django_otp.plugins.otp_totp.models import TOTPDevice

from diary.admin.pages.urls import page_urls
from diary.models import (
    Assessment,
    DataChangeRequest,
    GrantRight,
    LateEntry,
    LateEntryReason,
    Participant,
    ReminderLog,
    Response,
    Sequence,
    SequenceBlock,
    Site,
    SiteCopy,
    StaffMembership,
    StaffRole,
    Treatment,
)
from diary.selectors.periods import local_today
from diary.selectors.signals import trail_fingerprint
from diary.services.change_requests import change_request_make
from diary.services.corrections import response_correct
from diary.services.grants import grant_propose
from diary.services.periods import period_start_report
from diary.services.randomization import allocation_list_generate
from diary.services.signals import query_answer, query_raise, signal_review
from diary.services.site_copy import site_copy_build, site_copy_request
from scoring.definitions import instrument_get
from scoring.models import InstrumentVersion
from scoring.services import scoring_sweep
from tests.conftest import World, make_participant, make_staff, make_study
from tests.layout import PACKAGES
from tests.scoring.submitting import submit

pytestmark = pytest.mark.django_db

# page -> (who opens it, queries). Every request also reads the session, the user, her
# permissions and her memberships, and the admin's menu asks what she may see.
QUERIES: dict[str, tuple[str, int]] = {
    # Blinded clinical rows and the study configuration, as the coordinator of site 1.
    "admin:diary_assessment_change": ("coordinator1", 9),
    "admin:diary_assessment_changelist": ("coordinator1", 13),
    "admin:diary_auditevent_change": ("coordinator1", 10),
    "admin:diary_auditevent_changelist": ("coordinator1", 12),
    "admin:diary_lateentry_change": ("coordinator1", 11),
    "admin:diary_lateentry_changelist": ("coordinator1", 12),
    "admin:diary_menstrualperiod_change": ("coordinator1", 9),
    "admin:diary_menstrualperiod_changelist": ("coordinator1", 13),
    # Her signatures, the casebook's hash (periods, closing start, windows, responses) and her
    # change requests: six; her push devices and her reminder delivery problems: two.
    "admin:diary_participant_change": ("coordinator1", 23),
    "admin:diary_participant_changelist": ("coordinator1", 13),
    "admin:diary_reminderlog_change": ("coordinator1", 9),
    "admin:diary_reminderlog_changelist": ("coordinator1", 13),  # + the channel filter
    "admin:diary_response_change": ("coordinator1", 11),
    "admin:diary_response_changelist": ("coordinator1", 13),
    "admin:diary_site_change": ("coordinator1", 9),
    "admin:diary_site_changelist": ("coordinator1", 12),
    "admin:diary_study_change": ("coordinator1", 8),
    "admin:diary_study_changelist": ("coordinator1", 12),
    # Custom pages (diary.admin.pages.urls).
    "admin:arm_summary": ("statistician", 10),
    # Counted warm: the summary comes from the cache after one query for its key (a change of
    # the data adds five: treatments, sequences, observations, and the flow's sequences and
    # participants; scoring.summaries).
    "admin:arm_summary_study": ("statistician", 13),
    "admin:assessment_transcribe": ("coordinator1", 8),
    "admin:audit_export": ("coordinator1", 8),
    "admin:audit_export?download=1": ("coordinator1", 10),
    "admin:audit_timeline": ("coordinator1", 18),
    "admin:casebook_sign": ("investigator1", 16),
    "admin:change_requests": ("coordinator1", 8),
    "admin:change_request_decide": ("coordinator1", 9),
    "admin:diary_participant_compliance": ("coordinator1", 14),
    "admin:exports": ("coordinator1", 11),
    "admin:study_import": ("coordinator1", 9),
    "admin:response_correct": ("coordinator1", 8),
    "admin:signals": ("coordinator1", 12),
    "admin:signal_participant": ("coordinator1", 13),
    "admin:signal_settings": ("coordinator1", 9),
    "admin:signal_queries": ("coordinator1", 8),
    "admin:signal_queries_export": ("coordinator1", 10),
    "admin:unblinding": ("coordinator1", 7),
    # The lock page: the studies, their changes (with both people), and the menu's questions.
    "admin:study_lock": ("statistician", 9),
    "admin:site_copy": ("coordinator1", 10),
    "admin:site_copy_download": ("coordinator1", 10),
    # The system audit view, as the superuser: a page of events, and all of them as CSV.
    "admin:system_audit": ("admin", 7),
    "admin:system_audit?download=1": ("admin", 8),
    # The allocation side, as the unblinded statistician. Whether she is unblinded in every
    # study (the row history's menu entry asks) is read once per request.
    "admin:diary_allocation_change": ("statistician", 10),
    "admin:diary_allocation_changelist": ("statistician", 12),
    "admin:diary_allocationlist_change": ("statistician", 9),
    "admin:diary_allocationlist_changelist": ("statistician", 12),
    "admin:diary_allocationlist_generate": ("statistician", 10),
    "admin:diary_allocationlist_upload": ("statistician", 10),
    "admin:diary_sequence_change": ("statistician", 14),
    "admin:diary_sequence_changelist": ("statistician", 12),
    "admin:diary_treatment_change": ("statistician", 9),
    "admin:diary_treatment_changelist": ("statistician", 12),
    "admin:pghistory_events_change": ("statistician", 8),
    "admin:pghistory_events_changelist": ("statistician", 12),
    # System tables and study roles, as the superuser.
    "admin:auth_group_change": ("admin", 9),
    "admin:auth_group_changelist": ("admin", 10),
    # Three of them ask whether the account holds a guarded right (then nobody else sets her
    # password or e-mail: diary.access.speaks_only_for_herself).
    "admin:auth_user_change": ("admin", 13),
    "admin:auth_user_changelist": ("admin", 11),
    "admin:axes_accessattempt_change": ("admin", 7),
    "admin:axes_accessattempt_changelist": ("admin", 13),
    "admin:axes_accessfailurelog_change": ("admin", 6),
    "admin:axes_accessfailurelog_changelist": ("admin", 13),
    "admin:axes_accesslog_change": ("admin", 6),
    "admin:axes_accesslog_changelist": ("admin", 13),
    "admin:diary_accessgrant_change": ("admin", 6),
    "admin:diary_accessgrant_changelist": ("admin", 10),
    "admin:diary_staffmembership_change": ("admin", 11),
    "admin:diary_staffmembership_changelist": ("admin", 11),
    "admin:django_celery_beat_clockedschedule_change": ("admin", 8),
    "admin:django_celery_beat_clockedschedule_changelist": ("admin", 10),
    "admin:django_celery_beat_crontabschedule_change": ("admin", 8),
    "admin:django_celery_beat_crontabschedule_changelist": ("admin", 10),
    "admin:django_celery_beat_intervalschedule_change": ("admin", 8),
    "admin:django_celery_beat_intervalschedule_changelist": ("admin", 10),
    "admin:django_celery_beat_periodictask_change": ("admin", 11),
    "admin:django_celery_beat_periodictask_changelist": ("admin", 13),
    "admin:django_celery_beat_solarschedule_change": ("admin", 8),
    "admin:django_celery_beat_solarschedule_changelist": ("admin", 10),
    "admin:otp_totp_totpdevice_change": ("admin", 7),
    "admin:otp_totp_totpdevice_changelist": ("admin", 10),
    "admin:otp_totp_totpdevice_config": ("admin", 7),
    "admin:otp_totp_totpdevice_qrcode": ("admin", 5),
    "admin:scoring_instrumentversion_change": ("admin", 7),
    "admin:scoring_instrumentversion_changelist": ("admin", 12),
}

# Query strings that open a page's list: the audit trail's CSV is its list of rows.
VARIANTS = {"admin:audit_export": ("download=1",), "admin:system_audit": ("download=1",)}
# Roles of the world that open pages.
ROLES = ("coordinator1", "statistician", "admin", "investigator1")
# The views every ModelAdmin has; the others the project's own admins add are pages too.
STANDARD_VIEWS = ("changelist", "add", "history", "delete", "change")


@dataclass(frozen=True)
class Page:
    key: str
    model: type[Model] | None = None  # a ModelAdmin's page
    view: str = ""  # "changelist", "change" or the name of an extra ModelAdmin URL
    pattern: URLPattern | None = None  # a route of diary.admin.pages.urls
    query: str = ""


def admin_pages() -> dict[str, Page]:
    pages: dict[str, Page] = {}
    for model, model_admin in admin.site._registry.items():
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}_"
        for view in ("changelist", "change"):
            pages[prefix + view] = Page(prefix + view, model=model, view=view)
        if type(model_admin).__module__.partition(".")[0] in PACKAGES:
            for pattern in model_admin.get_urls():
                name = pattern.name or ""
                if name and not name.endswith(tuple(f"_{v}" for v in STANDARD_VIEWS)):
                    pages[f"admin:{name}"] = Page(f"admin:{name}", model=model, view=name)
    for pattern in page_urls(admin.site):
        key = f"admin:{pattern.name}"
        pages[key] = Page(key, pattern=pattern)
        for query in VARIANTS.get(key, ()):
            pages[f"{key}?{query}"] = Page(f"{key}?{query}", pattern=pattern, query=query)
    return pages


def test_every_admin_page_has_a_query_count() -> None:
    pages = admin_pages()
    assert {"admin:diary_participant_changelist", "admin:exports"} <= set(pages)
    missing = sorted(set(pages) - set(QUERIES))
    gone = sorted(set(QUERIES) - set(pages))
    assert not missing, f"admin pages without a query count in QUERIES: {missing}"
    assert not gone, f"QUERIES rows naming no admin page: {gone}"


# --- Rows ----------------------------------------------------------------------------------------
def rows_add(world: World, *, units: int, first: int) -> None:
    """`units` more of everything an admin page lists, numbered from `first`.

    Written as a staff user's, as the pages' rows are: the row history then names a user (the
    audit timeline looks names up, once), and no request's history context is left over from
    the test's one transaction.
    """
    today = local_today(world.participant_a, timezone.now())
    with pghistory.context(user=world.coordinator1.pk):
        for k in range(first, first + units):
            _diary_rows_add(world, k, today)
            _study_add(world, k)
            _system_rows_add(world, k)
        scoring_sweep()


def _reminder_add(participant: Participant, k: int) -> None:
    now = timezone.now()
    ReminderLog.objects.create(
        participant=participant,
        assessment=participant.assessments.get(period_number=1),
        kind="window_opened",
        period_number=1,
        key=f"counts-{participant.pk}-{k}",
        status="cancelled",
        due_at=now,
        next_attempt_at=now,
        created_at=now,
    )


def _diary_rows_add(world: World, k: int, today) -> None:
    # Participant A: period k reported, submitted, its EHP-30 corrected; one more reminder.
    a = world.participant_a
    period_start_report(participant=a, started_on=today - timedelta(days=8 - k), actor=a.user)
    ehp30 = submit(a, number=k)["ehp30"]
    first_item = next(iter(ehp30.answers))
    response_correct(
        response=ehp30,
        answers={**ehp30.answers, first_item: 3},
        reason="Transcribed from the paper form",
        actor=world.coordinator1,
    )
    _reminder_add(a, k)
    # A submission of hers that arrived after a window closed, kept for the site's review.
    LateEntry.objects.create(
        assessment=a.assessments.get(period_number=k),
        answers={"vas_dysmenorrhea": {"vas_dysmenorrhea": 40}},
        reason=LateEntryReason.NO_DRAFT_IN_WINDOW,
        received_at=timezone.now(),
        submitted_by=a.user,
    )
    # She asks about an answer of the corrected EHP-30 (the change-request pages list them).
    current = Response.objects.get(supersedes=ehp30)
    change_request_make(
        participant=a, response=current, item_key=first_item, reason=f"Wrong answer {k}"
    )
    # A signal of hers reviewed and a query raised on her, answered (the signals pages list
    # them).
    signal_review(
        participant=a, signal="trail", value_seen=trail_fingerprint(participant=a),
        comment=f"Read {k}", actor=world.monitor,
    )  # fmt: skip
    query = query_raise(participant=a, signal="clock", text=f"Query {k}", actor=world.monitor)
    query_answer(query=query, answer=f"Answer {k}", actor=world.coordinator1)
    # One more participant at each site, randomized, her first questionnaire submitted.
    for site, sequence in ((world.site1, world.ap), (world.site2, world.pa)):
        subject_id = f"{site.code}-{100 + k}"
        participant = make_participant(world.study, site, subject_id, sequence=sequence)
        period_start_report(
            participant=participant, started_on=today - timedelta(days=2), actor=participant.user
        )
        submit(participant, number=1)
        _reminder_add(participant, k)


def _study_add(world: World, k: int) -> None:
    """A study with 2k single-period blocks and an allocation list of 4k slots, in which the
    statistician is unblinded and coordinator1 coordinates its one site."""
    study = make_study(f"TRIAL-{k}", number_of_periods=2 * k, periods_per_block=1)
    site = Site.objects.create(study=study, code=f"T{k:02d}", name=f"Trial site {k}")
    drug = Treatment.objects.create(study=study, code="D", name=f"Drug {k}")
    dummy = Treatment.objects.create(study=study, code="M", name=f"Dummy {k}")
    for code, order in (("DM", (drug, dummy)), ("MD", (dummy, drug))):
        sequence = Sequence.objects.create(study=study, code=code)
        for block in range(1, 2 * k + 1):
            SequenceBlock.objects.create(
                sequence=sequence, block=block, treatment=order[(block - 1) % 2]
            )
    StaffMembership.objects.create(
        user=world.statistician, study=study, role=StaffRole.STATISTICIAN
    )
    StaffMembership.objects.create(
        user=world.coordinator1, study=study, site=site, role=StaffRole.COORDINATOR
    )
    allocation_list_generate(
        study=study,
        block_sizes=[2],
        slots_per_stratum=4 * k,
        stratify_by_site=False,
        actor=world.statistician,
        seed=k,
    )


def _system_rows_add(world: World, k: int) -> None:
    now = timezone.now()
    user = make_staff(f"staff{k}")
    # The user list holds staff accounts only (participants' are not in it): three per unit,
    # so that it grows as the other lists do.
    make_staff(f"reviewer{k}a")
    make_staff(f"reviewer{k}b")
    TOTPDevice.objects.create(user=user, name=f"Phone {k}", confirmed=True)
    grant_propose(
        study=world.study,
        grantee=user,
        right=GrantRight.UNBLINDED_ROLE,
        role=StaffRole.STATISTICIAN,
        reason=f"Statistician number {k} for the analysis",
        actor=world.admin,
    )
    # Two groups per unit: the list grows past twice the five role groups it starts with.
    for name in (f"Reviewers {k}", f"Readers {k}"):
        group = Group.objects.create(name=name)
        group.permissions.set(Permission.objects.order_by("pk")[: 3 * k])
    task = {"task": "diary.tasks.reminders_dispatch_task"}
    PeriodicTask.objects.create(
        name=f"every {k} min",
        interval=IntervalSchedule.objects.create(every=k, period=IntervalSchedule.MINUTES),
        **task,
    )
    PeriodicTask.objects.create(
        name=f"minute {k}", crontab=CrontabSchedule.objects.create(minute=str(k)), **task
    )
    PeriodicTask.objects.create(
        name=f"sunrise {k}",
        solar=SolarSchedule.objects.create(event="sunrise", latitude=50 + k, longitude=10),
        **task,
    )
    PeriodicTask.objects.create(
        name=f"once {k}",
        clocked=ClockedSchedule.objects.create(clocked_time=now + timedelta(days=k)),
        one_off=True,
        **task,
    )
    attempt = {"user_agent": "test", "ip_address": "127.0.0.1", "username": f"someone{k}"}
    attempt |= {"http_accept": "*/*", "path_info": "/admin/login/"}
    AccessAttempt.objects.create(**attempt, get_data="", post_data="", failures_since_start=k)
    AccessLog.objects.create(**attempt)
    AccessFailureLog.objects.create(**attempt)
    InstrumentVersion.objects.create(
        key="vas_dysmenorrhea",
        version=f"1.0-site{k}",
        language="fr",
        structure_version="1.0",
        structure_hash=instrument_get("vas_dysmenorrhea", "1.0").content_hash,
        wording={},
        content_hash=f"{k:064d}",
        source_name="vas-en-GB.toml",
        loaded_by=world.admin,
    )


# --- Opening the pages ---------------------------------------------------------------------------
def shown_object(page: Page, user, world: World) -> Model | None:
    """The object of a change view: participant A (whose record grows), else the newest row
    the user sees (the largest study, list, sequence and group)."""
    if page.model is Participant:
        return world.participant_a
    opts = page.model._meta
    request = RequestFactory().get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    request.user = user
    request.resolver_match = resolve(request.path)  # pghistory's admin reads it
    return admin.site._registry[page.model].get_queryset(request).order_by("-pk").first()


def url_of(page: Page, user, world: World) -> str:
    if page.model is not None:
        # The change view, and extra URLs of one object (an authenticator's QR code).
        if page.view == "change" or page.view.endswith(("_config", "_qrcode")):
            obj = shown_object(page, user, world)
            assert obj is not None, f"{page.key}: no row to show"
            return reverse(page.key, args=[quote(obj.pk)])
        return reverse(page.key)
    a = world.participant_a
    current = Response.objects.filter(
        assessment__participant=a, instrument_key="ehp30", superseded_by__isnull=True
    ).latest("pk")
    # A's six periods are all submitted in the end: the newest site-1 participant's second.
    newest = Participant.objects.filter(site=world.site1).latest("pk")
    blank = Assessment.objects.get(participant=newest, period_number=2)
    values = {
        "request_id": DataChangeRequest.objects.filter(participant=a).latest("pk").pk,
        "participant_id": a.pk,
        "response_id": current.pk,
        "assessment_id": blank.pk,
        "study_code": world.study.code,
        "copy_id": SiteCopy.objects.filter(site=world.site1).latest("pk").pk,
    }
    params = page.pattern.pattern.regex.groupindex
    url = reverse(f"admin:{page.pattern.name}", kwargs={name: values[name] for name in params})
    return f"{url}?{page.query}" if page.query else url


def opened(client: Client, url: str) -> HttpResponse:
    """GET the page and read all of it (a streamed CSV queries while it streams)."""
    response = client.get(url)
    if response.streaming:
        b"".join(response.streaming_content)
    return response


def listed(response: HttpResponse) -> int | None:
    """How many rows a changelist found."""
    changelist = (getattr(response, "context_data", None) or {}).get("cl")
    return changelist.result_count if changelist is not None else None


def pages_count(world, clients, django_assert_num_queries, subtests, rows: str) -> dict:
    """Open every page, once to warm up and once counted; returns the changelists' row counts."""
    found = {}
    for key, page in sorted(admin_pages().items()):
        if key not in QUERIES:
            continue  # reported by test_every_admin_page_has_a_query_count
        role, expected = QUERIES[key]
        with subtests.test(msg=key, rows=rows, role=role):
            url = url_of(page, getattr(world, role), world)
            assert opened(clients[role], url).status_code == 200, url
            with django_assert_num_queries(expected):
                response = opened(clients[role], url)
            found[key] = listed(response)
    return found


def test_admin_pages_run_a_fixed_number_of_queries(
    world: World, django_assert_num_queries, subtests, settings, tmp_path
) -> None:
    # The pages' own queries are counted, not the sessions' renewal: a request renews a
    # session last renewed SESSION_RENEW_SECONDS ago (diary/sessions.py), and the walk below
    # takes longer than that on a loaded machine, so the renewal's writes fell into whichever
    # counted request crossed the minute (CI, machine services). Renewal is tested in
    # tests/diary/test_auth.py.
    settings.SESSION_RENEW_SECONDS = settings.SESSION_COOKIE_AGE - 1
    # Emergency unblinding is granted by name, here to coordinator1.
    world.coordinator1.user_permissions.add(
        Permission.objects.get(codename="emergency_unblind", content_type__app_label="diary")
    )
    rows_add(world, units=1, first=1)
    # Site 1's own copy, for its download page (made once: the page reads the files it has).
    settings.SITE_COPY_DIR = tmp_path
    site_copy_build(copy_id=site_copy_request(site=world.site1, actor=world.coordinator1).pk)
    clients = {}
    for role in ROLES:
        clients[role] = Client()
        clients[role].force_login(getattr(world, role))
    few = pages_count(world, clients, django_assert_num_queries, subtests, "few")
    rows_add(world, units=5, first=2)
    many = pages_count(world, clients, django_assert_num_queries, subtests, "many")
    for key, before in sorted(few.items()):
        if before is not None and key in many:
            with subtests.test(msg=f"{key} lists more rows"):
                assert many[key] >= 2 * before >= 2, (before, many[key])
