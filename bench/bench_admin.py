"""Benchmark: the blinded compliance dashboard, the participant list, the data-quality signals
page and the unblinded per-arm summary at 200 and 2,000 participants x 6 periods (with an
audit trail of about 100 events per participant for the signals). Prints server time and query
count per page and size, and the ratios between sizes (the query count must not change; time
should grow far less than 10x; target under 1 s).

    python -m bench.bench_admin [--sizes 200 2000] [--repeat 5]

Uses DATABASE_URL when set, else an embedded PostgreSQL under .data/pg-bench. The data is
created once per size (studies BENCH-<n>) and reused by later runs.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
PERIODS = 6


def django_setup() -> None:
    from config import embedded

    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
    os.environ.setdefault("AUDIT_CHAIN_KEY", "bench-only-audit-chain-key-not-a-secret")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    # The bench logs staff in directly; the second factor has its own tests.
    os.environ.setdefault("OTP_REQUIRED_FOR_UNBLINDED", "0")
    # Nothing is queued by the pages measured; the broker is never contacted.
    os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")
    if not os.environ.get("DATABASE_URL"):
        urls = embedded.postgres_start(embedded.data_root(BASE_DIR) / "pg-bench")
        os.environ["DATABASE_URL"], os.environ["DATABASE_OWNER_URL"] = urls.app, urls.owner
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django
    from django.core.management import call_command

    django.setup()
    from django.conf import settings

    # As in the tests: no collectstatic here, so no manifest of hashed file names.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    call_command("migrate", verbosity=0)


def vas_capture(saved_at, rng: random.Random) -> dict:
    skew = timedelta(minutes=rng.choice([0, 0, 0, 1, 2, 45]))
    return {
        "server_saved_at": saved_at.isoformat(),
        "client_answered_at": (saved_at - skew).isoformat(),
    }


def build(size: int):
    """A study with `size` participants on two sites, every assessment in a realistic state,
    submitted ones with their two responses. Returns (study, coordinator)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django.utils import timezone

    from diary.models import (
        Allocation,
        Assessment,
        AssessmentStatus,
        MenstrualPeriod,
        Participant,
        Response,
        ResponseSource,
        Sequence,
        SequenceBlock,
        Site,
        StaffMembership,
        StaffRole,
        Study,
        Treatment,
    )
    from diary.services.staff import staff_groups_sync
    from scoring.services import responses_score

    User = get_user_model()
    code = f"BENCHA-{size}"
    username = f"bench-coordinator-{size}"
    study = Study.objects.filter(code=code).first()
    if study is not None:
        return study, User.objects.get(username=username)
    rng = random.Random(size)
    now = timezone.now()
    with transaction.atomic():
        study = Study.objects.create(
            code=code, name=f"Benchmark {size}", instruments=["ehp30", "vas_dysmenorrhea"]
        )
        sites = [Site.objects.create(study=study, code=f"S0{i}", name=f"Site {i}") for i in (1, 2)]
        coordinator = User.objects.create_user(username=username, is_staff=True)
        # All sites: the dashboard aggregates every participant of the study.
        StaffMembership.objects.create(user=coordinator, study=study, role=StaffRole.COORDINATOR)
        staff_groups_sync(user=coordinator)
        statistician = User.objects.create_user(
            username=f"bench-statistician-{size}", is_staff=True
        )
        StaffMembership.objects.create(user=statistician, study=study, role=StaffRole.STATISTICIAN)
        staff_groups_sync(user=statistician)
        drug = Treatment.objects.create(study=study, code="A", name="Active")
        placebo = Treatment.objects.create(study=study, code="P", name="Placebo")
        sequences = []
        for code_, order in (("AP", (drug, placebo)), ("PA", (placebo, drug))):
            sequence = Sequence.objects.create(study=study, code=code_)
            for block, treatment in enumerate(order, start=1):
                SequenceBlock.objects.create(sequence=sequence, block=block, treatment=treatment)
            sequences.append(sequence)
        users = User.objects.bulk_create(
            User(username=f"{code}-p{i:05d}", password=make_password(None)) for i in range(size)
        )
        participants = Participant.objects.bulk_create(
            Participant(
                study=study,
                site=sites[i % 2],
                subject_id=f"{sites[i % 2].code}-{i:05d}",
                user=user,
                time_zone="Europe/Copenhagen",
                status="active",
                enrolled_at=now - timedelta(days=220),
                activated_at=now - timedelta(days=220),
            )
            for i, user in enumerate(users)
        )
        Allocation.objects.bulk_create(
            Allocation(
                participant=participant,
                sequence=sequences[i % 2],
                source="randomizer",
                allocated_at=now - timedelta(days=220),
            )
            for i, participant in enumerate(participants)
        )
        periods, assessments = [], []
        for participant in participants:
            reported = rng.randint(0, PERIODS)
            for number in range(1, PERIODS + 1):
                start = now - timedelta(days=200 - 30 * number + rng.randint(-3, 3))
                period = None
                if number <= reported:
                    period = MenstrualPeriod(
                        participant=participant,
                        number=number,
                        started_on=start.date(),
                        ended_on=(start + timedelta(days=5)).date(),
                        start_reported_at=start,
                        end_reported_at=start + timedelta(days=5),
                    )
                    periods.append(period)
                opens = start + timedelta(days=5)
                closes = opens + timedelta(days=7)
                if period is None:
                    status, opens, closes = AssessmentStatus.SCHEDULED, None, None
                elif closes > now:
                    status = AssessmentStatus.OPEN
                else:
                    status = rng.choices(
                        [AssessmentStatus.SUBMITTED, AssessmentStatus.MISSED, "excused"],
                        [85, 12, 3],
                    )[0]
                assessments.append(
                    Assessment(
                        participant=participant,
                        period_number=number,
                        period=period,
                        status=status,
                        opens_at=opens,
                        closes_at=closes,
                        submitted_at=opens + timedelta(days=2) if status == "submitted" else None,
                        excused_reason="ill" if status == "excused" else "",
                    )
                )
        MenstrualPeriod.objects.bulk_create(periods, batch_size=2000)
        Assessment.objects.bulk_create(assessments, batch_size=2000)
        answers = {f"ehp30_q{i:02d}": rng.randint(0, 4) for i in range(1, 31)}
        responses = Response.objects.bulk_create(
            (
                Response(
                    assessment=a,
                    instrument_key=key,
                    instrument_version="1.0",
                    instrument_hash="bench",
                    answers=answers if key == "ehp30" else {"vas_dysmenorrhea": 50},
                    # The VAS page's capture times; some devices' clocks are far off.
                    metadata=vas_capture(a.submitted_at, rng) if key != "ehp30" else {},
                    submitted_at=a.submitted_at,
                    submitted_by=a.participant.user,
                    source=ResponseSource.PARTICIPANT_WEB,
                )
                for a in assessments
                if a.status == "submitted"
                for key in ("ehp30", "vas_dysmenorrhea")
            ),
            batch_size=2000,
        )
    # Scored by the real service (batched upserts), as the worker would.
    responses_score(response_ids=[r.pk for r in responses])
    return study, coordinator


EVENTS_PER_PARTICIPANT = 100


def audit_build(study) -> int:
    """About EVENTS_PER_PARTICIPANT audit events per participant, as a real trail holds them:
    logins and logouts, draft saves (some revising answers) and a submission per submitted
    questionnaire, period start and end reports, a few site corrections (the VAS capture times
    are on the responses, from build). Added once (skipped when the study has a trail).
    Returns the number of events written."""
    from django.db import transaction

    from diary.models import Assessment, AuditEvent

    if AuditEvent.objects.filter(study=study).exists():
        return 0
    rng = random.Random(study.pk)
    events = []
    assessments = (
        Assessment.objects.filter(participant__study=study)
        .select_related("participant", "period")
        .order_by("participant_id", "period_number")
    )
    by_participant: dict = {}
    for a in assessments:
        by_participant.setdefault(a.participant, []).append(a)
    for participant, rows in by_participant.items():
        user_id = participant.user_id

        def event(at, action, obj="", details=None, actor=user_id, participant=participant):
            events.append(
                AuditEvent(
                    occurred_at=at,
                    actor_id=actor,
                    actor_label=participant.subject_id,
                    action=action,
                    study=study,
                    participant=participant,
                    object_type="diary.Assessment" if obj else "",
                    object_id=str(obj),
                    details=details or {},
                    unblinded=False,
                )
            )

        written = 0
        for a in rows:
            if a.period is not None:
                event(a.period.start_reported_at, "period_reported", a.period_id, {"started_on": 1})
                event(a.period.end_reported_at, "period_reported", a.period_id, {"ended_on": 1})
                written += 2
            if a.status == "submitted":
                for k in range(8):
                    revised = ["ehp30_q01"] if rng.random() < 0.2 else []
                    at = a.submitted_at - timedelta(minutes=40 - 5 * k)
                    event(at, "draft_saved", a.pk, {"instrument": "ehp30", "revised": revised})
                event(a.submitted_at, "submitted", a.pk, {"period": a.period_number})
                written += 9
                if rng.random() < 0.03:
                    event(a.submitted_at + timedelta(days=3), "corrected", a.pk, actor=None)
                    written += 1
        start = participant.enrolled_at
        for _ in range((EVENTS_PER_PARTICIPANT - written) // 2):
            at = start + timedelta(hours=rng.randint(0, 24 * 200))
            event(at, "login")
            event(at + timedelta(minutes=rng.randint(2, 30)), "logout")
    with transaction.atomic():
        AuditEvent.objects.bulk_create(events, batch_size=5000)
    return len(events)


def statistics_refresh() -> None:
    """VACUUM ANALYZE as the owner after building: what autovacuum does to a live database's
    tables in time (fresh planner statistics, and the visibility map that lets the signals'
    index-only scans skip the table). Measuring right after a bulk load instead measured plans
    made for the empty tables (the signals page at 200 participants: 1.1 s)."""
    import psycopg
    from django.conf import settings

    owner = settings.DATABASE_OWNER or settings.DATABASES["default"]
    with psycopg.connect(
        dbname=owner["NAME"],
        user=owner.get("USER") or None,
        host=owner.get("HOST") or None,
        port=owner.get("PORT") or None,
        password=owner.get("PASSWORD") or None,
        autocommit=True,
    ) as conn:
        conn.execute("VACUUM ANALYZE")


def measure(client, url: str, repeat: int) -> tuple[float, int]:
    """Median server time (seconds) over `repeat` requests, and the page's query count: the
    fewest of any repeat, since a request may also renew the session (once a minute), a
    write that belongs to the login, not to the page."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url, secure=True)  # warm-up: templates, caches
    times, counts = [], []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            response = client.get(url, secure=True)
            times.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
        counts.append(len(ctx.captured_queries))
    return statistics.median(times), min(counts)


TARGET_SECONDS = 1.0


def query_verdict(small: int, large: int) -> str:
    """Whether a page's query count grew with ten times the rows: only more queries is growth."""
    if large > small:
        return "GROWS"
    return "constant" if large == small else "fewer"


# page -> (URL, who asks: the blinded coordinator or the unblinded statistician)
PAGES = {
    "compliance dashboard": ("/admin/diary/participant/compliance/?study={study}", "coordinator"),
    "compliance, period 3": (
        "/admin/diary/participant/compliance/?study={study}&period=3",
        "coordinator",
    ),
    "participant list": ("/admin/diary/participant/", "coordinator"),
    "signals page": ("/admin/signals/?study={study}", "coordinator"),
    "per-arm summary": ("/admin/summary/{code}/", "statistician"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 2000])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    django_setup()
    from django.test import Client

    results: dict[tuple[str, int], tuple[float, int]] = {}
    studies = {}
    for size in args.sizes:
        started = time.perf_counter()
        studies[size] = build(size)
        audit_build(studies[size][0])
        elapsed = time.perf_counter() - started
        print(f"{size} participants x {PERIODS} periods ready in {elapsed:.1f} s")
    statistics_refresh()
    for size in args.sizes:
        study, coordinator = studies[size]
        from django.contrib.auth import get_user_model

        statistician = get_user_model().objects.get(username=f"bench-statistician-{size}")
        clients = {"coordinator": Client(), "statistician": Client()}
        clients["coordinator"].force_login(coordinator)
        clients["statistician"].force_login(statistician)
        for name, (url, who) in PAGES.items():
            results[name, size] = measure(
                clients[who], url.format(study=study.pk, code=study.code), args.repeat
            )
    print(f"\n{'page':<24}{'participants':>13}{'server ms':>11}{'queries':>9}")
    for (name, size), (seconds, queries) in results.items():
        print(f"{name:<24}{size:>13}{seconds * 1000:>11.0f}{queries:>9}")
    small, large = min(args.sizes), max(args.sizes)
    if small != large:
        print(f"\nratios {large} / {small} participants (x{large / small:.0f} rows):")
        for name in PAGES:
            (t_small, q_small), (t_large, q_large) = results[name, small], results[name, large]
            print(
                f"  {name:<22} time x{t_large / t_small:.2f}, queries {q_small} -> {q_large}"
                f" ({query_verdict(q_small, q_large)})"
            )
    print(f"\ntarget: every page under {TARGET_SECONDS:.0f} s warm at {large} participants")
    for name in PAGES:
        seconds = results[name, large][0]
        verdict = "met" if seconds < TARGET_SECONDS else "NOT met"
        print(f"  {name:<22} {seconds * 1000:6.0f} ms: {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
