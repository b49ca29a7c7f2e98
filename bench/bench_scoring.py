"""Rescoring stored responses through the service, database writes included, against the pure
engine alone on the same answers, both measured in this run.

    python -m bench scoring [--responses 100000] [--seed 1]

Target (issue #3): 100,000 responses through the service in under 2 minutes on a 2-core
machine. The responses are inserted in bulk first (half EHP-30, half VAS, a few unanswered items
and some scales too incomplete to score); every database trigger production has stays on.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import timedelta

from bench.django_setup import django_setup

TARGET_SECONDS_PER_100K = 120.0
PERIODS = 50  # assessments per participant: fewer participant rows for the same responses


def responses_create(total: int, rng: random.Random) -> int:
    """Insert `total` submitted responses in bulk; returns the study id."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from diary.models import (
        Assessment,
        AssessmentStatus,
        Participant,
        ParticipantStatus,
        Response,
        ResponseSource,
        Site,
        Study,
    )
    from scoring.definitions import instrument_get

    ehp30, vas = instrument_get("ehp30"), instrument_get("vas_dysmenorrhea")
    items = ehp30.item_keys()
    now = timezone.now()
    study = Study.objects.create(
        code="BENCH",
        name="Scoring benchmark",
        number_of_periods=PERIODS,
        periods_per_block=PERIODS // 2,
        instruments=["ehp30", "vas_dysmenorrhea"],
    )
    site = Site.objects.create(study=study, code="S01", name="Benchmark site")
    submitter = get_user_model().objects.create_user(username="bench-submitter")
    assessments_needed = (total + 1) // 2
    participants = Participant.objects.bulk_create(
        Participant(
            study=study,
            site=site,
            subject_id=f"S01-{number:05d}",
            time_zone="Europe/Copenhagen",
            status=ParticipantStatus.ACTIVE,
            enrolled_at=now - timedelta(days=400),
            activated_at=now - timedelta(days=400),
        )
        for number in range(1, (assessments_needed + PERIODS - 1) // PERIODS + 1)
    )
    assessments = Assessment.objects.bulk_create(
        (
            Assessment(
                participant=participant,
                period_number=period,
                status=AssessmentStatus.SUBMITTED,
                opens_at=now - timedelta(days=10),
                closes_at=now - timedelta(days=3),
                submitted_at=now - timedelta(days=5),
            )
            for participant in participants
            for period in range(1, PERIODS + 1)
        ),
        batch_size=5000,
    )[:assessments_needed]

    def answers() -> dict[str, int | None]:
        severity = rng.uniform(0.5, 3.5)
        missing = rng.choice([0.0, 0.0, 0.03, 0.6])  # now and then too few answers to score
        return {
            key: None if rng.random() < missing else max(0, min(4, round(rng.gauss(severity, 1))))
            for key in items
        }

    def response(assessment: Assessment, instrument, values: dict) -> Response:
        return Response(
            assessment=assessment,
            instrument_key=instrument.key,
            instrument_version=instrument.version,
            instrument_hash=instrument.content_hash,
            answers=values,
            submitted_at=now - timedelta(days=5),
            submitted_by=submitter,
            source=ResponseSource.PARTICIPANT_WEB,
        )

    batch: list[Response] = []
    created = 0
    for assessment in assessments:
        batch.append(response(assessment, ehp30, answers()))
        if created + len(batch) < total:
            batch.append(response(assessment, vas, {"vas_dysmenorrhea": rng.randint(0, 100)}))
        if len(batch) >= 5000:
            Response.objects.bulk_create(batch)
            created, batch = created + len(batch), []
    Response.objects.bulk_create(batch)
    return study.pk


def engine_time(study_id: int) -> tuple[float, int]:
    """Seconds for the pure engine (scores_compute, then the 4-decimal value the service stores)
    over every response of the study, answers already in memory."""
    from diary.models import Response
    from scoring.definitions import instrument_get
    from scoring.engine import decimal_exact, scores_compute
    from scoring.services import modules_answered

    rows = list(
        Response.objects.filter(assessment__participant__study_id=study_id).values_list(
            "instrument_key", "instrument_version", "answers"
        )
    )
    structures = {key: instrument_get(key) for key in {row[0] for row in rows}}
    start = time.perf_counter()
    scores = 0
    for key, _version, answers in rows:
        instrument = structures[key]
        for score in scores_compute(
            instrument, answers, rule="half", modules=modules_answered(instrument, answers)
        ):
            if score.value is not None:
                decimal_exact(score.value)
            scores += 1
    return time.perf_counter() - start, scores


def service_time(study_id: int) -> tuple[float, int, int]:
    """Seconds for `manage.py rescore --all`'s service over the study: ids, reads, engine,
    batched upserts and the audit event."""
    from diary.models import Study
    from scoring.services import responses_rescore

    start = time.perf_counter()
    tally = responses_rescore(actor=None, study=Study.objects.get(pk=study_id), everything=True)
    return time.perf_counter() - start, tally.responses, tally.scores


def rate(count: int, seconds: float) -> str:
    return f"{count:>7} responses in {seconds:7.2f} s = {count / seconds:9.0f} responses/s"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench scoring", description=__doc__)
    parser.add_argument("--responses", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # progress shows as it happens, even in a pipe
    if args.responses < 2:
        parser.error("--responses: at least 2")

    teardown = django_setup()
    try:
        from django.db import connection

        started = time.perf_counter()
        study_id = responses_create(args.responses, random.Random(args.seed))
        print(
            f"setup: {args.responses} responses inserted in bulk in "
            f"{time.perf_counter() - started:.1f} s (PostgreSQL "
            f"{connection.pg_version // 10000}, database {connection.settings_dict['NAME']})"
        )
        engine_seconds, engine_scores = engine_time(study_id)
        first_seconds, first_responses, first_scores = service_time(study_id)
        again_seconds, again_responses, _ = service_time(study_id)
    finally:
        teardown()

    target = TARGET_SECONDS_PER_100K * args.responses / 100_000
    slowest = max(first_seconds, again_seconds)
    print(f"pure engine alone:           {rate(args.responses, engine_seconds)}")
    print(
        f"service, first scoring:      {rate(first_responses, first_seconds)}  "
        f"({first_scores} scores inserted; {first_seconds / engine_seconds:.1f}x the engine)"
    )
    print(
        f"service, rescore (upsert):   {rate(again_responses, again_seconds)}  "
        f"({again_seconds / engine_seconds:.1f}x the engine)"
    )
    assert first_scores == engine_scores, "the service and the engine scored different scales"
    met = "met" if slowest < target else "NOT met"
    print(
        f"target: {args.responses} responses through the service in under {target:.0f} s: "
        f"{met} (slowest pass {slowest:.1f} s)"
    )
    return 0 if slowest < target else 1
