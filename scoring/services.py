"""Scoring writes: scoring stored responses into Score rows, queueing that work, and storing
licensed instrument wording.

Scores are derived data: every function here can run twice, concurrently or after a crash, and
leaves the same rows (upserts on the unique (response, scale, algorithm version)).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerUnreachable

from diary.models import AuditAction, Response, Study
from diary.services.audit import audit_record
from scoring import tasks  # the usual Celery pair: the tasks call these services back
from scoring.definitions import AnswersInvalid, Instrument, InstrumentNotFound
from scoring.engine import ALGORITHM_VERSION, decimal_exact, scores_compute
from scoring.models import InstrumentVersion, Score
from scoring.selectors import (
    responses_filtered,
    responses_needing_score,
    stored_versions_forget,
    structure_for,
)

logger = logging.getLogger(__name__)

# Responses read and scores written per transaction: one SELECT and one multi-row upsert per
# batch, whatever the number of scales.
BATCH_SIZE = 2000
# Responses the periodic sweep scores per run; a backlog larger than this (e.g. after a new
# algorithm version) is cleared over several runs, or at once with `manage.py rescore`.
SWEEP_LIMIT = 20_000

_SCORE_UPDATE_FIELDS = [
    "value",
    "items_answered",
    "items_in_scale",
    "applicable",
    "missing_rule",
    "instrument_key",
    "instrument_version",
    "instrument_hash",
    "scored_at",
]


@dataclass(frozen=True)
class ScoringTally:
    """What a scoring run did. `failed` lists responses that could not be scored (their stored
    answers no longer validate against their instrument: logged as errors, never guessed)."""

    responses: int = 0
    scores: int = 0
    failed: tuple[int, ...] = ()

    def __add__(self, other: ScoringTally) -> ScoringTally:
        return ScoringTally(
            self.responses + other.responses, self.scores + other.scores, self.failed + other.failed
        )


def modules_answered(instrument: Instrument, answers: dict[str, Any]) -> tuple[str, ...]:
    """The modules a stored response collected. Validated answers hold every variable of each
    collected module, gate included, so this reads them from the answers themselves: a score is
    rebuilt from the raw answers alone, whatever the study's module setting says today."""
    return tuple(module.key for module in instrument.modules if module.gate in answers)


def _batch_score(response_ids: Sequence[int], now: datetime) -> ScoringTally:
    rows = Response.objects.filter(pk__in=response_ids).values_list(
        "pk",
        "instrument_key",
        "instrument_version",
        "instrument_hash",
        "answers",
        "assessment__participant__study__missing_item_rule",
    )
    structures: dict[tuple[str, str], Instrument] = {}
    scores: list[Score] = []
    responses, failed = 0, []
    for pk, key, version, content_hash, answers, rule in rows:
        try:
            if (key, version) not in structures:
                structures[key, version] = structure_for(key=key, version=version)
            instrument = structures[key, version]
            computed = scores_compute(
                instrument, answers, rule=rule, modules=modules_answered(instrument, answers)
            )
        except (AnswersInvalid, InstrumentNotFound) as exc:
            logger.error("response %s cannot be scored: %s", pk, exc)
            failed.append(pk)
            continue
        responses += 1
        scores += [
            Score(
                response_id=pk,
                scale=scale.scale,
                algorithm_version=ALGORITHM_VERSION,
                value=None if scale.value is None else decimal_exact(scale.value),
                items_answered=scale.items_answered,
                items_in_scale=scale.items_in_scale,
                applicable=scale.applicable,
                missing_rule=rule,
                instrument_key=key,
                instrument_version=version,
                instrument_hash=content_hash,
                scored_at=now,
            )
            for scale in computed
        ]
    Score.objects.bulk_create(
        scores,
        update_conflicts=True,
        unique_fields=["response", "scale", "algorithm_version"],
        update_fields=_SCORE_UPDATE_FIELDS,
        batch_size=BATCH_SIZE * 3,
    )
    return ScoringTally(responses, len(scores), tuple(failed))


def responses_score(*, response_ids: Iterable[int], now: datetime | None = None) -> ScoringTally:
    """Score these responses under the current ALGORITHM_VERSION with their study's
    missing-item rule, upserting one Score per scale: running it twice leaves the same rows.

    Works in batches of BATCH_SIZE, each its own transaction, so a rescore of the whole
    database does not hold one huge transaction. Ids that do not exist (a message that outlived
    its test database, say) are ignored.
    """
    now = now or timezone.now()
    ids = list(response_ids)
    tally = ScoringTally()
    for start in range(0, len(ids), BATCH_SIZE):
        with transaction.atomic():
            tally += _batch_score(ids[start : start + BATCH_SIZE], now)
    return tally


def response_score(*, response_id: int, now: datetime | None = None) -> ScoringTally:
    """Score one response (see responses_score)."""
    return responses_score(response_ids=[response_id], now=now)


def scoring_sweep(*, limit: int = SWEEP_LIMIT, now: datetime | None = None) -> ScoringTally:
    """Score up to `limit` responses that have no score under the current algorithm and rule:
    those whose task was never queued (broker down at submit) or was lost."""
    ids = list(responses_needing_score().values_list("pk", flat=True)[:limit])
    tally = responses_score(response_ids=ids, now=now)
    if ids:
        logger.info("scoring sweep: %s scored, %s failed", tally.responses, len(tally.failed))
    return tally


def responses_rescore(
    *,
    actor: AbstractBaseUser | None,
    study: Study | None = None,
    instrument_key: str | None = None,
    everything: bool = False,
    now: datetime | None = None,
) -> ScoringTally:
    """Score the responses (of `study`, of `instrument_key`) that need it, or all of them when
    `everything`, and write one RESCORED audit event with the filters and counts."""
    now = now or timezone.now()
    if everything:
        responses = responses_filtered(study=study, instrument_key=instrument_key)
    else:
        responses = responses_needing_score(study=study, instrument_key=instrument_key)
    tally = responses_score(response_ids=responses.values_list("pk", flat=True), now=now)
    audit_record(
        action=AuditAction.RESCORED,
        actor=actor,
        study=study,
        occurred_at=now,
        details={
            "algorithm_version": ALGORITHM_VERSION,
            "instrument": instrument_key,
            "all": everything,
            "responses": tally.responses,
            "scores": tally.scores,
            "failed": list(tally.failed),
        },
    )
    return tally


def response_score_queue(*, response_ids: Iterable[int]) -> int:
    """Publish one response_score_task for these responses (a submission's, or a correction's);
    returns how many responses it queued.

    Called from transaction.on_commit. One message per submission rather than per response: a
    publish costs about as much as a database round trip. When the broker cannot be reached
    (after the publish retry policy in settings) it logs a warning and returns 0 without
    raising: the answers are already committed, and the periodic sweep scores them later.
    """
    ids = list(response_ids)
    if not ids:
        return 0
    try:
        tasks.response_score_task.delay(*ids)
    except (BrokerUnreachable, OSError) as exc:
        logger.warning("broker unreachable, responses %s left for the scoring sweep: %s", ids, exc)
        return 0
    return len(ids)


@transaction.atomic
def instrument_version_store(
    *,
    instrument: Instrument,
    structure: Instrument,
    wording: dict[str, Any],
    source_name: str,
    actor: AbstractBaseUser | None,
    now: datetime | None = None,
) -> InstrumentVersion:
    """Store licensed wording already applied to `structure` (scoring.definitions.
    instrument_with_wording) as a frozen instrument version, and audit it.

    Raises ValueError when the key, version and language are already stored, or when the version
    name is a shipped structure version; nothing is stored then.
    """
    now = now or timezone.now()
    duplicate = InstrumentVersion.objects.filter(
        key=instrument.key, version=instrument.version, language=instrument.language
    ).exists()
    if duplicate:
        raise ValueError(
            f"{instrument.key} version {instrument.version} ({instrument.language}) is already "
            "stored; a released version is frozen, load the file under a new version"
        )
    try:
        structure_for(key=instrument.key, version=instrument.version)
    except InstrumentNotFound:
        pass
    else:
        clash = InstrumentVersion.objects.filter(key=instrument.key, version=instrument.version)
        if not clash.filter(structure_version=structure.version).exists():
            raise ValueError(
                f"{instrument.key} version {instrument.version} already names another "
                "structure; choose a new version"
            )
    stored = InstrumentVersion.objects.create(
        key=instrument.key,
        version=instrument.version,
        language=instrument.language,
        structure_version=structure.version,
        structure_hash=structure.content_hash,
        wording=wording,
        content_hash=instrument.content_hash,
        source_name=source_name,
        loaded_at=now,
        loaded_by=actor,
    )
    # This process shows it at once (and again after commit); others within STORED_TTL.
    stored_versions_forget()
    transaction.on_commit(stored_versions_forget)
    audit_record(
        action=AuditAction.INSTRUMENT_LOADED,
        actor=actor,
        obj=stored,
        occurred_at=now,
        details={
            "key": stored.key,
            "version": stored.version,
            "language": stored.language,
            "structure_version": stored.structure_version,
            "content_hash": stored.content_hash,
            "source": source_name,
        },
    )
    return stored
