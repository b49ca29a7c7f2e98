"""Access matrix: every URL pattern of the URLconf, requested as each of ten identities (anonymous,
participants A and B, the coordinators of sites 1 and 2, the monitor, the unblinded statistician,
the admin, staff without a study role and a superuser without one), checked against an explicit
table of expected answers.

The patterns are read from the URL resolver (the admin site's included), not listed by hand: a
pattern without a row in the table fails `test_every_url_has_an_expected_access_row`, so nobody
can add a URL without deciding who may open it, and a row whose URL has gone fails too.

Path parameters are filled from the world: participant A's objects (her periods, questionnaires,
invitation token; her participant, assessment, response ... rows in the admin), one object of
each registered model, the study code and every admin app label. Participant B and the
coordinator of site 2 therefore ask for someone else's data: they must never get a 200. A second
study (OTHER-1) in which nobody has a role is there to be invisible.

Every page an identity does reach (200) is also read: no treatment name or sequence code for
blinded identities, no study ID or study it has no business with (body_problems).

Cells (one test per identity, all wrong cells listed in one message):
    "200" etc.  that status code
    "login"     302 to a login page (the admin's or the diary's)
    "index"     302 to the admin index: Django's answer to "no such object (for you)"
    "302"       any other redirect
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import pghistory.models
import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from pypdf import PdfReader

from diary.exports.columns import UNBLINDED_ONLY_KINDS
from diary.models import (
    Allocation,
    AllocationList,
    Assessment,
    AuditEvent,
    ClosingPeriodStart,
    DataChangeRequest,
    GrantRight,
    LateEntry,
    LateEntryReason,
    MenstrualPeriod,
    Participant,
    ReminderLog,
    Sequence,
    SequenceBlock,
    Site,
    SiteCopy,
    StaffMembership,
    Treatment,
)
from diary.selectors.periods import local_today
from diary.services.change_requests import change_request_make
from diary.services.grants import grant_propose
from diary.services.invitations import invitation_send
from diary.services.periods import period_start_report
from diary.services.randomization import allocation_list_generate
from diary.services.site_copy import site_copy_build, site_copy_request
from scoring.definitions import instrument_get
from scoring.models import InstrumentVersion
from tests.conftest import PASSWORD, make_participant, make_staff, make_study
from tests.export_fingerprints import Fingerprint, unblinded_export_run
from tests.scoring.submitting import assessment_open, submit

pytestmark = pytest.mark.django_db

IDENTITIES = (
    "anonymous",
    "participant_a",
    "participant_b",
    "coordinator1",
    "coordinator2",
    "monitor",
    "statistician",
    "admin",  # superuser with the blinded study-admin role
    "investigator1",  # site 1's investigator (blinded): reads, decides change requests, signs
    # Two more staff accounts the brief's eight leave out: staff without any study role, and a
    # system administrator (superuser) without one, who must see configuration, not clinical data.
    "outsider",
    "sysadmin",
)
# Everyone but the unblinded statistician must never read a treatment or a sequence.
BLINDED = tuple(i for i in IDENTITIES if i != "statistician")
LEAKS = re.compile(r"Anakinra|Placebo|Zebracillin|Quietol|\b(?:AP|PA|ZQ)\b")
# The other study (OTHER-1), where no identity of the world has a role. Superusers administer
# every study's configuration and logins, so only the treatment names are kept from them.
OTHER_STUDY = re.compile(r"OTHER-1|X01-001|Zebracillin|Quietol")
SUPERUSERS = ("admin", "sysadmin")
# Study IDs an identity must never read: the other participant's, the other site's, the other
# study's, anyone's for staff without a study role.
FOREIGN = {
    "anonymous": ("S01-001", "S02-001", "X01-001"),
    "participant_a": ("S02-001", "X01-001"),
    "participant_b": ("S01-001", "X01-001"),
    "coordinator1": ("S02-001", "X01-001"),
    "coordinator2": ("S01-001", "X01-001"),
    "monitor": ("X01-001",),
    "statistician": ("X01-001",),
    "admin": ("X01-001",),
    "investigator1": ("S02-001", "X01-001"),
    "outsider": ("S01-001", "S02-001", "X01-001"),
    "sysadmin": ("S01-001", "S02-001", "X01-001"),
}
# Superusers administer staff logins; a participant's login (her study ID is its username) is
# in no admin page but hers, so no page is excepted from the study-ID check.
USER_ADMIN: tuple[str, ...] = ()


def cells(spec: str) -> dict[str, str]:
    """One row of the matrix: the answers in IDENTITIES order."""
    values = spec.split()
    assert len(values) == len(IDENTITIES), spec
    return dict(zip(IDENTITIES, values, strict=True))


def every(value: str) -> dict[str, str]:
    return dict.fromkeys(IDENTITIES, value)


# Columns in IDENTITIES order: anonymous, participants A and B, coordinators 1 and 2, monitor,
# statistician, admin, investigator1, outsider, sysadmin.
#                        anon  A     B     c1    c2    mon   stat  admin inv1  outs  sys
STAFF = cells("          login login login 200   200   200   200   200   200   200   200")
STUDY_STAFF = cells("    login login login 200   200   200   200   200   200   404   404")
STAFF_REDIRECT = cells(" login login login 302   302   302   302   302   302   302   302")
STAFF_404 = cells("      login login login 404   404   404   404   404   404   404   404")
SUPERUSER_404 = cells("  login login login 404   404   404   404   200   404   404   200")
UNBLINDED_404 = cells("  login login login 404   404   404   200   404   404   404   404")
# Participant A's rows in the admin: coordinator2 is sent away as if the row did not exist.
SITE1 = cells("          login login login 200   index 200   200   200   200   404   404")
SITE1_HISTORY = cells("  login login login 200   index 200   200   200   200   index index")
PARTICIPANT_A = cells("  login 200   404   index index index index index index index index")
DIARY_ANY = cells("      login 200   200   index index index index index index index index")

# --- Rows for named and custom URLs ------------------------------------------------------------
EXPECTED: dict[str, dict[str, str]] = {
    "/": every("302"),  # the site root redirects to the diary
    # The participant's diary. B asks for A's objects: 404, never her data. Staff logged in
    # at the admin are sent back to its index (diary.middleware.StaffToAdminMiddleware).
    "diary:home": DIARY_ANY,
    "diary:login": cells("200 302 302 index index index index index index index index"),
    "diary:logout": every("405"),  # POST only
    # Where logout lands (it clears the device); someone logged in is sent home.
    "diary:logged_out": cells(
        "200 302 302 index index index index index index index index"
    ),
    # The installable diary's files hold no one's data (diary/views/offline.py).
    "service_worker": every("200"),
    "manifest": every("200"),
    "diary:password_forgotten": cells(
        "200 200 200 index index index index index index index index"
    ),
    # POST only
    "diary:language": cells("405 405 405 index index index index index index index index"),
    # no invitation in this session
    "diary:invitation_password": cells(
        "410 410 410 index index index index index index index index"
    ),
    # a bearer link: GET only shows a Continue button
    "diary:invitation": cells("200 200 200 index index index index index index index index"),
    "diary:reminder_preferences": DIARY_ANY,
    # POST only, JSON: her browser's push subscription (tests/diary/views/test_reminder_...).
    "diary:push_subscribe": cells(
        "login 405 405 index index index index index index index index"
    ),
    "diary:push_unsubscribe": cells(
        "login 405 405 index index index index index index index index"
    ),
    "diary:period_start": DIARY_ANY,
    "diary:period_closing": DIARY_ANY,
    "diary:period_end": PARTICIPANT_A,
    "diary:period_correct": PARTICIPANT_A,
    "diary:questionnaire": PARTICIPANT_A,
    "diary:questionnaire_page": PARTICIPANT_A,
    "diary:questionnaire_review": PARTICIPANT_A,
    "diary:questionnaire_done": PARTICIPANT_A,
    # Her answers as she gave them, and "this answer is wrong" on one of them.
    "diary:history": PARTICIPANT_A,
    "diary:change_request": PARTICIPANT_A,
    # The admin site's own pages.
    "admin:index": STAFF,
    "admin:login": cells("200 200 200 index index index index index index index index"),
    # POST only; the admin sends those it does not serve back to its index.
    "admin:logout": cells("index index index 405 405 405 405 405 405 405 405"),
    "admin:password_change": STAFF,
    "admin:password_change_done": STAFF,
    "admin:autocomplete": STAFF_404,  # without its query parameters
    "admin:jsi18n": STAFF,
    "admin:view_on_site": STAFF_404,  # participants have no public URL
    # The outsider has a confirmed device (the TOTP admin's object): sent to the index.
    "admin:two_factor_setup": cells("login login login 200 200 200 200 200 200 index 200"),
    "route:admin/(?P<url>.*)$": STAFF_404,  # the catch-all, with an unknown page
    # Custom admin pages.
    "admin:exports": STUDY_STAFF,
    # Importing periods and answers: the coordinators (diary.correct_response), at their sites.
    "admin:study_import": cells("login login login 200 200 404 404 404 200 404 404"),
    "admin:audit_export": STUDY_STAFF,
    # Events of no study (staff logins, lockouts, audit downloads): diary.view_system_audit,
    # which superusers hold and no role group does.
    "admin:system_audit": cells("login login login 404 404 404 404 200 404 404 200"),
    "admin:audit_timeline": cells("login login login 200 404 200 200 200 200 404 404"),  # A's
    "admin:arm_summary": UNBLINDED_404,
    "admin:arm_summary_study": UNBLINDED_404,
    # The study lock: the unblinded data manager's (diary.lock_study, all sites).
    "admin:study_lock": UNBLINDED_404,
    # The site's own copy: diary.site_copy at the site (coordinators, investigator); the download is
    # site 1's copy, so coordinator2 gets 404 as for any other site's object.
    "admin:site_copy": cells("login login login 200 200 404 404 404 200 404 404"),
    "admin:site_copy_download": cells("login login login 200 404 404 404 404 200 404 404"),
    # Corrections and paper entry: only the coordinator of A's site (A's objects).
    "admin:response_correct": cells("login login login 200 404 404 404 404 200 404 404"),
    "admin:assessment_transcribe": cells("login login login 200 404 404 404 404 200 404 404"),
    # Only coordinator1 is granted emergency unblinding here (by name, see the world below).
    "admin:unblinding": cells("login login login 200 404 404 404 404 404 404 404"),
    "admin:diary_participant_compliance": STUDY_STAFF,
    # Participants' change requests: every study role reads them within her sites; only the
    # coordinator and the investigator of A's site decide A's request.
    "admin:change_requests": STUDY_STAFF,
    "admin:change_request_decide": cells("login login login 200 404 404 404 404 200 404 404"),
    # Signing A's casebook: her site's investigator only.
    "admin:casebook_sign": cells("login login login 404 404 404 404 404 200 404 404"),
    # Data-quality signals, their thresholds and the queries to sites: every study role reads
    # them (within her sites); A's own signals page is not coordinator2's.
    "admin:signals": STUDY_STAFF,
    "admin:signal_participant": cells("login login login 200 404 200 200 200 200 404 404"),
    "admin:signal_settings": STUDY_STAFF,
    "admin:signal_queries": STUDY_STAFF,
    "admin:signal_queries_export": STUDY_STAFF,
    "admin:diary_allocationlist_upload": UNBLINDED_404,
    "admin:diary_allocationlist_generate": UNBLINDED_404,
    # Setting another user's password; the user here is participant A's, whose password
    # nobody but she sets (with her link): refused even to superusers.
    "admin:auth_user_password_change": STAFF_404,
    "admin:otp_totp_totpdevice_config": SUPERUSER_404,
    "admin:otp_totp_totpdevice_qrcode": SUPERUSER_404,
    # One row per admin app (the app_list pattern is a regex over every app label).
    # sysadmin's diary app lists only the configuration models (studies, sites, memberships).
    "admin:app_list[diary]": cells("login login login 200 200 200 200 200 200 404 200"),
    "admin:app_list[auth]": SUPERUSER_404,
    "admin:app_list[axes]": SUPERUSER_404,
    "admin:app_list[django_celery_beat]": SUPERUSER_404,
    "admin:app_list[otp_totp]": SUPERUSER_404,
    "admin:app_list[scoring]": SUPERUSER_404,
    "admin:app_list[pghistory]": STAFF_404,  # see "row_history" below
}

# --- Declared rules for the generic ModelAdmin patterns, per model category ---------------------
GENERIC_VIEWS = ("changelist", "add", "change", "history", "delete", "redirect")
CATEGORY_RULES: dict[str, dict[str, dict[str, str]]] = {
    # Blinded clinical rows, read-only, scoped to the user's sites; the object is A's (site 1).
    "clinical": {
        "changelist": STUDY_STAFF,
        "add": STAFF_404,
        "change": SITE1,
        "history": SITE1_HISTORY,
        "delete": STAFF_404,
        "redirect": STAFF_REDIRECT,
    },
    # Participants: as clinical, plus enrolment for coordinators and the study admin.
    "participant": {
        "changelist": STUDY_STAFF,
        "add": cells("login login login 200 200 404 404 200 404 404 404"),
        "change": SITE1,
        "history": SITE1_HISTORY,
        "delete": STAFF_404,
        "redirect": STAFF_REDIRECT,
    },
    # Allocation and design tables: only for users unblinded in the study.
    "unblinded": {
        "changelist": UNBLINDED_404,
        "add": STAFF_404,
        "change": UNBLINDED_404,
        "history": cells("login login login index index index 200 index index index index"),
        "delete": STAFF_404,
        "redirect": STAFF_REDIRECT,
    },
    # Study configuration: the system admin edits, study members read.
    "configuration": {
        "changelist": cells("login login login 200 200 200 200 200 200 404 200"),
        "add": SUPERUSER_404,
        "change": cells("login login login 200 200 200 200 200 200 404 200"),
        "history": cells("login login login 200 200 200 200 200 200 index 200"),
        "delete": STAFF_404,
        "redirect": STAFF_REDIRECT,
    },
    # Groups. The object is a role group: it holds the access policy's permissions, so it is
    # read, never changed or deleted, here.
    "groups": {
        "changelist": SUPERUSER_404,
        "add": SUPERUSER_404,
        "change": SUPERUSER_404,
        "history": SUPERUSER_404,
        "delete": STAFF_404,
        "redirect": STAFF_REDIRECT,
    },
    # Logins. The object is participant A's account, which the user admin does not hold for
    # anyone (contacts stay apart): superusers are told it does not exist, others get 404.
    "accounts": {
        "changelist": SUPERUSER_404,
        "add": SUPERUSER_404,
        "change": cells("login login login 404 404 404 404 index 404 404 index"),
        "history": cells("login login login index index index index index index index index"),
        "delete": cells("login login login 404 404 404 404 index 404 404 index"),
        "redirect": STAFF_REDIRECT,
    },
    # Two-person grants of the guarded rights: system administrators propose, holders (the
    # statistician; coordinator1, who holds emergency unblinding) approve; nobody edits or
    # deletes a request. The object is in the study.
    "grants": {
        "changelist": cells("login login login 200 404 404 200 200 404 404 200"),
        "add": cells("login login login 200 404 404 200 200 404 404 200"),
        "change": cells("login login login 200 404 404 200 200 404 404 200"),
        "history": cells("login login login 200 index index 200 200 index index 200"),
        "delete": STAFF_404,
        "redirect": STAFF_REDIRECT,
    },
    # Users' study roles: superuser only, never deleted (the audit trail keeps grants).
    "memberships": {
        "changelist": SUPERUSER_404,
        "add": SUPERUSER_404,
        "change": SUPERUSER_404,
        "history": SUPERUSER_404,
        "delete": STAFF_404,
        "redirect": STAFF_REDIRECT,
    },
    # Django's and third-party system tables: superuser only.
    "system": {
        "changelist": SUPERUSER_404,
        "add": SUPERUSER_404,
        "change": SUPERUSER_404,
        "history": SUPERUSER_404,
        "delete": SUPERUSER_404,
        "redirect": STAFF_REDIRECT,
    },
    # django-axes' logs: superuser only, written by axes itself (no add).
    "login_log": {
        "changelist": SUPERUSER_404,
        "add": STAFF_404,
        "change": SUPERUSER_404,
        "history": SUPERUSER_404,
        "delete": SUPERUSER_404,
        "redirect": STAFF_REDIRECT,
    },
    # Stored instrument versions: frozen, superuser reads only.
    "instrument": {
        "changelist": SUPERUSER_404,
        "add": STAFF_404,
        "change": SUPERUSER_404,
        "history": SUPERUSER_404,
        "delete": STAFF_404,
        "redirect": STAFF_REDIRECT,
    },
    # pghistory's row history covers the allocation tables of every study, unscoped: only for
    # users unblinded in every study, so nobody here (the statistician is not in OTHER-1).
    "row_history": {
        "changelist": STAFF_404,
        "add": STAFF_404,
        "change": STAFF_404,
        "history": STAFF_404,
        "delete": STAFF_404,
        "redirect": STAFF_REDIRECT,
    },
}
MODEL_CATEGORY = {
    "auth.Group": "groups",
    "auth.User": "accounts",
    "django_celery_beat.PeriodicTask": "system",
    "django_celery_beat.ClockedSchedule": "system",
    "django_celery_beat.CrontabSchedule": "system",
    "django_celery_beat.SolarSchedule": "system",
    "django_celery_beat.IntervalSchedule": "system",
    "axes.AccessAttempt": "login_log",
    "axes.AccessLog": "login_log",
    "axes.AccessFailureLog": "login_log",
    "otp_totp.TOTPDevice": "system",
    "diary.Participant": "participant",
    "diary.MenstrualPeriod": "clinical",
    "diary.Assessment": "clinical",
    "diary.Response": "clinical",
    "diary.AuditEvent": "clinical",
    "diary.ReminderLog": "clinical",
    "diary.LateEntry": "clinical",
    "diary.AllocationList": "unblinded",
    "diary.Treatment": "unblinded",
    "diary.Sequence": "unblinded",
    "diary.Allocation": "unblinded",
    "diary.Study": "configuration",
    "diary.Site": "configuration",
    "diary.StaffMembership": "memberships",
    "diary.AccessGrant": "grants",
    "scoring.InstrumentVersion": "instrument",
    "pghistory.Events": "row_history",
}


def admin_prefix(model) -> str:
    return f"admin:{model._meta.app_label}_{model._meta.model_name}_"


def expected_table() -> dict[str, dict[str, str]]:
    """The explicit rows plus the category rules applied to every registered, categorised
    model. A model registered without a category gets no rows, and its URLs then fail."""
    table = dict(EXPECTED)
    for model in admin.site._registry:
        category = MODEL_CATEGORY.get(model._meta.label)
        if category is not None:
            for view in GENERIC_VIEWS:
                table[admin_prefix(model) + view] = CATEGORY_RULES[category][view]
    return table


# --- The URLconf, walked ------------------------------------------------------------------------
@dataclass(frozen=True)
class Pattern:
    key: str  # the URL name (namespaced), or "route:<route>" for an unnamed pattern
    route: str
    params: tuple[str, ...]


ADMIN_OBJECT_REDIRECT = re.compile(r"^admin/(\w+)/(\w+)/<path:object_id>/$")


def url_patterns() -> Iterator[Pattern]:
    def walk(patterns, prefix: str, namespace: str | None) -> Iterator[Pattern]:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                ns = pattern.namespace
                inner = f"{namespace}:{ns}" if namespace and ns else (ns or namespace)
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
                continue
            assert isinstance(pattern, URLPattern)
            route = prefix + str(pattern.pattern)
            params = tuple(pattern.pattern.regex.groupindex)
            if pattern.name:
                key = f"{namespace}:{pattern.name}" if namespace else pattern.name
            elif match := ADMIN_OBJECT_REDIRECT.match(route):
                # The admin's `<model>/<id>/` redirect to the change page.
                key = f"admin:{match[1]}_{match[2]}_redirect"
            else:
                key = f"route:{route}" if route else "/"
            yield Pattern(key, route, params)

    yield from walk(get_resolver().url_patterns, "", None)


def request_keys() -> dict[str, Pattern]:
    """Every URL to request, by row key: app_list expands to one key per admin app."""
    keys: dict[str, Pattern] = {}
    for pattern in url_patterns():
        if pattern.key == "admin:app_list":
            for label in sorted({m._meta.app_label for m in admin.site._registry}):
                keys[f"admin:app_list[{label}]"] = pattern
        else:
            assert pattern.key not in keys, f"two URL patterns share the key {pattern.key}"
            keys[pattern.key] = pattern
    return keys


def test_every_url_has_an_expected_access_row() -> None:
    urls = request_keys()
    table = expected_table()
    problems = [
        f"new URL {key} ({pattern.route}) has no expected access row"
        for key, pattern in sorted(urls.items())
        if key not in table
    ]
    problems += [
        f"access row {key} names no URL any more" for key in sorted(set(table) - set(urls))
    ]
    problems += [
        f"registered model {label} has no category in MODEL_CATEGORY"
        for label in sorted(m._meta.label for m in admin.site._registry)
        if label not in MODEL_CATEGORY
    ]
    assert not problems, "\n".join(problems)


# --- The world the URLs are filled from ---------------------------------------------------------
@dataclass
class Matrix:
    users: dict[str, object | None]
    objects: dict[str, object]  # model label -> the object its admin URLs show
    period_a: MenstrualPeriod
    period_b: MenstrualPeriod
    submitted_a: Assessment  # period 1, submitted
    open_a: Assessment  # period 2, open
    submitted_b: Assessment
    open_b: Assessment
    token_a: str
    fingerprint: Fingerprint  # the statistician's unblinded export
    change_request_a: DataChangeRequest  # A's "this answer is wrong", pending
    site_copy: SiteCopy  # site 1's own copy, ready for download


def _objects(world, period_a: MenstrualPeriod, submitted_a: Assessment) -> dict[str, object]:
    """One object of every registered model, participant A's where the model is hers."""
    now = timezone.now()
    a = world.participant_a
    interval = IntervalSchedule.objects.create(every=5, period=IntervalSchedule.MINUTES)
    attempt = {"user_agent": "test", "ip_address": "127.0.0.1", "username": "someone"}
    attempt |= {"http_accept": "*/*", "path_info": "/admin/login/"}
    reminder = ReminderLog.objects.create(
        participant=a,
        assessment=submitted_a,
        kind="window_opened",
        period_number=1,
        key=f"matrix-{a.pk}",
        status="cancelled",
        due_at=now,
        next_attempt_at=now,
        created_at=now,
    )
    allocation_list = allocation_list_generate(
        study=world.study,
        block_sizes=[2],
        slots_per_stratum=2,
        stratify_by_site=False,
        actor=world.statistician,
        seed=1,
    )
    return {
        "auth.Group": Group.objects.get(name="Coordinator"),
        "auth.User": a.user,
        "django_celery_beat.PeriodicTask": PeriodicTask.objects.create(
            name="matrix", task="diary.tasks.reminders_dispatch_task", interval=interval
        ),
        "django_celery_beat.ClockedSchedule": ClockedSchedule.objects.create(clocked_time=now),
        "django_celery_beat.CrontabSchedule": CrontabSchedule.objects.create(minute="5"),
        "django_celery_beat.SolarSchedule": SolarSchedule.objects.create(
            event="sunrise", latitude=55.7, longitude=12.6
        ),
        "django_celery_beat.IntervalSchedule": interval,
        "axes.AccessAttempt": AccessAttempt.objects.create(
            **attempt, get_data="", post_data="", failures_since_start=1
        ),
        "axes.AccessLog": AccessLog.objects.create(**attempt),
        "axes.AccessFailureLog": AccessFailureLog.objects.create(**attempt),
        "otp_totp.TOTPDevice": TOTPDevice.objects.create(
            user=world.outsider, name="Authenticator app", confirmed=True
        ),
        "diary.Participant": a,
        "diary.MenstrualPeriod": period_a,
        "diary.Assessment": submitted_a,
        "diary.Response": submitted_a.responses.first(),
        "diary.AuditEvent": AuditEvent.objects.filter(participant=a).earliest("pk"),
        "diary.ReminderLog": reminder,
        "diary.LateEntry": LateEntry.objects.create(
            assessment=submitted_a,
            answers={},
            reason=LateEntryReason.NO_DRAFT_IN_WINDOW,
            received_at=now,
            submitted_by=a.user,
        ),
        "diary.AllocationList": allocation_list,
        "diary.Treatment": world.active,
        "diary.Sequence": world.ap,
        "diary.Allocation": Allocation.objects.get(participant=a),
        "diary.Study": world.study,
        "diary.Site": world.site1,
        "diary.StaffMembership": StaffMembership.objects.get(user=world.coordinator1),
        "diary.AccessGrant": grant_propose(
            study=world.study,
            grantee=world.outsider,
            right=GrantRight.UNBLINDED_ROLE,
            role="statistician",
            reason="Second statistician for the interim analysis",
            actor=world.admin,
        ),
        "scoring.InstrumentVersion": InstrumentVersion.objects.create(
            key="vas_dysmenorrhea",
            version="1.0-site",
            # A language nobody in this world reads: its (deliberately bare) wording is only
            # listed in the admin, never shown in the diary.
            language="fr",
            structure_version="1.0",
            structure_hash=instrument_get("vas_dysmenorrhea", "1.0").content_hash,
            wording={},
            content_hash="0" * 64,
            source_name="vas-en-GB.toml",
            loaded_by=world.admin,
        ),
        # The other study's treatment: no identity here may read that study's history.
        "pghistory.Events": _row_history_event(other_study()),
    }


def other_study() -> Treatment:
    """A second study nobody in the world works in: its treatment, for its row history."""
    study = make_study("OTHER-1")
    site = Site.objects.create(study=study, code="X01", name="Elsewhere")
    first = Treatment.objects.create(study=study, code="Z", name="Zebracillin")
    second = Treatment.objects.create(study=study, code="Q", name="Quietol")
    sequence = Sequence.objects.create(study=study, code="ZQ")
    for block, treatment in enumerate((first, second), start=1):
        SequenceBlock.objects.create(sequence=sequence, block=block, treatment=treatment)
    make_participant(study, site, "X01-001", sequence=sequence)
    return first


def _row_history_event(obj):
    """The row-history event of an object (pghistory's Events are keyed by a slug)."""
    for model in pghistory.models.Event.__subclasses__():
        if getattr(model, "pgh_tracked_model", None) is type(obj):
            event = model.objects.filter(pgh_obj=obj).earliest("pgh_id")
            return pghistory.models.Events(pgh_slug=f"{model._meta.label}:{event.pgh_id}")
    raise AssertionError(f"{type(obj).__name__} has no row history")


def _diary_objects(participant: Participant) -> tuple[MenstrualPeriod, Assessment, Assessment]:
    """Her first period reported, its questionnaire submitted, the second one open."""
    today = local_today(participant, timezone.now())
    period = period_start_report(
        participant=participant, started_on=today - timedelta(days=2), actor=participant.user
    )
    submit(participant, number=1)
    return (
        period,
        Assessment.objects.get(participant=participant, period_number=1),
        (assessment_open(participant, 2)),
    )


@pytest.fixture
def matrix(world, settings, tmp_path) -> Matrix:
    period_a, submitted_a, open_a = _diary_objects(world.participant_a)
    period_b, submitted_b, open_b = _diary_objects(world.participant_b)
    # Emergency unblinding as a two-person grant leaves it: by name, to coordinator1 only.
    world.coordinator1.user_permissions.add(
        Permission.objects.get(codename="emergency_unblind", content_type__app_label="diary")
    )
    token_a = invitation_send(participant=world.participant_a, actor=world.coordinator1)
    objects = _objects(world, period_a, submitted_a)
    # The statistician's unblinded export: its event (and its files' fingerprint) is no
    # page, list, CSV or timeline of a blinded identity.
    fingerprint = unblinded_export_run(study=world.study, user=world.statistician)
    first_response = submitted_a.responses.order_by("pk").first()
    change_request_a = change_request_make(
        participant=world.participant_a,
        response=first_response,
        item_key=next(iter(first_response.answers)),
        reason="I pressed the wrong answer",
    )
    settings.SITE_COPY_DIR = tmp_path / "site-copies"
    site_copy = site_copy_build(
        copy_id=site_copy_request(site=world.site1, actor=world.coordinator1).pk
    )
    missing = {m._meta.label for m in admin.site._registry} - set(objects)
    assert not missing, f"registered models without an object in _objects: {sorted(missing)}"
    return Matrix(
        users={
            "anonymous": None,
            "participant_a": world.participant_a.user,
            "participant_b": world.participant_b.user,
            **{name: getattr(world, name) for name in IDENTITIES[3:-1]},
            "sysadmin": make_staff("sysadmin", superuser=True),
        },
        objects=objects,
        period_a=period_a,
        period_b=period_b,
        submitted_a=submitted_a,
        open_a=open_a,
        submitted_b=submitted_b,
        open_b=open_b,
        token_a=token_a.rstrip("/").rsplit("/", 1)[-1],
        fingerprint=fingerprint,
        change_request_a=change_request_a,
        site_copy=site_copy,
    )


def model_of(key: str):
    for model in admin.site._registry:
        if key.startswith(admin_prefix(model)):
            return model
    return None


def url_for(key: str, pattern: Pattern, m: Matrix, *, own_b: bool = False) -> str:
    """The URL of one row, its parameters filled from participant A's objects (B's own with
    `own_b`)."""
    if key.startswith("admin:app_list["):
        return reverse("admin:app_list", kwargs={"app_label": key[len("admin:app_list[") : -1]})
    if pattern.route == "admin/(?P<url>.*)$":
        return "/admin/no-such-page/"
    if key == "/":
        return "/"
    period, submitted, open_ = (
        (m.period_b, m.submitted_b, m.open_b) if own_b else (m.period_a, m.submitted_a, m.open_a)
    )
    a = m.objects["diary.Participant"]
    values: dict[str, object] = {
        "token": m.token_a,
        "number": 1,
        "participant_id": a.pk,
        "response_id": submitted.responses.order_by("pk").first().pk,
        "item_key": next(iter(submitted.responses.order_by("pk").first().answers)),
        "request_id": m.change_request_a.pk,
        "assessment_id": open_.pk,
        "study_code": a.study.code,
        "content_type_id": ContentType.objects.get_for_model(Participant).pk,
        "object_id": a.pk,
        "copy_id": m.site_copy.pk,
    }
    if key.startswith("diary:period_"):
        values["pk"] = period.pk
    elif key in ("diary:questionnaire_done", "diary:history"):
        values["pk"] = submitted.pk
    elif key.startswith("diary:questionnaire"):
        values["pk"] = open_.pk
    elif key.startswith("admin:otp_totp_totpdevice_"):
        values["pk"] = m.objects["otp_totp.TOTPDevice"].pk
    elif key == "admin:auth_user_password_change":
        values["id"] = m.objects["auth.User"].pk
    if (model := model_of(key)) is not None:
        values["object_id"] = quote(m.objects[model._meta.label].pk)
    kwargs = {name: values[name] for name in pattern.params}
    if key.startswith("admin:") and key.endswith("_redirect"):
        # Unnamed: reverse the change page and drop its last segment.
        name = key.removesuffix("_redirect") + "_change"
        return reverse(name, kwargs=kwargs).removesuffix("change/")
    return reverse(key, kwargs=kwargs)


LOGIN_PATHS = ("/admin/login/", "/diary/login/")


def answer(response) -> str:
    """The cell value of one response."""
    if response.status_code != 302:
        return str(response.status_code)
    target = urlsplit(response["Location"]).path
    if target in LOGIN_PATHS:
        return "login"
    if target == reverse("admin:index"):
        return "index"
    return "302"


def text_of(response) -> str:
    """The body as text; a zip (the site's own copy) by its members: the PDFs' text as pypdf
    extracts it, the other files decoded (compressed bytes would match anything)."""
    body = b"".join(response.streaming_content) if response.streaming else response.content
    if response.get("Content-Type", "").startswith("application/zip"):
        bundle = zipfile.ZipFile(io.BytesIO(body))
        return "\n".join(member_text(name, bundle.read(name)) for name in bundle.namelist())
    return body.decode(errors="replace")


def member_text(name: str, data: bytes) -> str:
    if name.endswith(".pdf"):
        pages = PdfReader(io.BytesIO(data)).pages
        return " ".join(" ".join(page.extract_text() for page in pages).split())
    return data.decode(errors="replace")


def client_for(user, *, verified: bool = True) -> Client:
    """A client logged in as `user`; one who has an authenticator also gave its code (the
    admin asks for it on every page otherwise), unless `verified` is False."""
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is not None and verified:
            session = client.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()
    return client


def body_problems(
    identity: str, key: str, response, fingerprint: Fingerprint | None = None
) -> list[str]:
    """What a page this identity reached shows that it must not."""
    text = text_of(response)
    problems = []
    if identity in BLINDED and (found := LEAKS.findall(text)):
        problems.append(f"shows the arms {sorted(set(found))} to {identity}")
    if identity in BLINDED and fingerprint is not None and (found := fingerprint.found_in(text)):
        problems.append(f"shows the unblinded export's {found} to {identity}")
    if identity not in SUPERUSERS and (found := OTHER_STUDY.findall(text)):
        problems.append(f"shows the other study's {sorted(set(found))} to {identity}")
    foreign = () if identity in SUPERUSERS and key.startswith(USER_ADMIN) else FOREIGN[identity]
    if shown := [sid for sid in foreign if re.search(rf"\b{sid}\b", text)]:
        problems.append(f"shows {shown} to {identity}")
    return problems


@pytest.mark.parametrize("identity", IDENTITIES)
def test_access_matrix(matrix: Matrix, identity: str) -> None:
    """GET every URL as this identity: the answer is the table's, and no page it reaches
    shows what it must not (body_problems)."""
    client = client_for(matrix.users[identity])
    table = expected_table()
    wrong: list[str] = []
    for key, pattern in sorted(request_keys().items()):
        if key not in table:
            continue  # reported by test_every_url_has_an_expected_access_row
        url = url_for(key, pattern, matrix)
        response = client.get(url)
        got, expected = answer(response), table[key][identity]
        if got != expected:
            wrong.append(f"{key} {url}: expected {expected}, got {got}")
        elif response.status_code == 200:
            wrong += [
                f"{key} {url}: {problem}"
                for problem in body_problems(identity, key, response, matrix.fingerprint)
            ]
    assert not wrong, f"{len(wrong)} wrong cell(s) for {identity}:\n" + "\n".join(wrong)


def test_no_admin_page_opens_to_a_device_holder_who_gave_no_code(matrix: Matrix) -> None:
    """The outsider has an authenticator; her session opened by a password alone (any other
    door) gets the admin's login, which asks for the code, on every admin URL."""
    client = client_for(matrix.users["outsider"], verified=False)
    table = expected_table()
    wrong = []
    for key, pattern in sorted(request_keys().items()):
        if key not in table or not key.startswith(("admin:", "route:admin/")):
            continue
        url = url_for(key, pattern, matrix)
        got = answer(client.get(url))
        # The login page itself asks for the code; logging out sends her to the index first.
        expected = {"admin:login": "200", "admin:logout": "index"}.get(key, "login")
        if key == "admin:two_factor_setup":
            expected = "index"  # she already has a device: nothing to set up
        if got != expected:
            wrong.append(f"{key} {url}: expected {expected}, got {got}")
    assert not wrong, "\n".join(wrong)


def test_no_staff_account_logs_in_at_the_participant_login(matrix: Matrix) -> None:
    """The diary's login takes participants only: staff (whose second factor only the admin's
    login asks for) are answered as a wrong password, whatever they type."""
    logged_in = []
    for identity in IDENTITIES[3:]:
        client = Client(raise_request_exception=False)
        user = matrix.users[identity]
        response = client.post(
            reverse("diary:login"), {"username": user.get_username(), "password": PASSWORD}
        )
        if response.status_code != 200 or "_auth_user_id" in client.session:
            logged_in.append(identity)
    assert not logged_in, f"staff logged in at the participant login: {logged_in}"


def test_the_walk_finds_the_diary_and_every_admin_page() -> None:
    """Guards the key property against a walker that silently finds nothing."""
    keys = request_keys()
    assert {"diary:home", "diary:questionnaire_page", "admin:exports", "/"} <= set(keys)
    for model in admin.site._registry:
        assert admin_prefix(model) + "changelist" in keys, model


def test_participant_b_reaches_her_own_diary_objects(matrix: Matrix) -> None:
    """The 404s B gets on A's objects are about ownership: on her own she gets what A gets."""
    client = client_for(matrix.users["participant_b"])
    table = expected_table()
    wrong = []
    for key, pattern in request_keys().items():
        if key.startswith("diary:") and pattern.params and key != "diary:invitation":
            url = url_for(key, pattern, matrix, own_b=True)
            got = answer(client.get(url))
            if got != table[key]["participant_a"]:
                wrong.append(f"{key} {url}: expected {table[key]['participant_a']}, got {got}")
    assert not wrong, "\n".join(wrong)


def test_the_leak_check_finds_the_allocation_on_unblinded_pages(matrix: Matrix) -> None:
    """The matrix's body check can fail: the statistician's pages do name the arms."""
    client = client_for(matrix.users["statistician"])
    treatment = matrix.objects["diary.Treatment"]
    response = client.get(reverse("admin:diary_treatment_change", args=[treatment.pk]))
    assert "Anakinra" in LEAKS.findall(text_of(response))
    response = client.get(reverse("admin:diary_allocation_changelist"))
    assert set(LEAKS.findall(text_of(response))) >= {"AP", "PA"}


AUDIT_EVENT_OF_THE_EXPORT = cells("login login login index index index 200 index index 404 404")


def test_an_unblinded_exports_event_is_no_page_for_blinded_identities(matrix: Matrix) -> None:
    """The audit event of the unblinded export, by its own URL: only the unblinded statistician
    opens it; for blinded staff it does not exist (the admin's "no such object": its index)."""
    url = reverse("admin:diary_auditevent_change", args=[matrix.fingerprint.event.pk])
    wrong = []
    for identity in IDENTITIES:
        got = answer(client_for(matrix.users[identity]).get(url))
        if got != AUDIT_EVENT_OF_THE_EXPORT[identity]:
            wrong.append(f"{identity}: expected {AUDIT_EVENT_OF_THE_EXPORT[identity]}, got {got}")
    assert not wrong, "\n".join(wrong)
    shown = text_of(client_for(matrix.users["statistician"]).get(url))
    assert matrix.fingerprint.found_in(shown)  # the check can fail


def test_the_fingerprint_check_finds_the_export_in_the_unblinded_trail(matrix: Matrix) -> None:
    """The matrix's fingerprint check can fail: the statistician's audit CSV holds it."""
    response = client_for(matrix.users["statistician"]).get(
        reverse("admin:audit_export"), {"download": "1"}
    )
    problems = body_problems("monitor", "admin:audit_export", response, matrix.fingerprint)
    assert any("unblinded export" in problem for problem in problems)


def test_row_history_only_for_users_unblinded_in_every_study(world) -> None:
    """The row-history list cannot be scoped to a study: a second study closes it to the
    first study's statistician (in the matrix world it is closed to everyone)."""
    client = client_for(world.statistician)
    url = reverse("admin:pghistory_events_changelist")
    assert client.get(url).status_code == 200
    other_study()
    response = client.get(url)
    assert response.status_code == 404
    assert not OTHER_STUDY.search(text_of(response))


def test_the_foreign_id_check_finds_study_ids_on_pages(matrix: Matrix) -> None:
    """The matrix's study-ID check can fail: a site's list names its own participants."""
    response = client_for(matrix.users["coordinator2"]).get(
        reverse("admin:diary_participant_changelist")
    )
    assert "S02-001" in text_of(response)
    assert "S01-001" not in text_of(response)


# --- Unsafe methods as the wrong identity: refused, nothing stored ------------------------------
def business_events() -> int:
    """Audit events other than logins (force_login is audited like a real one)."""
    return AuditEvent.objects.exclude(action="login").count()


def test_participant_b_cannot_write_to_participant_a_diary(matrix: Matrix) -> None:
    a_open, period = matrix.open_a, matrix.period_a
    client = client_for(matrix.users["participant_b"])
    before = business_events()
    posts = [
        (reverse("diary:questionnaire_page", args=[a_open.pk, 1]), {"nav": "next"}),
        (reverse("diary:questionnaire_review", args=[a_open.pk]), {"confirm_unanswered": "on"}),
        (reverse("diary:period_end", args=[period.pk]), {"ended_on": str(period.started_on)}),
        (reverse("diary:period_correct", args=[period.pk]), {"started_on": "2020-01-01"}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 404, url
    a_open.refresh_from_db()
    period_after = MenstrualPeriod.objects.get(pk=period.pk)
    assert a_open.status == "open" and not a_open.responses.exists()
    assert not hasattr(a_open, "draft") or a_open.draft is None
    assert (period_after.started_on, period_after.ended_on) == (period.started_on, None)
    assert business_events() == before
    # The same submission from A herself is taken: the refusal above was about B.
    own = client_for(matrix.users["participant_a"]).post(posts[1][0], posts[1][1])
    assert answer(own) == "302"
    assert Assessment.objects.get(pk=a_open.pk).status == "submitted"


def test_staff_cannot_use_the_diary(matrix: Matrix) -> None:
    client = client_for(matrix.users["coordinator1"])
    periods = MenstrualPeriod.objects.count()
    response = client.post(reverse("diary:period_start"), {"started_on": "2026-01-01"})
    assert answer(response) == "index"
    assert MenstrualPeriod.objects.count() == periods
    response = client.post(reverse("diary:period_closing"), {"started_on": "2026-01-01"})
    assert answer(response) == "index"
    assert not ClosingPeriodStart.objects.exists()


def test_admin_actions_refused_to_the_wrong_staff(matrix: Matrix) -> None:
    """Monitors are read-only; coordinator2 cannot act on a site-1 participant."""
    a = matrix.objects["diary.Participant"]
    missed = matrix.open_a
    Assessment.objects.filter(pk=missed.pk).update(status="missed")
    reason = {"confirm": "1", "reason": "Moved away from the study area"}
    before = business_events()
    for identity in ("monitor", "coordinator2"):
        client = client_for(matrix.users[identity])
        for model, action, pk in (
            ("participant", "withdraw", a.pk),
            ("participant", "send_invitation", a.pk),
            ("assessment", "excuse", missed.pk),
        ):
            response = client.post(
                reverse(f"admin:diary_{model}_changelist"),
                {"action": action, "_selected_action": [pk], **reason},
            )
            assert response.status_code in (200, 302), (identity, action)
    a.refresh_from_db()
    missed.refresh_from_db()
    assert a.status == "active" and missed.status == "missed"
    assert business_events() == before
    # The same request from A's own coordinator does withdraw her.
    client_for(matrix.users["coordinator1"]).post(
        reverse("admin:diary_participant_changelist"),
        {"action": "withdraw", "_selected_action": [a.pk], **reason},
    )
    assert Participant.objects.get(pk=a.pk).status == "withdrawn"


def test_blinded_staff_cannot_enrol_or_store_an_allocation_list(matrix: Matrix) -> None:
    participants, lists = Participant.objects.count(), AllocationList.objects.count()
    monitor = client_for(matrix.users["monitor"])
    enrol = {"site": matrix.objects["diary.Site"].pk, "subject_id": "S01-777"}
    assert monitor.post(reverse("admin:diary_participant_add"), enrol).status_code == 404
    generate = {"block_sizes": "2", "slots_per_stratum": "4", "seed": "3"}
    url = reverse("admin:diary_allocationlist_generate")
    # A superuser with a blinded role is refused like any blinded coordinator.
    for identity in ("coordinator1", "admin"):
        assert client_for(matrix.users[identity]).post(url, generate).status_code == 404
    assert (Participant.objects.count(), AllocationList.objects.count()) == (participants, lists)


def test_exports_refused_to_participants_and_unblinded_kinds_to_blinded_staff(
    matrix: Matrix,
) -> None:
    study = matrix.objects["diary.Study"]
    exports = AuditEvent.objects.filter(action="exported").count()  # the world's own one
    data = {"study": study.pk, "kinds": ["wide"]}
    response = client_for(matrix.users["participant_a"]).post(reverse("admin:exports"), data)
    assert answer(response) == "login"
    for kind in sorted(UNBLINDED_ONLY_KINDS):
        unblinded = {"study": study.pk, "kinds": [kind], "unblinded": "on"}
        coordinator = client_for(matrix.users["coordinator1"])
        response = coordinator.post(reverse("admin:exports"), unblinded)
        assert response.status_code == 200 and not response.streaming, kind
        assert not LEAKS.search(text_of(response)), kind
    assert AuditEvent.objects.filter(action="exported").count() == exports


def test_unblinding_refused_without_the_permission_or_outside_the_sites(matrix: Matrix) -> None:
    form = {"reason": "Severe adverse reaction needing treatment", "confirm": "on"}
    url = reverse("admin:unblinding")
    mail.outbox.clear()
    # coordinator2 holds no emergency-unblinding permission.
    response = client_for(matrix.users["coordinator2"]).post(url, {**form, "study_id": "S02-001"})
    assert response.status_code == 404
    # coordinator1 holds it, for her own site only.
    response = client_for(matrix.users["coordinator1"]).post(url, {**form, "study_id": "S02-001"})
    assert response.status_code == 200
    assert "No participant with this study ID at your sites" in text_of(response)
    assert not LEAKS.search(text_of(response))
    assert not AuditEvent.objects.filter(action="unblinded").exists()
    assert mail.outbox == []
    # For her own site's participant the same form unblinds, and that is audited.
    client_for(matrix.users["coordinator1"]).post(url, {**form, "study_id": "S01-001"})
    assert AuditEvent.objects.filter(action="unblinded").count() == 1


def test_no_identity_raises_her_own_rights(matrix: Matrix) -> None:
    """Every staff identity posts to her own account and her own membership the rights she
    lacks (the emergency permission, the statistician's group, superuser status, the unblinded
    role): whatever each answer is, nobody holds more afterwards (issue 13, item 3)."""
    User = get_user_model()
    emergency = Permission.objects.get(
        codename="emergency_unblind", content_type__app_label="diary"
    )
    statisticians = Group.objects.get(name="Unblinded statistician")

    def rights(user) -> tuple:
        user = User.objects.get(pk=user.pk)
        return (
            user.is_superuser,
            sorted(user.groups.values_list("name", flat=True)),
            sorted(user.user_permissions.values_list("codename", flat=True)),
            sorted(StaffMembership.objects.filter(user=user).values_list("role", flat=True)),
        )

    raised = []
    for identity in IDENTITIES[3:]:
        user = matrix.users[identity]
        before = rights(user)
        client = client_for(user)
        client.post(
            reverse("admin:auth_user_change", args=[user.pk]),
            {
                "username": user.username,
                "email": user.email,
                "is_active": "on",
                "is_staff": "on",
                "is_superuser": "on",
                "groups": [statisticians.pk],
                "user_permissions": [emergency.pk],
                "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
                "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
            },
        )
        for membership in StaffMembership.objects.filter(user=user):
            client.post(
                reverse("admin:diary_staffmembership_change", args=[membership.pk]),
                {"user": user.pk, "study": membership.study_id, "role": "statistician"},
            )
        if rights(user) != before:
            raised.append(f"{identity}: {before} -> {rights(user)}")
    assert not raised, "\n".join(raised)
