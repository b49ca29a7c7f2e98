"""Reads for scoring: which responses need a score, and which instrument wording to show."""

from __future__ import annotations

import time

from django.db.models import Exists, OuterRef, QuerySet

from diary.models import Response, Study
from scoring.definitions import (
    DefinitionError,
    Instrument,
    InstrumentNotFound,
    instrument_get,
    instrument_with_wording,
    translation_get,
    translation_of,
)
from scoring.engine import ALGORITHM_VERSION
from scoring.models import InstrumentVersion, Score


def responses_needing_score(
    *, study: Study | None = None, instrument_key: str | None = None
) -> QuerySet[Response]:
    """Responses with no Score under the current ALGORITHM_VERSION and the study's current
    missing-item rule: never scored (broker down, worker died), scored by an older algorithm,
    or scored before the study changed its rule. Ordered by id."""
    current = Score.objects.filter(
        response=OuterRef("pk"),
        algorithm_version=ALGORITHM_VERSION,
        missing_rule=OuterRef("assessment__participant__study__missing_item_rule"),
    )
    return responses_filtered(study=study, instrument_key=instrument_key).filter(~Exists(current))


def responses_filtered(
    *, study: Study | None = None, instrument_key: str | None = None
) -> QuerySet[Response]:
    responses = Response.objects.order_by("pk")
    if study is not None:
        responses = responses.filter(assessment__participant__study=study)
    if instrument_key is not None:
        responses = responses.filter(instrument_key=instrument_key)
    return responses


# Stored versions are frozen (a trigger rejects UPDATE and DELETE), so a rebuilt Instrument can
# be kept for the life of the process; keyed by the hash too, in case ids are ever reused.
_rebuilt: dict[tuple[int, str], Instrument] = {}


def instrument_of_stored(stored: InstrumentVersion) -> Instrument:
    """The Instrument a stored licensed version describes, rebuilt from its structure file and
    wording. Raises DefinitionError when it no longer hashes to what was loaded (the structure
    file was edited after release: a frozen version must never change)."""
    cache_key = (stored.pk, stored.content_hash)
    if cache_key not in _rebuilt:
        structure = instrument_get(stored.key, stored.structure_version)
        instrument = instrument_with_wording(
            structure, stored.wording, version=stored.version, language=stored.language
        )
        if instrument.content_hash != stored.content_hash:
            raise DefinitionError(
                [f"{stored}: rebuilt content hash differs from the one stored at load time"]
            )
        _rebuilt[cache_key] = instrument
    return _rebuilt[cache_key]


# Which licensed versions exist, per instrument key: read once, then at most STORED_TTL seconds
# old (loading a version clears it in the loading process; other processes see it within a
# minute). Saves the lookups on every questionnaire page and submission.
STORED_TTL = 60.0
_stored: dict[str, tuple[float, list[InstrumentVersion]]] = {}


def stored_versions_forget() -> None:
    _stored.clear()


def _stored_for(key: str) -> list[InstrumentVersion]:
    now = time.monotonic()
    cached = _stored.get(key)
    if cached is None or cached[0] < now:
        rows = list(InstrumentVersion.objects.filter(key=key).order_by("-loaded_at", "-pk"))
        cached = (now + STORED_TTL, rows)
        _stored[key] = cached
    return cached[1]


def instrument_for(*, key: str, language: str) -> Instrument:
    """The instrument to show a participant who reads `language`.

    Preference: the newest licensed version loaded for exactly that language (e.g. "da-DK"),
    then for the same primary language ("da" matches "da-DK" and the reverse), then the
    project's own translation shipped for it (the VAS in Danish, version "1.0-da"), then the
    repository's structure with its own labels (demo labels when Instrument.demo is True: never
    show them in a production study). Raises InstrumentNotFound for an unknown key.
    """
    stored = _stored_for(key)
    primary = language.split("-")[0].lower()
    chosen = next((row for row in stored if row.language.lower() == language.lower()), None)
    if chosen is None:
        chosen = next(
            (row for row in stored if row.language.split("-")[0].lower() == primary), None
        )
    if chosen is None:
        return translation_get(key, language) or instrument_get(key)
    return instrument_of_stored(chosen)


def instrument_answered(*, key: str, version: str, content_hash: str) -> Instrument:
    """The instrument as a response was answered: the shipped version, or the licensed version
    loaded for it (matched by version and content hash, so a translation sharing a version
    name is not mistaken for it), with the labels the participant read.

    Reads the stored versions through the same per-process list as instrument_for: no query per
    response. A response whose wording is not found (a hash no version has) is shown with its
    structure's labels. Raises InstrumentNotFound for an unknown key or version."""
    try:
        shipped = instrument_get(key, version)
    except InstrumentNotFound:
        shipped = None
    if shipped is not None and shipped.content_hash == content_hash:
        return shipped
    translated = translation_of(key, version)
    if translated is not None and translated[1].content_hash == content_hash:
        return translated[1]
    for stored in _stored_for(key):
        if stored.version == version and stored.content_hash == content_hash:
            return instrument_of_stored(stored)
    return shipped or structure_for(key=key, version=version)


def structure_for(*, key: str, version: str) -> Instrument:
    """The structure that scores responses stored under instrument `key` and `version`: a shipped
    version itself, or the structure a stored licensed version was built on (scoring depends on
    the structure only). Raises InstrumentNotFound."""
    try:
        return instrument_get(key, version)
    except InstrumentNotFound:
        translated = translation_of(key, version)
        if translated is not None:
            return instrument_get(key, translated[0])
        stored = InstrumentVersion.objects.filter(key=key, version=version).first()
        if stored is None:
            raise
        return instrument_get(key, stored.structure_version)
