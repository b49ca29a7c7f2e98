"""`manage.py load_instrument_text`: licensed wording stored as a new, frozen version; a file
that does not fit the structure is refused with every problem listed, and nothing is stored."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import ProgrammingError

from diary.models import AuditAction, AuditEvent, Response, ResponseSource
from scoring.definitions import DefinitionError, instrument_get
from scoring.models import InstrumentVersion, Score
from scoring.selectors import instrument_for
from scoring.services import response_score
from tests.scoring.submitting import assessment_open, ehp30_answers

pytestmark = pytest.mark.django_db

EHP30 = instrument_get("ehp30", "1.0")


def wording_toml(*, language: str = "en-GB", skip: str = "", extra_item: str = "") -> str:
    """A complete wording file for the EHP-30 structure (every item, module and gate)."""
    lines = [
        'instrument = "ehp30"',
        f'language = "{language}"',
        'title = "Endometriosis Health Profile-30 (licensed)"',
        'stem = "Licensed stem"',
        "[codes]",
        *(f'{code.value} = "Licensed code {code.value}"' for code in EHP30.codes),
        "[gate_codes]",
        *(f'{code.value} = "Licensed gate {code.value}"' for code in EHP30.gate_codes),
    ]
    for item in EHP30.items:
        if item.key != skip:
            lines += [f"[items.{item.key}]", f'text = "Licensed {item.key}"']
    if extra_item:
        lines += [f"[items.{extra_item}]", 'text = "Not in the structure"']
    return "\n".join(lines) + "\n"


def load(path: Path, *args: str) -> str:
    out = StringIO()
    call_command("load_instrument_text", str(path), *args, stdout=out)
    return out.getvalue()


def test_licensed_wording_is_stored_as_a_new_version_and_shown(world, tmp_path):
    path = tmp_path / "ehp30-oui-en-GB.toml"
    path.write_text(wording_toml())
    out = load(path, "--version", "1.0-oui", "--user", "admin")

    stored = InstrumentVersion.objects.get()
    assert (stored.key, stored.version, stored.language) == ("ehp30", "1.0-oui", "en-GB")
    assert (stored.structure_version, stored.structure_hash) == ("1.0", EHP30.content_hash)
    assert stored.source_name == "ehp30-oui-en-GB.toml"
    assert stored.loaded_by == world.admin
    assert f"content hash {stored.content_hash}" in out

    shown = instrument_for(key="ehp30", language="en-GB")
    assert shown.demo is False
    assert (shown.version, shown.content_hash) == ("1.0-oui", stored.content_hash)
    assert shown.item("ehp30_q01").label == "Licensed ehp30_q01"
    assert shown.stem == "Licensed stem"
    # Same structure: same items, scales and codes as the shipped definition.
    assert shown.item_keys() == EHP30.item_keys()

    event = AuditEvent.objects.get(action=AuditAction.INSTRUMENT_LOADED)
    assert event.actor == world.admin
    assert event.details["content_hash"] == stored.content_hash


def test_a_response_stored_under_the_licensed_version_is_scored_by_its_structure(world, tmp_path):
    path = tmp_path / "wording.toml"
    path.write_text(wording_toml())
    load(path, "--version", "1.0-oui")
    licensed = instrument_for(key="ehp30", language="en-GB")
    response = Response.objects.create(
        assessment=assessment_open(world.participant_a),
        instrument_key="ehp30",
        instrument_version=licensed.version,
        instrument_hash=licensed.content_hash,
        answers=ehp30_answers(pain=[4] * 11),
        submitted_at=world.participant_a.enrolled_at,
        submitted_by=world.coordinator1,
        source=ResponseSource.SITE_TRANSCRIPTION,
        reason="Paper form transcribed",
    )
    assert response_score(response_id=response.pk).scores == 5
    pain = Score.objects.get(response=response, scale="pain")
    assert (pain.value, pain.instrument_version) == (100, "1.0-oui")


def test_a_file_that_does_not_fit_is_refused_with_every_problem_and_nothing_stored(world, tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text(
        wording_toml(skip="ehp30_q17", extra_item="ehp30_q31").replace(
            '4 = "Licensed code 4"\n', ""
        )
    )
    with pytest.raises(CommandError) as refused:
        load(path, "--version", "1.0-oui")
    message = str(refused.value)
    assert "broken.toml was refused; nothing was stored" in message
    assert "  1. codes: 4 labels for 5 codes" in message
    assert "items.ehp30_q17: missing text" in message
    assert "items.ehp30_q31: unknown item" in message
    assert not InstrumentVersion.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.INSTRUMENT_LOADED).exists()


def test_invalid_toml_and_unknown_instrument_are_refused(world, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("instrument = \n")
    with pytest.raises(CommandError, match="not valid TOML"):
        load(path, "--version", "1.0-oui")
    path.write_text(wording_toml().replace('instrument = "ehp30"', 'instrument = "sf36"'))
    with pytest.raises(CommandError, match="no instrument sf36"):
        load(path, "--version", "1.0-oui")
    assert not InstrumentVersion.objects.exists()


def test_a_stored_version_cannot_be_loaded_again_or_changed(world, tmp_path):
    path = tmp_path / "wording.toml"
    path.write_text(wording_toml())
    load(path, "--version", "1.0-oui")
    path.write_text(wording_toml().replace("Licensed ehp30_q01", "Edited ehp30_q01"))
    with pytest.raises(CommandError, match="already stored; a released version is frozen"):
        load(path, "--version", "1.0-oui")
    assert InstrumentVersion.objects.count() == 1
    # Frozen for the application role by its privileges, and by the guards for the owner.
    with pytest.raises(ProgrammingError, match="permission denied for table scoring_instrument"):
        InstrumentVersion.objects.update(source_name="edited.toml")


def test_a_translation_is_chosen_by_language_and_demo_is_the_fallback(world, tmp_path):
    path = tmp_path / "da.toml"
    path.write_text(wording_toml(language="da-DK"))
    load(path, "--version", "1.0-oui-da")
    assert instrument_for(key="ehp30", language="da-DK").version == "1.0-oui-da"
    assert instrument_for(key="ehp30", language="da").version == "1.0-oui-da"
    fallback = instrument_for(key="ehp30", language="en")
    assert (fallback.version, fallback.demo) == ("1.0", True)


def test_the_shipped_structure_version_cannot_be_reused(world, tmp_path):
    path = tmp_path / "wording.toml"
    path.write_text(wording_toml())
    with pytest.raises(CommandError, match="structure's own version"):
        load(path, "--version", "1.0")
    assert not InstrumentVersion.objects.exists()


def test_a_stored_version_that_no_longer_rebuilds_to_its_hash_is_refused(world, tmp_path):
    path = tmp_path / "wording.toml"
    path.write_text(wording_toml())
    load(path, "--version", "1.0-oui")
    stored = InstrumentVersion.objects.get()
    # As if the structure file had been edited after release: the rebuilt hash differs.
    InstrumentVersion.objects.create(
        key=stored.key,
        version="1.0-tampered",
        language="en-GB",
        structure_version=stored.structure_version,
        structure_hash=stored.structure_hash,
        wording=stored.wording,
        content_hash=stored.content_hash,
        source_name="wording.toml",
    )
    with pytest.raises(DefinitionError, match="rebuilt content hash differs"):
        instrument_for(key="ehp30", language="en-GB")
