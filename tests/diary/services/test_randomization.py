"""Storing the concealed list and taking slots at activation."""

import threading
from collections import Counter

import pytest
from django.core.exceptions import ValidationError
from django.db import close_old_connections, connection

from diary.models import (
    Allocation,
    AllocationListMethod,
    AllocationSlot,
    AllocationSource,
    AuditAction,
    AuditEvent,
)
from diary.rules.allocation_lists import ListInvalid
from diary.services.participants import participant_activate, participant_enrol
from diary.services.randomization import (
    allocation_list_generate,
    allocation_list_upload,
    participant_randomize,
)
from tests.conftest import make_participant

pytestmark = pytest.mark.django_db


def enrol(world, subject_id, site=None):
    return participant_enrol(
        study=world.study,
        site=site or world.site1,
        subject_id=subject_id,
        email=f"{subject_id}@example.org",
        actor=world.coordinator1,
    )


def test_upload_stores_the_slots_with_the_file_hash_and_audits(world):
    content = b"slot,sequence,stratum\n1,PA,S01\n2,AP,S01\n1,AP,S02\n"
    allocation_list = allocation_list_upload(
        study=world.study, content=content, actor=world.statistician
    )
    assert allocation_list.method == AllocationListMethod.UPLOADED
    assert allocation_list.stratified_by_site
    assert len(allocation_list.source_sha256) == 64
    assert allocation_list.slots.count() == 3
    event = AuditEvent.objects.get(action=AuditAction.ALLOCATION_UPLOADED)
    assert event.actor == world.statistician
    assert event.details["slots"] == 3


def test_upload_errors_store_nothing(world):
    with pytest.raises(ListInvalid):
        allocation_list_upload(
            study=world.study, content=b"slot,sequence\n1,XY\n", actor=world.statistician
        )
    assert not AllocationSlot.objects.exists()


def test_a_study_has_one_list(world):
    allocation_list_upload(
        study=world.study, content=b"slot,sequence\n1,AP\n", actor=world.statistician
    )
    with pytest.raises(ValidationError, match="already has an allocation list"):
        allocation_list_generate(
            study=world.study,
            block_sizes=[4],
            slots_per_stratum=4,
            stratify_by_site=False,
            actor=world.statistician,
        )


def test_generation_records_the_seed_and_reproduces(world, db):
    first = allocation_list_generate(
        study=world.study,
        block_sizes=[2, 4],
        slots_per_stratum=20,
        stratify_by_site=True,
        actor=world.statistician,
        seed=99,
    )
    assert first.seed == 99 and first.block_sizes == [2, 4] and first.strata == ["S01", "S02"]
    rows = list(first.slots.values_list("stratum", "slot_number", "sequence__code"))
    counts = Counter((stratum, code) for stratum, _, code in rows)
    assert counts[("S01", "AP")] == counts[("S01", "PA")]
    assert counts[("S02", "AP")] == counts[("S02", "PA")]
    assert AuditEvent.objects.filter(action=AuditAction.ALLOCATION_GENERATED).count() == 1


def test_a_seed_is_drawn_and_kept_when_none_is_given(world):
    allocation_list = allocation_list_generate(
        study=world.study,
        block_sizes=[4],
        slots_per_stratum=8,
        stratify_by_site=False,
        actor=world.statistician,
    )
    assert allocation_list.seed is not None


def test_activation_takes_the_next_free_slot_of_her_site(world):
    allocation_list_upload(
        study=world.study,
        content=b"slot,sequence,stratum\n1,PA,S01\n2,AP,S01\n1,AP,S02\n",
        actor=world.statistician,
    )
    first = participant_activate(participant=enrol(world, "S01-101"), actor=None)
    second = participant_activate(participant=enrol(world, "S01-102"), actor=None)
    south = participant_activate(participant=enrol(world, "S02-101", world.site2), actor=None)
    assert (first.allocation.sequence.code, first.allocation.slot_number) == ("PA", 1)
    assert (second.allocation.sequence.code, second.allocation.slot_number) == ("AP", 2)
    assert (south.allocation.sequence.code, south.allocation.slot_number) == ("AP", 1)
    assert first.allocation.source == AllocationSource.UPLOADED_LIST
    assert AllocationSlot.objects.get(stratum="S01", slot_number=1).participant == first
    event = AuditEvent.objects.filter(action=AuditAction.RANDOMIZED, participant=first).get()
    assert "PA" not in str(event.details) and "AP" not in str(event.details)


def test_a_used_up_stratum_does_not_block_activation(world):
    allocation_list_upload(
        study=world.study, content=b"slot,sequence,stratum\n1,AP,S02\n", actor=world.statistician
    )
    participant = participant_activate(participant=enrol(world, "S01-101"), actor=None)
    assert participant.status == "active"
    assert not Allocation.objects.filter(participant=participant).exists()
    with pytest.raises(ValidationError, match="no free slot left for site S01"):
        participant_randomize(participant=participant, actor=world.statistician)


def test_randomize_refuses_an_allocated_participant(world):
    allocation_list_upload(
        study=world.study, content=b"slot,sequence\n1,AP\n", actor=world.statistician
    )
    with pytest.raises(ValidationError, match="already randomized"):
        participant_randomize(participant=world.participant_a, actor=world.statistician)


def test_generated_list_marks_allocations_as_randomizer(world):
    allocation_list_generate(
        study=world.study,
        block_sizes=[2],
        slots_per_stratum=2,
        stratify_by_site=False,
        actor=world.statistician,
        seed=1,
    )
    participant = make_participant(world.study, world.site1, "S01-300")
    assert participant.allocation.source == AllocationSource.RANDOMIZER
    assert participant.allocation.slot_number == 1


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_activations_get_different_slots(world):
    allocation_list_upload(
        study=world.study,
        content=b"slot,sequence\n1,AP\n2,PA\n3,AP\n4,PA\n",
        actor=world.statistician,
    )
    participants = [enrol(world, f"S01-2{i:02d}") for i in range(2)]
    barrier = threading.Barrier(2)
    errors = []

    def activate(participant):
        try:
            barrier.wait()
            participant_activate(participant=participant, actor=None)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=activate, args=(p,)) for p in participants]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    close_old_connections()
    assert errors == []
    slots = sorted(
        Allocation.objects.filter(participant__in=participants).values_list(
            "slot_number", flat=True
        )
    )
    assert slots == [1, 2]
