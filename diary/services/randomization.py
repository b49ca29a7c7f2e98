"""The concealed allocation list: upload, generation, and taking a slot at randomization.

Everything here is for unblinded users; callers check that. Audit events say that a list was
stored or a participant randomized, never which sequence anyone got.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from diary.models import (
    Allocation,
    AllocationList,
    AllocationListMethod,
    AllocationSlot,
    AllocationSource,
    AuditAction,
    Participant,
    ParticipantStatus,
    Sequence,
    Study,
)
from diary.rules.allocation_lists import ListInvalid, Slot, allocation_csv_parse, permuted_blocks
from diary.services.audit import audit_record
from diary.services.study_lock import CHANGE, study_lock_check_id


@transaction.atomic
def allocation_assign(
    *,
    participant: Participant,
    sequence: Sequence,
    source: AllocationSource,
    actor: AbstractBaseUser | None,
    slot_number: int | None = None,
    now: datetime | None = None,
) -> Allocation:
    """Give a participant her sequence. One allocation per participant (database-enforced)."""
    now = now or timezone.now()
    if sequence.study_id != participant.study_id:
        raise ValidationError("The sequence belongs to another study.")
    study_lock_check_id(participant.study_id, CHANGE)
    allocation = Allocation.objects.create(
        participant=participant,
        sequence=sequence,
        source=source,
        slot_number=slot_number,
        allocated_at=now,
        allocated_by=actor if actor is not None and actor.is_authenticated else None,
    )
    # The event says that randomization happened, never to what: blinded staff read the trail.
    audit_record(
        action=AuditAction.RANDOMIZED,
        actor=actor,
        participant=participant,
        occurred_at=now,
        details={"source": source},
    )
    return allocation


class NoFreeSlot(ValidationError):
    """The list has no unused slot left for the participant's stratum."""


def _list_store(
    *, study: Study, slots: list[Slot], actor: AbstractBaseUser, now: datetime, **fields
) -> AllocationList:
    if AllocationList.objects.filter(study=study).exists():
        raise ValidationError("This study already has an allocation list.")
    sequences = {s.code: s for s in study.sequences.all()}
    allocation_list = AllocationList.objects.create(
        study=study,
        stratified_by_site=any(s.stratum for s in slots),
        strata=sorted({s.stratum for s in slots if s.stratum}),
        created_at=now,
        created_by=actor,
        **fields,
    )
    AllocationSlot.objects.bulk_create(
        AllocationSlot(
            allocation_list=allocation_list,
            stratum=s.stratum,
            slot_number=s.slot_number,
            sequence=sequences[s.sequence_code],
        )
        for s in slots
    )
    return allocation_list


@transaction.atomic
def allocation_list_upload(
    *, study: Study, content: bytes, actor: AbstractBaseUser, now: datetime | None = None
) -> AllocationList:
    """Store an uploaded CSV list (format: diary.rules.allocation_lists.allocation_csv_parse).

    Raises ListInvalid with line-numbered errors, or ValidationError when the study has a list.
    """
    now = now or timezone.now()
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ListInvalid(["the file is not UTF-8 text"]) from exc
    slots = allocation_csv_parse(
        text,
        sequence_codes=study.sequences.values_list("code", flat=True),
        site_codes=study.sites.values_list("code", flat=True),
    )
    sha256 = hashlib.sha256(content).hexdigest()
    allocation_list = _list_store(
        study=study,
        slots=slots,
        actor=actor,
        now=now,
        method=AllocationListMethod.UPLOADED,
        source_sha256=sha256,
    )
    audit_record(
        action=AuditAction.ALLOCATION_UPLOADED,
        actor=actor,
        study=study,
        obj=allocation_list,
        occurred_at=now,
        details={"slots": len(slots), "sha256": sha256},
    )
    return allocation_list


@transaction.atomic
def allocation_list_generate(
    *,
    study: Study,
    block_sizes: list[int],
    slots_per_stratum: int,
    stratify_by_site: bool,
    actor: AbstractBaseUser,
    seed: int | None = None,
    now: datetime | None = None,
) -> AllocationList:
    """Generate and store a permuted-block list; a seed is drawn when none is given and
    recorded either way, so the same call reproduces the list."""
    now = now or timezone.now()
    seed = seed if seed is not None else secrets.randbelow(2**62)
    codes = list(study.sequences.values_list("code", flat=True))
    if len(codes) < 2:
        raise ValidationError("The study needs at least two sequences to randomize.")
    strata = list(study.sites.values_list("code", flat=True)) if stratify_by_site else [""]
    slots = permuted_blocks(
        sequence_codes=codes,
        block_sizes=block_sizes,
        strata=strata,
        slots_per_stratum=slots_per_stratum,
        seed=seed,
    )
    allocation_list = _list_store(
        study=study,
        slots=slots,
        actor=actor,
        now=now,
        method=AllocationListMethod.GENERATED,
        seed=seed,
        block_sizes=block_sizes,
    )
    audit_record(
        action=AuditAction.ALLOCATION_GENERATED,
        actor=actor,
        study=study,
        obj=allocation_list,
        occurred_at=now,
        details={"slots": len(slots), "block_sizes": block_sizes, "stratified": stratify_by_site},
    )
    return allocation_list


@transaction.atomic
def participant_randomize(
    *, participant: Participant, actor: AbstractBaseUser | None, now: datetime | None = None
) -> Allocation:
    """Give the participant the lowest free slot of her stratum and the slot's sequence.

    Safe against simultaneous activations: a slot being taken by another transaction is
    skipped (SKIP LOCKED), so two participants never share one. Raises ValidationError when
    the study has no list, she is already allocated or not active, and NoFreeSlot when the
    stratum is used up.
    """
    now = now or timezone.now()
    participant = (
        Participant.objects.select_for_update(no_key=True, of=("self",))
        .select_related("site")
        .get(pk=participant.pk)
    )
    study_lock_check_id(participant.study_id, CHANGE)
    if participant.status != ParticipantStatus.ACTIVE:
        raise ValidationError("Only an active participant can be randomized.")
    if Allocation.objects.filter(participant=participant).exists():
        raise ValidationError(f"{participant} is already randomized.")
    allocation_list = AllocationList.objects.filter(study_id=participant.study_id).first()
    if allocation_list is None:
        raise ValidationError("The study has no allocation list yet.")
    stratum = participant.site.code if allocation_list.stratified_by_site else ""
    slot = (
        AllocationSlot.objects.select_for_update(no_key=True, skip_locked=True)
        .filter(allocation_list=allocation_list, stratum=stratum, participant__isnull=True)
        .order_by("slot_number")
        .first()
    )
    if slot is None:
        where = f" for site {stratum}" if stratum else ""
        raise NoFreeSlot(f"The allocation list has no free slot left{where}.")
    slot.participant = participant
    slot.used_at = now
    slot.save(update_fields=["participant", "used_at"])
    return allocation_assign(
        participant=participant,
        sequence=slot.sequence,
        source=AllocationSource.UPLOADED_LIST
        if allocation_list.method == AllocationListMethod.UPLOADED
        else AllocationSource.RANDOMIZER,
        actor=actor,
        slot_number=slot.slot_number,
        now=now,
    )


def participant_randomize_if_listed(
    *, participant: Participant, actor: AbstractBaseUser | None, now: datetime | None = None
) -> Allocation | None:
    """At activation: randomize when the study has a list and she has no allocation.

    A used-up stratum does not block activation (she must still be able to log in); she
    stays unrandomized, which the statistician sees on the randomization page.
    """
    if not AllocationList.objects.filter(study_id=participant.study_id).exists():
        return None
    if Allocation.objects.filter(participant=participant).exists():
        return None
    try:
        return participant_randomize(participant=participant, actor=actor, now=now)
    except NoFreeSlot:
        return None


__all__ = [
    "ListInvalid",
    "NoFreeSlot",
    "allocation_list_generate",
    "allocation_list_upload",
    "participant_randomize",
    "participant_randomize_if_listed",
]
