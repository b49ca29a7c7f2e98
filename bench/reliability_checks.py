"""What the database must hold after bench_reliability's simulated participants: each accepted
submission stored exactly once, and each of its responses scored exactly once per scale."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True)
class Stored:
    submitted: int  # assessments submitted, of those the phase sent
    not_accepted: int  # submitted, but no client saw it accepted
    accepted_not_stored: int  # a client saw it accepted, not submitted in the database
    responses: int
    duplicate_responses: int  # more than one original response per assessment and instrument
    incomplete: int  # submitted assessments without a response for every instrument

    @property
    def ok(self) -> bool:
        return not (
            self.not_accepted
            or self.accepted_not_stored
            or self.duplicate_responses
            or self.incomplete
        )

    def line(self) -> str:
        return (
            f"  stored: {self.submitted} submitted, {self.responses} responses; accepted but "
            f"not stored {self.accepted_not_stored}, stored but not accepted "
            f"{self.not_accepted}, duplicate responses {self.duplicate_responses}, incomplete "
            f"{self.incomplete}"
        )


def stored_check(*, study_id: int, sent: set[int], accepted: set[int]) -> Stored:
    """Compare what clients saw accepted with what the database holds for the questionnaires
    they submitted (`sent`)."""
    from django.db.models import Count

    from diary.models import Assessment, AssessmentStatus, Response, Study

    instruments = len(Study.objects.get(pk=study_id).instruments)
    submitted = set(
        Assessment.objects.filter(pk__in=sent, status=AssessmentStatus.SUBMITTED).values_list(
            "pk", flat=True
        )
    )
    per_instrument = (
        Response.objects.filter(assessment__in=sent, supersedes__isnull=True)
        .values("assessment", "instrument_key")
        .annotate(n=Count("pk"))
    )
    duplicates = sum(row["n"] - 1 for row in per_instrument if row["n"] > 1)
    instruments_per_assessment = Counter(row["assessment"] for row in per_instrument)
    incomplete = sum(instruments_per_assessment[pk] != instruments for pk in submitted)
    return Stored(
        submitted=len(submitted),
        not_accepted=len(submitted - accepted),
        accepted_not_stored=len(accepted - submitted),
        responses=Response.objects.filter(assessment__in=sent).count(),
        duplicate_responses=duplicates,
        incomplete=incomplete,
    )


@dataclass(frozen=True)
class Scored:
    responses: int
    scored: int  # responses with every scale scored exactly once
    missing: int  # responses with fewer scores than scales
    duplicates: int  # (response, scale) pairs stored more than once
    drain_seconds: float

    @property
    def ok(self) -> bool:
        return self.scored == self.responses and not self.missing and not self.duplicates

    def line(self) -> str:
        return (
            f"  scored: {self.scored} of {self.responses} responses, missing {self.missing}, "
            f"duplicate scores {self.duplicates}, time to drain {self.drain_seconds:.1f} s"
        )


def _scales_expected() -> dict[str, int]:
    """Scales per instrument as the study collects them (no optional modules)."""
    from scoring.definitions import instrument_get

    return {key: len(instrument_get(key).scales_for(())) for key in ("ehp30", "vas_dysmenorrhea")}


def scored_count(accepted: set[int]) -> Scored:
    from django.db.models import Count, Q

    from diary.models import Response
    from scoring.engine import ALGORITHM_VERSION

    expected = _scales_expected()
    rows = (
        Response.objects.filter(assessment__in=accepted)
        .values_list("pk", "instrument_key")
        .annotate(
            n=Count("scores", filter=Q(scores__algorithm_version=ALGORITHM_VERSION)),
            scales=Count(
                "scores__scale",
                distinct=True,
                filter=Q(scores__algorithm_version=ALGORITHM_VERSION),
            ),
        )
    )
    responses = scored = missing = duplicates = 0
    for _, key, n, scales in rows:
        responses += 1
        duplicates += n - scales
        scored += n == scales == expected[key]
        missing += scales < expected[key]
    return Scored(responses, scored, missing, duplicates, 0.0)


def scores_wait(accepted: set[int], *, timeout: float) -> Scored:
    """Wait (bounded) until every response of `accepted` questionnaires is scored."""
    began = time.monotonic()
    while True:
        result = scored_count(accepted)
        if result.ok or time.monotonic() - began > timeout:
            return Scored(
                result.responses,
                result.scored,
                result.missing,
                result.duplicates,
                time.monotonic() - began,
            )
        time.sleep(0.25)
